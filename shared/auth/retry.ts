/**
 * Bounded retries with exponential backoff, jitter and Retry-After, for Key Vault and the token endpoint.
 *
 * The operation throws errors that say themselves whether a retry may help (`retryable`) and how long
 * the server asked to wait (`retryAfterMs`): {@link SecretStoreError} and {@link TokenEndpointError} do.
 */
import { RETRY_DEFAULTS } from './constants';

/** How often and how patiently one operation is retried. */
export interface RetryPolicy {
  /** Attempts, the first included. @default 4 */
  maxAttempts: number;
  /** First backoff; doubled per attempt, with jitter. @default 200 */
  baseDelayMs: number;
  /** Longest backoff. @default 5000 */
  maxDelayMs: number;
  /** A longer Retry-After is not waited for: the error is raised instead. @default 30000 */
  maxRetryAfterMs: number;
  /** Time budget of one attempt (enforced by the operation). @default 10000 */
  attemptTimeoutMs: number;
}

/** Time and randomness, injectable so tests never wait for or depend on the wall clock. */
export interface RetryDeps {
  sleep(delayMs: number): Promise<void>;
  random(): number;
  nowMs(): number;
}

/** Options of {@link withRetry}. */
export interface WithRetryOptions {
  policy?: Partial<RetryPolicy>;
  deps: RetryDeps;
  /** No attempt starts that could not finish by then (epoch ms): used inside the lease. */
  deadlineEpochMs?: number;
  /** Called before each backoff (logging, counters). */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** Fills a partial policy with {@link RETRY_DEFAULTS}. */
export function resolveRetryPolicy(policy: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...RETRY_DEFAULTS, ...policy };
}

/**
 * Runs `operation` until it succeeds, throws a non-retryable error, or the attempts, the Retry-After cap
 * or the deadline run out; then the last error is rethrown unchanged.
 *
 * @example
 * const secret = await withRetry(() => store.readOnce(name), { deps });
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: WithRetryOptions): Promise<T> {
  const policy = resolveRetryPolicy(options.policy);
  const { deps } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!isRetryableFailure(error) || attempt >= policy.maxAttempts) throw error;
      const delayMs = backoffDelayMs(attempt, retryAfterOf(error), policy, deps.random);
      if (delayMs === undefined) throw error;
      if (
        options.deadlineEpochMs !== undefined &&
        deps.nowMs() + delayMs + policy.attemptTimeoutMs > options.deadlineEpochMs
      )
        throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await deps.sleep(delayMs);
    }
  }
}

/**
 * Delay before attempt `attempt + 1`: the server's Retry-After plus up to 10% jitter when given
 * (undefined when it exceeds `maxRetryAfterMs`), else equal-jitter exponential backoff.
 */
export function backoffDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > policy.maxRetryAfterMs) return undefined;
    return Math.round(retryAfterMs + random() * Math.min(retryAfterMs * 0.1, 1_000));
  }
  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceilingMs / 2 + random() * (ceilingMs / 2));
}

/** Parses a Retry-After header (delta seconds or an HTTP date) into ms from `nowMs`; undefined when absent or malformed. */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

/** A sleep on the real timer (the default). */
export function realSleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, delayMs)));
}

function isRetryableFailure(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

function retryAfterOf(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
