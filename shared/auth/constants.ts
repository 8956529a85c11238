/**
 * Constants of the token broker: health states, the lease row's keys and the defaults of every option.
 */

/** States the broker reports through `health()`. */
/**
 * Tag of the client-secret secret that may carry the app's client id (not a secret). When present the
 * broker reads two secrets instead of three at cold start: `az keyvault secret set --name
 * partner-center-client-secret --value <secret> --tags clientId=<app id>`.
 */
export const CLIENT_ID_TAG = 'clientId';

export const BrokerState = {
  /** No redemption attempted yet in this process. */
  unknown: 'unknown',
  /** The last redemption succeeded. */
  ok: 'ok',
  /** The last attempt failed with a transient fault (Key Vault, token endpoint, lease); calls may still succeed. */
  degraded: 'degraded',
  /** The refresh token was refused or is absent: a person must sign in again (`npm run auth:consent`). */
  reauthorizationRequired: 'reauthorization-required',
} as const;
export type BrokerState = (typeof BrokerState)[keyof typeof BrokerState];

/** Keys of the lease row in the `referrals` table (tracking records use trackingId partitions, never `$lease`). */
export const TOKEN_LEASE_KEYS = { partitionKey: '$lease', rowKey: 'partner-center-token' } as const;

/** OAuth `error` values the broker acts on. */
export const OAuthError = {
  invalidGrant: 'invalid_grant',
  invalidClient: 'invalid_client',
  interactionRequired: 'interaction_required',
  authorizationPending: 'authorization_pending',
  slowDown: 'slow_down',
  expiredToken: 'expired_token',
  accessDenied: 'access_denied',
  authorizationDeclined: 'authorization_declined',
  temporarilyUnavailable: 'temporarily_unavailable',
} as const;
export type OAuthError = (typeof OAuthError)[keyof typeof OAuthError];

/** Defaults of {@link TokenBrokerOptions}. */
export const TOKEN_BROKER_DEFAULTS = {
  /** Renew this long before the access token expires (setting TOKEN_EXPIRY_MARGIN_SECONDS). */
  expiryMarginSeconds: 300,
  /** How long a claimed lease is valid; the redemption and the Key Vault write must fit (extended if they run long). */
  leaseDurationMs: 60_000,
  /** Base interval between two looks at a lease held by another instance (jittered ×0.5–1.5). */
  leasePollIntervalMs: 250,
  /** How often, at most, a broker in the reauthorization-required state re-reads the refresh token's version. */
  recheckIntervalMs: 30_000,
  /** After a failed background refresh, keep serving the still-valid token this long before trying again. */
  refreshRetryIntervalMs: 5_000,
  /** A still-valid cached token is served after a failed refresh only if it has at least this much life left. */
  staleTokenMinRemainingMs: 30_000,
} as const;

/** Defaults of the retry policy for Key Vault and the token endpoint. */
export const RETRY_DEFAULTS = {
  /** Attempts of one operation, the first included. */
  maxAttempts: 4,
  /** First backoff, doubled each attempt (full jitter). */
  baseDelayMs: 200,
  /** Longest backoff between two attempts. */
  maxDelayMs: 5_000,
  /** A Retry-After longer than this is not waited for: the failure is raised (retryable) instead. */
  maxRetryAfterMs: 30_000,
  /** Time budget of one HTTP attempt. */
  attemptTimeoutMs: 10_000,
} as const;
