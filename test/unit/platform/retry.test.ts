import fc from 'fast-check';
import { BridgeError } from '../../../shared/platform/errors';
import {
  parseRetryAfterMs,
  retryDelayMs,
  withRetry,
  type RetryDeps,
  type RetryPolicy,
} from '../../../shared/platform/retry';

const POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  deadlineReserveMs: 0,
};

/** A failure that says a retry may help, optionally with the server's Retry-After. */
class Transient extends BridgeError {
  constructor(readonly retryAfterMs?: number) {
    super('HTTP 503', { retryable: true });
  }
}
const permanent = () => new BridgeError('HTTP 403', { retryable: false });

/** A fake clock moved by a sleep that returns at once and records the waits. */
function fakeTime(random = 0.5): RetryDeps & { delays: number[]; advanceMs(ms: number): void } {
  let nowMs = Date.UTC(2025, 0, 1);
  const delays: number[] = [];
  return {
    delays,
    random: () => random,
    nowMs: () => nowMs,
    advanceMs: (ms) => (nowMs += ms),
    sleep: async (delayMs) => {
      delays.push(delayMs);
      nowMs += delayMs;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const unitInterval = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('Function: retryDelayMs', () => {
  it('waits a random time below the exponential ceiling (full jitter), capped at maxDelayMs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), unitInterval, (attempt, random) => {
        const ceilingMs = Math.min(POLICY.maxDelayMs, POLICY.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = retryDelayMs(attempt, undefined, POLICY, () => random);
        return (
          delayMs !== undefined && delayMs >= 0 && delayMs < ceilingMs && delayMs === Math.floor(random * ceilingMs)
        );
      }),
      { numRuns: 300 },
    );
  });

  it('can wait anywhere from nothing to just under the ceiling', () => {
    expect(retryDelayMs(3, undefined, POLICY, () => 0)).toBe(0);
    expect(retryDelayMs(3, undefined, POLICY, () => 0.9999)).toBe(799);
  });

  it('waits at least the Retry-After, with at most 10% (≤ 1 s) jitter, and gives up on one over the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 120_000 }), unitInterval, (retryAfterMs, random) => {
        const delayMs = retryDelayMs(1, retryAfterMs, POLICY, () => random);
        if (retryAfterMs > POLICY.maxRetryAfterMs) return delayMs === undefined;
        return (
          delayMs !== undefined &&
          delayMs >= retryAfterMs &&
          delayMs <= retryAfterMs + Math.min(retryAfterMs * 0.1, 1_000)
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('Function: parseRetryAfterMs', () => {
  const nowMs = Date.UTC(2026, 0, 1, 0, 0, 0);
  it.each([
    { case: 'delta seconds', header: '57', expected: 57_000 },
    { case: 'zero', header: '0', expected: 0 },
    { case: 'fractional seconds', header: '1.5', expected: 1_500 },
    { case: 'padded delta seconds', header: ' 7 ', expected: 7_000 },
    { case: 'an HTTP date 30 s ahead', header: 'Thu, 01 Jan 2026 00:00:30 GMT', expected: 30_000 },
    { case: 'an HTTP date in the past', header: 'Wed, 31 Dec 2025 23:59:30 GMT', expected: 0 },
    { case: 'absent (null)', header: null, expected: undefined },
    { case: 'absent (undefined)', header: undefined, expected: undefined },
    { case: 'empty', header: '', expected: undefined },
    { case: 'a negative number', header: '-5', expected: undefined },
    { case: 'an exponent', header: '1e3', expected: undefined },
    { case: 'garbage', header: 'soon', expected: undefined },
  ])('reads $case', ({ header, expected }) => {
    expect(parseRetryAfterMs(header, nowMs)).toBe(expected);
  });

  it('never answers a negative or non-finite wait, whatever the header', () => {
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: undefined }), (header) => {
        const ms = parseRetryAfterMs(header, nowMs);
        return ms === undefined || (Number.isFinite(ms) && ms >= 0);
      }),
    );
  });
});

