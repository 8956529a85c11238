/**
 * Errors of the Key Vault stand-in, answered as Key Vault does: `{ error: { code, message } }`.
 */
import { BridgeError, type BridgeErrorOptions } from '../../shared/platform/errors';

/** Key Vault error codes the stand-in answers with. */
export const KeyVaultErrorCode = {
  secretNotFound: 'SecretNotFound',
  badParameter: 'BadParameter',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  conflict: 'Conflict',
  throttled: 'Throttled',
  serviceUnavailable: 'ServiceUnavailable',
  internalServerError: 'InternalServerError',
  notFound: 'NotFound',
} as const;
export type KeyVaultErrorCode = (typeof KeyVaultErrorCode)[keyof typeof KeyVaultErrorCode];

/** A Key Vault stand-in failure with its HTTP status and Key Vault error code. */
export class KeyVaultError extends BridgeError {
  readonly status: number;
  readonly code: KeyVaultErrorCode;

  constructor(status: number, code: KeyVaultErrorCode, message: string, options: BridgeErrorOptions = {}) {
    super(message, { ...options, retryable: options.retryable ?? (status === 429 || status >= 500) });
    this.name = 'KeyVaultError';
    this.status = status;
    this.code = code;
  }

  /** The response body Key Vault sends for this error. */
  toBody(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
