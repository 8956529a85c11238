import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** Root of the listing module's errors (index writes, list and summary queries). */
export class ListingError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'ListingError';
  }
}

/** The index table could not be read or written; a retry may succeed. */
export class IndexStorageError extends ListingError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
    this.name = 'IndexStorageError';
  }
}

/** A query parameter of the list or the summary is malformed; `parameter` names it (answered with 400). */
export class InvalidListQueryError extends ListingError {
  readonly parameter: string;
  constructor(parameter: string, message: string) {
    super(message, { retryable: false });
    this.name = 'InvalidListQueryError';
    this.parameter = parameter;
  }
}