describe('Function: withRetry', () => {
  it('retries a retryable failure until it succeeds, telling onRetry each wait', async () => {
    // Prepare
    const time = fakeTime();
    const events: Array<{ attempt: number; delayMs: number }> = [];
    let calls = 0;

    // Act
    const result = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Transient();
        return 'ok';
      },
      { policy: POLICY, deps: time, onRetry: ({ attempt, delayMs }) => events.push({ attempt, delayMs }) },
    );

    // Assess: full jitter at random 0.5 is half of 200, then half of 400
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(time.delays).toEqual([100, 200]);
    expect(events).toEqual([
      { attempt: 1, delayMs: 100 },
      { attempt: 2, delayMs: 200 },
    ]);
  });

  it('rethrows a failure that is not retryable at once', async () => {
    const time = fakeTime();
    const error = permanent();
    await expect(withRetry(async () => Promise.reject(error), { policy: POLICY, deps: time })).rejects.toBe(error);
    expect(time.delays).toEqual([]);
  });

  it('treats unknown throws (no retryable: true) as final', async () => {
    const time = fakeTime();
    await expect(
      withRetry(async () => Promise.reject(new Error('bug')), { policy: POLICY, deps: time }),
    ).rejects.toThrow('bug');
    expect(time.delays).toEqual([]);
  });

  it('rethrows the last error unchanged after maxAttempts', async () => {
    const time = fakeTime();
    const thrown: Transient[] = [];
    const error = await withRetry(
      async () => {
        const failure = new Transient();
        thrown.push(failure);
        throw failure;
      },
      { policy: POLICY, deps: time },
    ).catch((e: unknown) => e);
    expect(thrown).toHaveLength(POLICY.maxAttempts);
    expect(error).toBe(thrown.at(-1));
  });

  it("waits the server's Retry-After and gives up at once on one longer than maxRetryAfterMs", async () => {
    const time = fakeTime(0);
    let calls = 0;
    const error = await withRetry(
      async () => {
        calls++;
        throw new Transient(calls === 1 ? 2_000 : 60_000);
      },
      { policy: POLICY, deps: time },
    ).catch((e: unknown) => e);
    expect(time.delays).toEqual([2_000]);
    expect(calls).toBe(2);
    expect(error).toBeInstanceOf(Transient);
  });

  it('does not start an attempt that could not finish before the deadline (deadlineReserveMs)', async () => {
    // Prepare: attempts need 10 s, the deadline is 12 s away, Retry-After 5 s
    const time = fakeTime();
    let calls = 0;

    // Act
    const error = await withRetry(
      async () => {
        calls++;
        throw new Transient(5_000);
      },
      { policy: { ...POLICY, deadlineReserveMs: 10_000 }, deps: time, deadlineEpochMs: time.nowMs() + 12_000 },
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Transient);
    expect(calls).toBe(1);
    expect(time.delays).toEqual([]);
  });

  it('reads failures with classify when given', async () => {
    const time = fakeTime();
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls < 2) throw new Error('ECONNRESET');
        return 'ok';
      },
      { policy: POLICY, deps: time, classify: (e) => ({ retryable: (e as Error).message === 'ECONNRESET' }) },
    );
    expect(calls).toBe(2);
  });

  it('never makes more than maxAttempts attempts nor waits past the deadline, whatever fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('transient', 'throttled', 'permanent', 'ok'), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        unitInterval,
        async (outcomes, maxAttempts, deadlineInMs, random) => {
          const time = fakeTime(random);
          const startMs = time.nowMs();
          const deadlineEpochMs = deadlineInMs === undefined ? undefined : startMs + deadlineInMs;
          let calls = 0;
          await withRetry(
            async () => {
              const outcome = outcomes[Math.min(calls++, outcomes.length - 1)];
              if (outcome === 'transient') throw new Transient();
              if (outcome === 'throttled') throw new Transient(3_000);
              if (outcome === 'permanent') throw permanent();
              return outcome;
            },
            { policy: { ...POLICY, maxAttempts }, deps: time, deadlineEpochMs },
          ).catch(() => undefined);
          const waitedMs = time.delays.reduce((sum, ms) => sum + ms, 0);
          return (
            calls >= 1 &&
            calls <= maxAttempts &&
            time.delays.length === calls - 1 &&
            (deadlineEpochMs === undefined || startMs + waitedMs < deadlineEpochMs || calls === 1)
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
