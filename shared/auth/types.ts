/**
 * Types of the token broker's public API: what the Partner Center client calls, what health reports,
 * and the options bag.
 */
import type { Agent as HttpsAgent } from 'node:https';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { TableClient } from '@azure/data-tables';
import type { RequestInit, Response } from 'node-fetch';
import type { Logger } from '../platform/logging';
import type { BrokerState } from './constants';
import type { RetryPolicy } from './retry';

/** Options of {@link AccessTokenProvider.getAccessToken}. */
export interface GetAccessTokenOptions {
  /** Skip the cache: Partner Center answered 401 to a call made with `rejectedToken`. */
  forceRefresh?: boolean;
  /**
   * The token Partner Center refused. When the cache already holds a different (newer) token, that one is
   * returned without a new redemption.
   */
  rejectedToken?: string;
}

/** Anything that hands out Partner Center access tokens. */
export interface AccessTokenProvider {
  /** A valid App+User access token for Partner Center. */
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>;
}

/** What `TokenBroker.health()` reports (never a token or a secret). */
export interface BrokerHealth {
  state: BrokerState;
  /** When the broker entered `state` (ISO 8601); absent while `unknown`. */
  since?: string;
  /** `Name: message` of the failure that caused `degraded` or `reauthorization-required`. */
  lastError?: string;
}

/** Counters of the broker's remote calls since it was built (Key Vault attempts count one each). */
export interface BrokerStats {
  /** Key Vault GET secret attempts (client id, client secret, refresh token; retries included). */
  keyVaultReads: number;
  /** Key Vault SET secret attempts (each rotated refresh token is one new version; retries included). */
  keyVaultWrites: number;
  /** Successful refresh_token redemptions (each one rotated the refresh token). */
  redemptions: number;
  /** Redemption attempts that got any HTTP answer (successes, refusals and retried faults). */
  redemptionAttempts: number;
  /** getAccessToken calls answered from the in-memory cache. */
  cacheHits: number;
  /** getAccessToken calls that joined a refresh already in flight (single flight). */
  sharedRefreshes: number;
  /** Leases claimed (one per redemption round). */
  leaseClaims: number;
  /** Times this instance found the lease held by another and waited. */
  leaseWaits: number;
  /** Tokens taken from the shared Key Vault secret instead of a redemption (TOKEN_SHARING=keyvault). */
  sharedTokenHits: number;
}

/** A clock in epoch milliseconds; injected in tests, never read from the wall in assertions. */
export interface Clock {
  nowMs(): number;
}

/** The fetch the broker calls: node-fetch v2 or anything with its signature. */
export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** The part of `SecretClient` the broker uses (a real SecretClient satisfies it). */
export type SecretClientLike = Pick<SecretClient, 'getSecret' | 'setSecret'>;

/** The part of `TableClient` the lease uses (a real TableClient satisfies it). */
export type LeaseTableClient = Pick<TableClient, 'createTable' | 'getEntity' | 'createEntity' | 'updateEntity'>;

/** Options of `TokenBroker`; every dependency comes in here. */
export interface TokenBrokerOptions {
  /** Key Vault client (built once per process by the factory). */
  secretClient: SecretClientLike;
  /** The `referrals` table: holds the lease row (`$lease` / `partner-center-token`). */
  leaseTable: LeaseTableClient;
  /** Entra authority (e.g. `https://login.microsoftonline.com`) and the partner tenant. */
  tokenEndpoint: { authorityHost: string; tenantId: string };
  /** Token audience: `https://api.partner.microsoft.com`. */
  resource: string;
  /** Names of the three Key Vault secrets. */
  secretNames: { clientId: string; clientSecret: string; refreshToken: string };
  /**
   * Key Vault secret through which all instances share one access token (TOKEN_SHARING=keyvault: the
   * lease holder writes it after its redemption, the others read it instead of redeeming). Undefined: every
   * instance redeems its own (TOKEN_SHARING=off). @default undefined
   */
  sharedAccessTokenSecretName?: string;
  /** Renew this long before expiry (capped at half the token's lifetime). @default 300 */
  expiryMarginSeconds?: number;
  /** node-fetch (or a stand-in with its signature). @default node-fetch */
  fetch?: FetchLike;
  /** Agent for token endpoint calls (e.g. one trusting the sandbox CA). */
  httpsAgent?: HttpsAgent;
  /** @default Date.now */
  clock?: Clock;
  /** @default a console logger */
  logger?: Logger;
  /** Owner id written to the lease row. @default `${WEBSITE_INSTANCE_ID or hostname}:${pid}:${random}` */
  instanceId?: string;
  /** Lease validity; extended while a redemption or the Key Vault write runs long. @default 60000 */
  leaseDurationMs?: number;
  /** Base interval between looks at a lease held elsewhere (jittered). @default 250 */
  leasePollIntervalMs?: number;
  /** Longest wait for a lease held by another instance. @default leaseDurationMs + 5000 */
  leaseWaitMs?: number;
  /** Re-read interval of the refresh token's version while reauthorization is required. @default 30000 */
  recheckIntervalMs?: number;
  /** After a failed renewal, keep serving the still-valid token this long before trying again. @default 5000 */
  refreshRetryIntervalMs?: number;
  /** Retry policy of Key Vault and token endpoint calls. @default RETRY_DEFAULTS */
  retry?: Partial<RetryPolicy>;
  /** Called on every health state change (the workflow resumes parked referrals on `ok`). */
  onStateChange?: (health: BrokerHealth) => void;
  /** Sleep used for backoff and lease polling. @default setTimeout */
  sleep?: (delayMs: number) => Promise<void>;
  /** Randomness for jitter. @default Math.random */
  random?: () => number;
}
