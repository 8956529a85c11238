/**
 * Errors of the Entra stand-in: OAuth 2.0 error answers with Entra's AADSTS codes.
 */
import { randomUUID } from 'node:crypto';
import { BridgeError, type BridgeErrorOptions } from '../../shared/platform/errors';

/** OAuth `error` values the stand-in answers with. */
export const OAuthErrorCode = {
  invalidRequest: 'invalid_request',
  invalidClient: 'invalid_client',
  invalidGrant: 'invalid_grant',
  invalidScope: 'invalid_scope',
  unsupportedGrantType: 'unsupported_grant_type',
  authorizationPending: 'authorization_pending',
  expiredToken: 'expired_token',
  temporarilyUnavailable: 'temporarily_unavailable',
  serverError: 'server_error',
} as const;
export type OAuthErrorCode = (typeof OAuthErrorCode)[keyof typeof OAuthErrorCode];

/** Context of an {@link OAuthError}. */
export interface OAuthErrorContext extends BridgeErrorOptions {
  /** HTTP status of the answer (400 for most OAuth errors, 401 for invalid_client). */
  status: number;
  error: OAuthErrorCode;
  /** Entra's numeric AADSTS code (7000215, 70000, ...). */
  aadsts: number;
}

/**
 * A token-endpoint failure, answered as Entra does:
 * `{ error, error_description: "AADSTSnnn: ...", error_codes: [nnn], timestamp, trace_id, correlation_id }`.
 */
export class OAuthError extends BridgeError {
  readonly status: number;
  readonly error: OAuthErrorCode;
  readonly aadsts: number;

  constructor(description: string, context: OAuthErrorContext) {
    super(`AADSTS${context.aadsts}: ${description}`, {
      ...context,
      retryable: context.retryable ?? (context.status >= 500 || context.status === 429),
    });
    this.name = 'OAuthError';
    this.status = context.status;
    this.error = context.error;
    this.aadsts = context.aadsts;
  }

  /** The response body Entra sends for this error. */
  toBody(correlationId: string = randomUUID()): Record<string, unknown> {
    const traceId = randomUUID();
    const timestamp = new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
    return {
      error: this.error,
      error_description: `${this.message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [this.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.aadsts}`,
    };
  }
}
