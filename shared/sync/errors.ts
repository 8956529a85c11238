/** Errors of the sync half (apply path, event consumer, reconciliation). */
import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** Root of the sync errors. */
export class SyncError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'SyncError';
  }
}

/**
 * Not now: the record is under a step's live lease, or the referral may be our own create whose id is
 * not recorded yet. Retryable: the queue brings the event back, reconciliation finds it again.
 */
export class SyncDeferredError extends SyncError {
  constructor(
    readonly referralId: string,
    readonly why: 'leased' | 'own-create-pending' | 'busy',
  ) {
    super(`Referral ${referralId}: applying it is deferred (${why})`, { retryable: true });
    this.name = 'SyncDeferredError';
  }
}

/** The watermark lease was lost (another instance took it over after ours expired): nothing advanced. */
export class WatermarkLeaseLostError extends SyncError {
  constructor() {
    super('The reconciliation watermark lease was lost; the watermark was not advanced', { retryable: true });
    this.name = 'WatermarkLeaseLostError';
  }
}

/** Table Storage failed while reading or writing the watermark. */
export class WatermarkStorageError extends SyncError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, { retryable: true, ...options });
    this.name = 'WatermarkStorageError';
  }
}
