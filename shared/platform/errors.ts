/**
 * Error helpers shared by every module.
 *
 * Each capability module has one error base (for example `ReferralContractError`,
 * `PartnerCenterError`) that extends {@link BridgeError}, so the queue edges can ask one question of
 * any failure: is it worth retrying?
 */

/** Options every bridge error takes: the wrapped cause and whether a retry could succeed. */
export interface BridgeErrorOptions {
  cause?: unknown;
  /** True when the same call may succeed later (timeouts, 429, 5xx). @default false */
  retryable?: boolean;
}

/** Root of every error this product raises on purpose. */
export class BridgeError extends Error {
  /** True when the same call may succeed later: queue edges throw these to use the runtime's retry. */
  readonly retryable: boolean;

  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BridgeError';
    this.retryable = options.retryable ?? false;
  }
}

/** Turns any thrown value into an Error (a thrown string or object keeps its text). */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** True when the error says a retry may succeed; unknown errors (bugs, network resets) count as retryable. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof BridgeError) return error.retryable;
  if (error && typeof error === 'object' && 'retryable' in error) return Boolean(error.retryable);
  return true;
}
