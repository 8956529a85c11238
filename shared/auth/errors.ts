/**
 * Errors of the token broker (shared/auth).
 *
 * Every failure extends {@link AuthError}, so a caller can catch the module's failures at once, and
 * carries `retryable`: the queue edges retry a retryable failure and park a referral on
 * {@link ReauthorizationRequiredError}. No error here ever carries a secret or a token: messages name the
 * Key Vault secret and its version id, never its value, and foreign causes are replaced by a sanitised copy.
 */
import { BridgeError, type BridgeErrorOptions } from '../platform/errors';

/** Root of every token broker failure. */
export class AuthError extends BridgeError {
  constructor(message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'AuthError';
  }
}

/** Context of a {@link ReauthorizationRequiredError}. */
export interface ReauthorizationRequiredContext {
  cause?: unknown;
  /** Key Vault version id of the refresh token that was refused (undefined when the secret is absent). */
  refusedVersion?: string;
  /** OAuth error the token endpoint answered (`invalid_grant`, `interaction_required`) or `secretNotFound`. */
  reason: string;
}

/**
 * The refresh token was refused (expired after 90 days of inactivity, revoked, reused) or none is stored:
 * only a person can fix it, by signing in again (`npm run auth:consent`). Never retryable: the workflow
 * parks the referral and resumes it once the broker is healthy again.
 */
export class ReauthorizationRequiredError extends AuthError {
  readonly refusedVersion?: string;
  readonly reason: string;

  constructor(message: string, context: ReauthorizationRequiredContext) {
    super(message, { cause: context.cause, retryable: false });
    this.name = 'ReauthorizationRequiredError';
    this.refusedVersion = context.refusedVersion;
    this.reason = context.reason;
  }
}

/** Context of a {@link TokenEndpointError}. */
export interface TokenEndpointErrorContext {
  cause?: unknown;
  retryable: boolean;
  /** HTTP status (undefined for a network error or a timeout). */
  status?: number;
  /** OAuth `error` (`invalid_grant`, `invalid_client`, `temporarily_unavailable`...) or a local code (`timeout`, `network`, `malformedResponse`). */
  oauthError: string;
  /** Entra's AADSTS codes from `error_codes`. */
  aadstsCodes?: readonly number[];
  /** Entra's correlation id, for a support ticket. */
  correlationId?: string;
  /** Delay the endpoint asked for (Retry-After), in ms. */
  retryAfterMs?: number;
}

/** The Entra token endpoint refused or failed a request. Retryable for 429, 5xx, timeouts and network errors. */
export class TokenEndpointError extends AuthError {
  readonly status?: number;
  readonly oauthError: string;
  readonly aadstsCodes: readonly number[];
  readonly correlationId?: string;
  readonly retryAfterMs?: number;

  constructor(message: string, context: TokenEndpointErrorContext) {
    super(message, { cause: context.cause, retryable: context.retryable });
    this.name = 'TokenEndpointError';
    this.status = context.status;
    this.oauthError = context.oauthError;
    this.aadstsCodes = context.aadstsCodes ?? [];
    this.correlationId = context.correlationId;
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** Context of a {@link SecretStoreError}. */
export interface SecretStoreErrorContext {
  cause?: unknown;
  retryable: boolean;
  /** Name of the Key Vault secret (never its value). */
  secretName: string;
  operation: 'read' | 'write';
  /** HTTP status (undefined for a network error or a timeout). */
  status?: number;
  /** Key Vault's error code (`SecretNotFound`, `Forbidden`, `Throttled`...) or a local code (`timeout`, `network`). */
  code?: string;
  /** Delay Key Vault asked for (Retry-After), in ms. */
  retryAfterMs?: number;
}

/** Key Vault refused or failed a read or a write. Retryable for 429, 5xx, timeouts and network errors. */
export class SecretStoreError extends AuthError {
  readonly secretName: string;
  readonly operation: 'read' | 'write';
  readonly status?: number;
  readonly code?: string;
  readonly retryAfterMs?: number;

  constructor(message: string, context: SecretStoreErrorContext) {
    super(message, { cause: context.cause, retryable: context.retryable });
    this.name = 'SecretStoreError';
    this.secretName = context.secretName;
    this.operation = context.operation;
    this.status = context.status;
    this.code = context.code;
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** Context of a {@link TokenLeaseError}. */
export interface TokenLeaseErrorContext {
  cause?: unknown;
  /** Owner of the lease when this instance gave up waiting, if known. */
  heldBy?: string;
  /** Lease row operation that failed. */
  operation: 'claim' | 'extend' | 'release' | 'createTable';
}

/**
 * The cross-instance redemption lease could not be taken in time (another instance holds it, or Table
 * Storage failed). Always retryable: the lease frees itself when it expires.
 */
export class TokenLeaseError extends AuthError {
  readonly heldBy?: string;
  readonly operation: TokenLeaseErrorContext['operation'];

  constructor(message: string, context: TokenLeaseErrorContext) {
    super(message, { cause: context.cause, retryable: true });
    this.name = 'TokenLeaseError';
    this.heldBy = context.heldBy;
    this.operation = context.operation;
  }
}

/** True for {@link ReauthorizationRequiredError}, checked by name so it holds across duplicate module copies. */
export function isReauthorizationRequiredError(error: unknown): error is ReauthorizationRequiredError {
  return error instanceof Error && error.name === 'ReauthorizationRequiredError';
}
