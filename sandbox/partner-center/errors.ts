/**
 * Errors of the Partner Center simulator, answered as the Partner API does:
 * `{ "error": { "code", "message", "target" } }`.
 */
import { BridgeError, type BridgeErrorOptions } from '../../shared/platform/errors';

/** Partner API error codes (MicrosoftDocs partner-rest error-codes.md). */
export const PartnerApiErrorCode = {
  accessDenied: 'accessDenied',
  generalException: 'generalException',
  invalidRequest: 'invalidRequest',
  itemNotFound: 'itemNotFound',
  preconditionFailed: 'preconditionFailed',
  serviceNotAvailable: 'serviceNotAvailable',
  unauthenticated: 'unauthenticated',
} as const;
export type PartnerApiErrorCode = (typeof PartnerApiErrorCode)[keyof typeof PartnerApiErrorCode];

/** A failed simulator call with its HTTP status, Partner API code and target. */
export class PartnerApiError extends BridgeError {
  readonly status: number;
  readonly code: PartnerApiErrorCode;
  /** The field, header or parameter at fault (`customerProfile.address.country`, `If-Match`, `$filter`). */
  readonly target?: string;

  constructor(
    status: number,
    code: PartnerApiErrorCode,
    message: string,
    target?: string,
    options: BridgeErrorOptions = {},
  ) {
    super(message.slice(0, 1024), { ...options, retryable: options.retryable ?? (status === 429 || status >= 500) });
    this.name = 'PartnerApiError';
    this.status = status;
    this.code = code;
    this.target = target;
  }

  /** The response body. */
  toBody(): { error: { code: string; message: string; target?: string } } {
    return {
      error: { code: this.code, message: this.message, ...(this.target === undefined ? {} : { target: this.target }) },
    };
  }
}

/** Shorthand for a 400 `invalidRequest`. */
export function invalidRequest(message: string, target?: string): PartnerApiError {
  return new PartnerApiError(400, PartnerApiErrorCode.invalidRequest, message, target);
}

/**
 * A refusal of the Webhook registration API, answered with the Partner Center (commerce) error schema
 * `{ code, description, data, source }` [inferred: the Webhook API lives on the commerce host].
 */
export class WebhookApiError extends BridgeError {
  readonly status: number;

  constructor(status: number, message: string, options: BridgeErrorOptions = {}) {
    super(message, { ...options, retryable: options.retryable ?? (status === 429 || status >= 500) });
    this.name = 'WebhookApiError';
    this.status = status;
  }

  /** The response body. */
  toBody(): { code: number; description: string; data: unknown[]; source: string } {
    return { code: this.status, description: this.message, data: [], source: 'PartnerCenterWebhooks' };
  }
}
