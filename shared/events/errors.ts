/**
 * Errors of the event receiver. Refusals are values (a verdict), not errors: these cover the steps
 * that can fail for reasons other than a bad delivery (a certificate download, the queue).
 */
import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** Root of the event receiver's errors. */
export class EventsError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'EventsError';
  }
}

/** Why a certificate download failed. */
export const CertificateFetchFailure = {
  Timeout: 'timeout',
  Redirect: 'redirect',
  Status: 'status',
  TooLarge: 'too-large',
  Network: 'network',
  Malformed: 'malformed',
} as const;
export type CertificateFetchFailure = (typeof CertificateFetchFailure)[keyof typeof CertificateFetchFailure];

/** A certificate could not be downloaded or read. Timeouts, network failures and 5xx may pass on retry. */
export class CertificateFetchError extends EventsError {
  readonly failure: CertificateFetchFailure;
  constructor(failure: CertificateFetchFailure, message: string, options: BridgeErrorOptions = {}) {
    super(message, {
      ...options,
      retryable:
        options.retryable ??
        (failure === CertificateFetchFailure.Timeout || failure === CertificateFetchFailure.Network),
    });
    this.name = 'CertificateFetchError';
    this.failure = failure;
  }
}

/** The certificate URL allow-list setting cannot be read. */
export class CertificateAllowlistError extends EventsError {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateAllowlistError';
  }
}

/** A verified event could not be put on the sync queue: retryable, the edge answers 503 and Partner Center retries. */
export class EventEnqueueError extends EventsError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, { retryable: true, ...options });
    this.name = 'EventEnqueueError';
  }
}
