/**
 * Errors of the local Functions host. One base, {@link LocalHostError}; `code` says which step failed so
 * the launcher (and a test) can tell a bad host.json from an app that failed to load.
 */
import { BridgeError } from '../../shared/platform/errors';

/** What went wrong while starting or running the local host. */
export const LocalHostErrorCode = {
  /** host.json, local.settings.json or package.json could not be read or is malformed. */
  config: 'config',
  /** The app's entry points failed to load or registered something the host cannot run. */
  appLoad: 'appLoad',
  /** A route template, NCRONTAB schedule or binding is invalid. */
  binding: 'binding',
  /** The host process did not start, exited early or did not answer in time. */
  process: 'process',
  /** A storage connection setting is missing or unusable. */
  storage: 'storage',
  /** An invocation ran longer than host.json `functionTimeout`. */
  timeout: 'timeout',
} as const;
export type LocalHostErrorCode = (typeof LocalHostErrorCode)[keyof typeof LocalHostErrorCode];

/** Options of {@link LocalHostError}. */
export interface LocalHostErrorOptions {
  code: LocalHostErrorCode;
  cause?: unknown;
  /** The function, file or setting the error is about. */
  subject?: string;
  retryable?: boolean;
}

/** Any failure of the local host; `code` names the failing step, `subject` what it was about. */
export class LocalHostError extends BridgeError {
  readonly code: LocalHostErrorCode;
  readonly subject: string | undefined;

  constructor(message: string, options: LocalHostErrorOptions) {
    super(message, { cause: options.cause, retryable: options.retryable ?? false });
    this.name = 'LocalHostError';
    this.code = options.code;
    this.subject = options.subject;
  }
}
