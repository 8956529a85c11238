/**
 * Errors of the bulk import. One base, {@link ImportError}; the CLI maps {@link ImportUsageError} and
 * {@link ImportFileError} to exit code 2, and {@link ImportApiError} (the API refuses the whole run: wrong
 * URL or key) too. Row-level problems are never thrown: they are outcomes in the report.
 */
import { BridgeError, type BridgeErrorOptions } from '../../shared/platform/errors';

/** Root of every error the importer raises on purpose. */
export class ImportError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'ImportError';
  }
}

/** The command line is wrong (unknown option, missing file argument, bad number). */
export class ImportUsageError extends ImportError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'ImportUsageError';
  }
}

/** A file cannot be used as a whole: missing, UTF-16, no header, a mapping that does not fit the header. */
export class ImportFileError extends ImportError {
  /** The file concerned. */
  readonly filePath: string;
  constructor(filePath: string, message: string, options: BridgeErrorOptions = {}) {
    super(`${filePath}: ${message}`, options);
    this.name = 'ImportFileError';
    this.filePath = filePath;
  }
}

/** The API refuses every row alike (401/403: the function key; 404: no bridge at that URL; unreachable). */
export class ImportApiError extends ImportError {
  /** HTTP status, when there was an answer. */
  readonly status?: number;
  constructor(message: string, options: BridgeErrorOptions & { status?: number } = {}) {
    super(message, options);
    this.name = 'ImportApiError';
    this.status = options.status;
  }
}
