import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** Base of the update capability's failures. */
export class UpdateError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'UpdateError';
  }
}

/** A conditional write of a change entity lost: someone else wrote it since it was read (412/409). */
export class ChangeConflictError extends UpdateError {
  constructor(
    readonly trackingId: string,
    readonly changeId: string,
  ) {
    super(`Change ${changeId} of ${trackingId} was written by someone else since it was read`, { retryable: true });
    this.name = 'ChangeConflictError';
  }
}

/** The change store's storage failed (timeouts, 5xx): retry later. */
export class ChangeStorageError extends UpdateError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, { retryable: true, ...options });
    this.name = 'ChangeStorageError';
  }
}

/** Partner Center's referral kept changing under the change (412 after 412): retry later. */
export class ReferralKeptChangingError extends UpdateError {
  constructor(readonly trackingId: string) {
    super(`The referral of ${trackingId} kept changing while the change was applied`, { retryable: true });
    this.name = 'ReferralKeptChangingError';
  }
}
