/**
 * The retry policy of Key Vault and the token endpoint, on top of the bridge's one retry helper
 * ({@link withRetry} in shared/platform/retry.ts).
 *
 * The operation throws errors that say themselves whether a retry may help (`retryable`) and how long
 * the server asked to wait (`retryAfterMs`): {@link SecretStoreError} and {@link TokenEndpointError} do.
 * An attempt cannot be shortened to fit a deadline, so no attempt starts that could not finish
 * (`attemptTimeoutMs`) before it.
 */
import { RETRY_DEFAULTS } from './constants';
import type { RetryPolicy as PlatformRetryPolicy } from '../platform/retry';

export { parseRetryAfterMs, realSleep, withRetry, type RetryDeps } from '../platform/retry';

/** How often and how patiently one Key Vault or token endpoint operation is retried. */
export interface RetryPolicy {
  /** Attempts, the first included. @default 4 */
  maxAttempts: number;
  /** Ceiling of the first backoff; doubled per attempt, full jitter. @default 200 */
  baseDelayMs: number;
  /** Largest backoff ceiling. @default 5000 */
  maxDelayMs: number;
  /** A longer Retry-After is not waited for: the error is raised instead. @default 30000 */
  maxRetryAfterMs: number;
  /** Time budget of one attempt (enforced by the operation). @default 10000 */
  attemptTimeoutMs: number;
}

/** Fills a partial policy with {@link RETRY_DEFAULTS}. */
export function resolveRetryPolicy(policy: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...RETRY_DEFAULTS, ...policy };
}

/** The platform policy of an auth policy: an attempt needs its whole timeout before the deadline. */
export function platformRetryPolicy(policy: RetryPolicy): PlatformRetryPolicy {
  return {
    maxAttempts: policy.maxAttempts,
    baseDelayMs: policy.baseDelayMs,
    maxDelayMs: policy.maxDelayMs,
    maxRetryAfterMs: policy.maxRetryAfterMs,
    deadlineReserveMs: policy.attemptTimeoutMs,
  };
}
