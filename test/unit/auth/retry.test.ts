import { RETRY_DEFAULTS, SecretStoreError } from '../../../shared/auth';
import { platformRetryPolicy, resolveRetryPolicy, withRetry } from '../../../shared/auth/retry';
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

/** The retries of Key Vault and the token endpoint: the platform helper with the auth numbers. */
describe('Function: withRetry with the auth policy', () => {
  const deps = (clock = new FakeClock()) => ({
    nowMs: () => clock.nowMs(),
    random: () => 0.5,
    ...recordingSleep(clock),
  });
  const policy = platformRetryPolicy(resolveRetryPolicy());

  it('keeps the numbers of RETRY_DEFAULTS and reserves a whole attempt timeout before a deadline', () => {
    expect(policy).toEqual({
      maxAttempts: RETRY_DEFAULTS.maxAttempts,
      baseDelayMs: RETRY_DEFAULTS.baseDelayMs,
      maxDelayMs: RETRY_DEFAULTS.maxDelayMs,
      maxRetryAfterMs: RETRY_DEFAULTS.maxRetryAfterMs,
      deadlineReserveMs: RETRY_DEFAULTS.attemptTimeoutMs,
    });
  });

  it('retries a retryable Key Vault failure until it succeeds', async () => {
    const d = deps();
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw transient();
        return 'ok';
      },
      { policy, deps: d },
    );
    expect(result).toBe('ok');
    expect(d.delays).toHaveLength(2);
  });

  it('rethrows a non-retryable failure at once', async () => {
    const d = deps();
    await expect(withRetry(async () => Promise.reject(permanent()), { policy, deps: d })).rejects.toMatchObject({
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
      { policy, deps: d },
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
      { policy, deps: d, deadlineEpochMs: clock.nowMs() + 12_000 },
    ).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretStoreError);
    expect(calls).toBe(1);
  });
});
