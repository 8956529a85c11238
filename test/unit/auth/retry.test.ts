import fc from 'fast-check';
import { RETRY_DEFAULTS, SecretStoreError } from '../../../shared/auth';
import { backoffDelayMs, parseRetryAfterMs, resolveRetryPolicy, withRetry } from '../../../shared/auth/retry';
import { FakeClock, recordingSleep } from './helpers/authStandIns';

const transient = (retryAfterMs?: number) =>
  new SecretStoreError('Key Vault read failed with HTTP 503', {
    retryable: true,
    secretName: 's',
    operation: 'read',
    status: 503,
    retryAfterMs,
  });
const permanent = () =>
  new SecretStoreError('Key Vault read failed with HTTP 403', {
    retryable: false,
    secretName: 's',
    operation: 'read',
    status: 403,
  });

describe('Function: backoffDelayMs', () => {
  it('stays between half and all of the exponential ceiling, capped at maxDelayMs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, random) => {
          const policy = resolveRetryPolicy();
          const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
          const delay = backoffDelayMs(attempt, undefined, policy, () => random) ?? -1;
          return delay >= Math.floor(ceiling / 2) && delay <= Math.ceil(ceiling);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('waits at least the Retry-After, with at most 10% (≤ 1 s) jitter, and refuses one over the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 120_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retryAfterMs, random) => {
          const policy = resolveRetryPolicy();
          const delay = backoffDelayMs(1, retryAfterMs, policy, () => random);
          if (retryAfterMs > policy.maxRetryAfterMs) return delay === undefined;
          return (
            delay !== undefined &&
            delay >= retryAfterMs &&
            delay <= retryAfterMs + Math.min(retryAfterMs * 0.1, 1_000) + 1
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('Function: parseRetryAfterMs', () => {
  const nowMs = Date.UTC(2025, 0, 1, 12, 0, 0);
  it.each([
    { case: 'delta seconds', header: '7', expected: 7_000 },
    { case: 'fractional seconds', header: '1.5', expected: 1_500 },
    { case: 'an HTTP date 30 s ahead', header: new Date(nowMs + 30_000).toUTCString(), expected: 30_000 },
    { case: 'an HTTP date in the past', header: new Date(nowMs - 30_000).toUTCString(), expected: 0 },
    { case: 'absent', header: null, expected: undefined },
    { case: 'garbage', header: 'soon', expected: undefined },
  ])('reads $case', ({ header, expected }) => {
    expect(parseRetryAfterMs(header, nowMs)).toBe(expected);
  });
});

describe('Function: withRetry', () => {
  const deps = (clock = new FakeClock()) => ({
    nowMs: () => clock.nowMs(),
    random: () => 0.5,
    ...recordingSleep(clock),
  });

  it('retries a retryable failure until it succeeds', async () => {
    // Prepare
    const d = deps();
    let calls = 0;

    // Act
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw transient();
        return 'ok';
      },
      { deps: d },
    );

    // Assess
    expect(result).toBe('ok');
    expect(d.delays).toHaveLength(2);
  });

  it('rethrows a non-retryable failure at once', async () => {
    const d = deps();
    await expect(withRetry(async () => Promise.reject(permanent()), { deps: d })).rejects.toMatchObject({
      status: 403,
    });
    expect(d.delays).toEqual([]);
  });

  it('stops after maxAttempts with the last error', async () => {
    const d = deps();
    let calls = 0;
    const error = await withRetry(
      async () => {
        calls++;
        throw transient();
      },
      { deps: d },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretStoreError);
    expect(calls).toBe(RETRY_DEFAULTS.maxAttempts);
  });

  it('does not start an attempt that could not finish before the deadline', async () => {
    // Prepare: 10 s attempts, deadline in 12 s, Retry-After 5 s
    const clock = new FakeClock();
    const d = deps(clock);
    let calls = 0;

    // Act
    const error = await withRetry(
      async () => {
        calls++;
        throw transient(5_000);
      },
      { deps: d, deadlineEpochMs: clock.nowMs() + 12_000 },
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretStoreError);
    expect(calls).toBe(1);
  });

  it('never makes more than maxAttempts attempts, whatever fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('transient', 'permanent', 'ok'), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 6 }),
        async (outcomes, maxAttempts) => {
          const d = deps();
          let calls = 0;
          await withRetry(
            async () => {
              const outcome = outcomes[Math.min(calls++, outcomes.length - 1)];
              if (outcome === 'transient') throw transient();
              if (outcome === 'permanent') throw permanent();
              return outcome;
            },
            { deps: d, policy: { maxAttempts } },
          ).catch(() => undefined);
          return calls >= 1 && calls <= maxAttempts && d.delays.length === calls - 1;
        },
      ),
      { numRuns: 200 },
    );
  });
});
