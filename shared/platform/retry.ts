/**
 * The one retry policy of the bridge: bounded attempts, exponential backoff with full jitter, the server's
 * Retry-After, and a deadline. Used by the Partner Center client, the token broker (Key Vault, token
 * endpoint) and callback delivery; each passes its own numbers.
 *
 * ```
 * attempt 1 ──✗──► wait ──► attempt 2 ──✗──► wait ──► … ──► attempt maxAttempts ──✗──► last error rethrown
 *                   │
 *                   └─ Retry-After given? its value + ≤10 % (≤ 1 s) jitter; over maxRetryAfterMs: give up now
 *                      else random(0 … min(maxDelayMs, baseDelayMs · 2^(attempt-1)))   (full jitter)
 *                      and never when now + wait + deadlineReserveMs reaches the deadline
 * ```
 *
 * The operation throws errors that say whether another attempt may help (`retryable: true`) and how long
 * the server asked to wait (`retryAfterMs`), as every {@link BridgeError} subclass of the bridge can; a
 * caller with other errors passes `classify`. Time and randomness are injected, so tests never wait.
 */

/** How often and how patiently one operation is retried. */
export interface RetryPolicy {
  /** Attempts, the first included. */
  maxAttempts: number;
  /** Ceiling of the first backoff; doubled per attempt. The wait is random below the ceiling (full jitter). */
  baseDelayMs: number;
  /** Largest backoff ceiling. */
  maxDelayMs: number;
  /** A longer Retry-After is not waited for: the error is raised (still retryable) for a later retry. */
  maxRetryAfterMs: number;
  /**
   * Time an attempt needs before the deadline: no attempt starts after `deadline - deadlineReserveMs`.
   * The attempt's own timeout when it cannot be shortened; 0 when the operation cuts its timeout to the
   * deadline itself.
   */
  deadlineReserveMs: number;
}

/** Time and randomness, injectable so tests never wait for or depend on the wall clock. */
export interface RetryDeps {
  sleep: (delayMs: number) => Promise<void>;
  /** A number in [0, 1). */
  random: () => number;
  nowMs: () => number;
}

/** What the retry loop needs to know about one failure. */
export interface RetryVerdict {
  retryable: boolean;
  /** The wait the server asked for (Retry-After), in ms. */
  retryAfterMs?: number;
}

/** What {@link RetryOptions.onRetry} is told before each wait. */
export interface RetryEvent {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  policy: RetryPolicy;
  /** @default real timers, Math.random and Date.now */
  deps?: Partial<RetryDeps>;
  /** No attempt starts that could not finish by then (epoch ms). */
  deadlineEpochMs?: number;
  /** Reads a failure. @default the error's own `retryable` (true only when exactly true) and `retryAfterMs` */
  classify?: (error: unknown) => RetryVerdict;
  /** Called before each wait (logging, counters). */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Runs `operation` until it succeeds, throws a failure that is not retryable, or the attempts, the
 * Retry-After cap or the deadline run out; then the last error is rethrown unchanged.
 *
 * @example
 * const secret = await withRetry(() => client.getSecret(name), { policy, deps });
 */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy } = options;
  const deps: RetryDeps = { sleep: realSleep, random: Math.random, nowMs: Date.now, ...options.deps };
  const classify = options.classify ?? verdictOf;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= policy.maxAttempts) throw error;
      const verdict = classify(error);
      if (!verdict.retryable) throw error;
      const delayMs = retryDelayMs(attempt, verdict.retryAfterMs, policy, deps.random);
      if (delayMs === undefined) throw error;
      if (
        options.deadlineEpochMs !== undefined &&
        deps.nowMs() + delayMs + policy.deadlineReserveMs >= options.deadlineEpochMs
      )
        throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await deps.sleep(delayMs);
    }
  }
}

/**
 * The wait after failed attempt `attempt`: the Retry-After plus up to 10 % (at most 1 s) jitter when the
 * server gave one (undefined, meaning "give up", when it exceeds `maxRetryAfterMs`), else full jitter
 * below the exponential ceiling.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>,
  random: () => number,
): number | undefined {
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > policy.maxRetryAfterMs) return undefined;
    return Math.floor(retryAfterMs + random() * Math.min(retryAfterMs * 0.1, 1_000));
  }
  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceilingMs);
}

/**
 * Parses a Retry-After header (delta seconds, fractions tolerated, or an HTTP date) into ms from `nowMs`;
 * undefined when absent or malformed.
 */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  const trimmed = header?.trim();
  if (!trimmed) return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (!/[A-Za-z]/.test(trimmed)) return undefined; // an HTTP date names its day and month; '-5' is no date
  const dateMs = Date.parse(trimmed);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

/** A sleep on the real timer (the default). */
export function realSleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, delayMs)));
}

/** The default {@link RetryOptions.classify}: the error's own `retryable` and `retryAfterMs`. */
export function verdictOf(error: unknown): RetryVerdict {
  if (typeof error !== 'object' || error === null) return { retryable: false };
  const { retryable, retryAfterMs } = error as { retryable?: unknown; retryAfterMs?: unknown };
  return {
    retryable: retryable === true,
    ...(typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? { retryAfterMs } : {}),
  };
}
