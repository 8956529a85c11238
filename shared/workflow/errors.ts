import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** Base of workflow failures (bad queue messages, missing records). */
export class WorkflowError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'WorkflowError';
  }
}

/** A queue message names a tracking record that does not exist (never retried). */
export class TrackingRecordNotFoundError extends WorkflowError {
  constructor(readonly trackingId: string) {
    super(`No tracking record ${trackingId}`, { retryable: false });
    this.name = 'TrackingRecordNotFoundError';
  }
}

/** A step needs what the record no longer holds (its request or engagementId): a bug, never retried. */
export class StepPreconditionError extends WorkflowError {
  constructor(
    readonly trackingId: string,
    readonly missing: string,
  ) {
    super(`Tracking record ${trackingId} has no ${missing} for its step`, { retryable: false });
    this.name = 'StepPreconditionError';
  }
}
