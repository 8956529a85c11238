import { BridgeError, type BridgeErrorOptions } from '../platform/errors';
import type { TrackingState } from './states';

/** Base of every tracking-store failure. Storage faults are retryable; logic errors are not. */
export class TrackingError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'TrackingError';
  }
}

/** A conditional write lost: someone else changed the record since it was read (HTTP 412/409). */
export class TrackingConflictError extends TrackingError {
  constructor(
    readonly trackingId: string,
    options: BridgeErrorOptions = {},
  ) {
    super(`Tracking record ${trackingId} changed since it was read`, { retryable: true, ...options });
    this.name = 'TrackingConflictError';
  }
}

/** A write tried a transition the state machine does not allow (a bug, never retried). */
export class InvalidTransitionError extends TrackingError {
  constructor(
    readonly trackingId: string,
    readonly from: TrackingState,
    readonly to: TrackingState,
  ) {
    super(`Tracking record ${trackingId} cannot go from ${from} to ${to}`, { retryable: false });
    this.name = 'InvalidTransitionError';
  }
}

/** The storage service failed (timeouts, 5xx): retry later. */
export class TrackingStorageError extends TrackingError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, { retryable: true, ...options });
    this.name = 'TrackingStorageError';
  }
}
