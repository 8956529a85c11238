/**
 * The token broker: turns the Secure Application Model refresh token kept in Key Vault into Partner
 * Center access tokens, and keeps the refresh token alive across instances.
 *
 * ```
 *  getAccessToken()
 *    ├─ reauthorization required? ── fail fast (re-read the secret version at most once per recheckIntervalMs)
 *    ├─ cached token before its refresh point ─────────────────────────────────────────────► cache hit
 *    ├─ a refresh in flight in this process ── join it (single flight) ──────────────────────► shared
 *    └─ refresh (tokenRenewal.ts):
 *                 [TOKEN_SHARING=keyvault: the lease row says a fresh shared token is stored? read it, use it]
 *                 claim the lease (Table row, ETag) ── wait while another instance holds it
 *                 [the row says so now (the holder we waited for stored one)? read it, use it]
 *                 client id + secret (cached per process, re-read on invalid_client)
 *                 re-read the refresh token's LATEST version (another instance may have rotated it)
 *                 redeem it at {authority}/{tenant}/oauth2/token
 *                 write the rotated refresh token as a new Key Vault version   ◄── before the token is used
 *                 [share the access token: a Key Vault secret with expiresOn]
 *                 release the lease ─────────────────────────────────────────────────────► new token cached
 * ```
 *
 * What is counted (`stats()`): every Key Vault GET or SET attempt is one read or write. Without sharing a
 * cold instance reads 2–3 secrets for its first token (client secret with the client id as its tag, or
 * both, and the refresh token inside the lease); every later lifetime costs 1 read and 1 write per
 * instance, and one redemption per instance. With sharing one instance per lifetime redeems (1 refresh-token
 * read, 2 writes: the rotated refresh token and the shared access token); each other instance reads the
 * shared token once instead (the lease row says when one is fresh).
 *
 * The parts: appCredentials.ts (client id and secret), refreshTokenRedeemer.ts (the redemption and its
 * recovery), tokenRenewal.ts (lease, rotation write, sharing), sharedAccessToken.ts, reauthorizationGate.ts.
 */
import { createLogger, type Logger } from '../platform/logging';
import { BridgeError } from '../platform/errors';
import { BrokerState, TOKEN_BROKER_DEFAULTS } from './constants';
import { isReauthorizationRequiredError } from './errors';
import { realSleep, resolveRetryPolicy, type RetryDeps } from './retry';
import { AppCredentials } from './appCredentials';
import {
  asAuthError,
  defaultInstanceId,
  errorSummary,
  iso,
  type CachedToken,
  type RefreshTrigger,
} from './brokerSupport';
import { ReauthorizationGate } from './reauthorizationGate';
import { RefreshTokenRedeemer } from './refreshTokenRedeemer';
import { SecretStore } from './secretStore';
import { SharedAccessToken } from './sharedAccessToken';
import { TokenEndpoint } from './tokenEndpoint';
import { TokenLease } from './tokenLease';
import { TokenRenewal } from './tokenRenewal';
import type {
  AccessTokenProvider,
  BrokerHealth,
  BrokerStats,
  GetAccessTokenOptions,
  TokenBrokerOptions,
} from './types';

/**
 * Hands out Partner Center access tokens from the refresh token in Key Vault: in-memory cache with an
 * expiry margin, single flight per process, a Table Storage lease across instances, rotation written
 * back before use, optionally one access token shared by all instances through Key Vault, and a
 * reauthorization-required state that fails fast.
 *
 * @example
 * const broker = createTokenBrokerFromSettings(settings, { logger });
 * const token = await broker.getAccessToken();
 * // after Partner Center answered 401 to `token`:
 * const fresh = await broker.getAccessToken({ forceRefresh: true, rejectedToken: token });
 */
export class TokenBroker implements AccessTokenProvider {
  readonly #o: TokenBrokerOptions;
  readonly #logger: Logger;
  readonly #nowMs: () => number;
  readonly #refreshRetryIntervalMs: number;
  readonly #reauthorization: ReauthorizationGate;
  readonly #renewal: TokenRenewal;
  readonly #stats: BrokerStats = {
    keyVaultReads: 0,
    keyVaultWrites: 0,
    redemptions: 0,
    redemptionAttempts: 0,
    cacheHits: 0,
    sharedRefreshes: 0,
    leaseClaims: 0,
    leaseWaits: 0,
    sharedTokenHits: 0,
  };

  #cached: CachedToken | undefined;
  #inFlight: Promise<CachedToken> | undefined;
  #nextRefreshAttemptAtMs = 0;
  #health: BrokerHealth = { state: BrokerState.unknown };

  constructor(options: TokenBrokerOptions) {
    this.#o = options;
    const logger = (options.logger ?? createLogger()).child({ component: 'token-broker' });
    this.#logger = logger;
    const clock = options.clock ?? { nowMs: () => Date.now() };
    const nowMs = (this.#nowMs = () => clock.nowMs());
    const deps: RetryDeps = { nowMs, sleep: options.sleep ?? realSleep, random: options.random ?? Math.random };
    const retry = resolveRetryPolicy(options.retry);
    const marginMs = (options.expiryMarginSeconds ?? TOKEN_BROKER_DEFAULTS.expiryMarginSeconds) * 1000;
    this.#refreshRetryIntervalMs = options.refreshRetryIntervalMs ?? TOKEN_BROKER_DEFAULTS.refreshRetryIntervalMs;
    const leaseDurationMs = options.leaseDurationMs ?? TOKEN_BROKER_DEFAULTS.leaseDurationMs;
    const onRetry = (what: string) => (info: { attempt: number; delayMs: number; error: unknown }) =>
      logger.warn(`Retrying ${what}`, {
        attempt: info.attempt,
        delayMs: info.delayMs,
        reason: errorSummary(info.error),
      });
    const secrets = new SecretStore({
      client: options.secretClient,
      retry,
      deps,
      onAttempt: (operation) => (operation === 'read' ? this.#stats.keyVaultReads++ : this.#stats.keyVaultWrites++),
      onRetry: (info) => onRetry(`Key Vault ${info.operation} of '${info.secretName}'`)(info),
    });
    const endpoint = new TokenEndpoint({
      authorityHost: options.tokenEndpoint.authorityHost,
      tenantId: options.tokenEndpoint.tenantId,
      fetch: options.fetch,
      httpsAgent: options.httpsAgent,
      retry,
      deps,
      onRedemptionAnswered: (status) => {
        this.#stats.redemptionAttempts++;
        if (status === 200) this.#stats.redemptions++;
      },
      onRetry: onRetry('the token endpoint'),
    });
    const names = options.secretNames;
    const credentials = new AppCredentials({ secrets, secretNames: names, logger });
    this.#reauthorization = new ReauthorizationGate({
      secrets,
      refreshTokenSecretName: names.refreshToken,
      recheckIntervalMs: options.recheckIntervalMs ?? TOKEN_BROKER_DEFAULTS.recheckIntervalMs,
      nowMs,
      logger,
    });
    this.#renewal = new TokenRenewal({
      secrets,
      credentials,
      redeemer: new RefreshTokenRedeemer({
        secrets,
        credentials,
        endpoint,
        refreshTokenSecretName: names.refreshToken,
        resource: options.resource,
        nowMs,
        logger,
      }),
      lease: new TokenLease({
        table: options.leaseTable,
        ownerId: options.instanceId ?? defaultInstanceId(),
        durationMs: leaseDurationMs,
        pollIntervalMs: options.leasePollIntervalMs ?? TOKEN_BROKER_DEFAULTS.leasePollIntervalMs,
        waitMs: options.leaseWaitMs ?? leaseDurationMs + 5_000,
        deps,
        logger,
        onWait: () => this.#stats.leaseWaits++,
      }),
      ...(options.sharedAccessTokenSecretName
        ? {
            shared: new SharedAccessToken({
              secrets,
              secretName: options.sharedAccessTokenSecretName,
              marginMs,
              logger,
            }),
          }
        : {}),
      refreshTokenSecretName: names.refreshToken,
      marginMs,
      leaseDurationMs,
      retry,
      nowMs,
      logger,
      onLeaseClaim: () => this.#stats.leaseClaims++,
      onSharedHit: () => this.#stats.sharedTokenHits++,
    });
  }

  /**
   * A valid access token. `forceRefresh` (after a Partner Center 401) redeems again, unless the cache
   * (or, with sharing, Key Vault) already holds a token other than `rejectedToken`: that newer one is
   * returned without a redemption. Throws {@link ReauthorizationRequiredError} (not retryable) while a new
   * sign-in is needed, otherwise an {@link AuthError} whose `retryable` says whether to try again later.
   */
  async getAccessToken(options: GetAccessTokenOptions = {}): Promise<string> {
    if (this.#reauthorization.active) await this.#reauthorization.check();
    const nowMs = this.#nowMs();
    let forced = options.forceRefresh === true;
    let cached = this.#cached;
    if (forced && cached && options.rejectedToken !== undefined) {
      if (options.rejectedToken !== cached.accessToken)
        forced = false; // already replaced: the newer one will do
      else this.#cached = cached = undefined; // refused by Partner Center: never serve it again
    }
    if (!forced && cached) {
      if (nowMs < cached.refreshAtEpochMs) return this.#hit(cached);
      if (this.#canServeStale(cached, nowMs) && nowMs < this.#nextRefreshAttemptAtMs) return this.#hit(cached);
    }
    if (this.#inFlight) {
      this.#stats.sharedRefreshes++;
      return this.#awaitRefresh(this.#inFlight, forced);
    }
    const trigger: RefreshTrigger = forced
      ? 'forced'
      : cached
        ? 'expiring'
        : this.#health.state === BrokerState.unknown
          ? 'cold'
          : 'recovered';
    const inFlight = this.#refresh(trigger, forced ? options.rejectedToken : undefined, forced).finally(() => {
      if (this.#inFlight === inFlight) this.#inFlight = undefined;
    });
    this.#inFlight = inFlight;
    return this.#awaitRefresh(inFlight, forced);
  }

  /** Current state for /api/health: never forces a redemption. */
  health(): BrokerHealth {
    return { ...this.#health };
  }

  /** Counters of remote calls since construction (see the file comment for what counts). */
  stats(): BrokerStats {
    return { ...this.#stats };
  }

  #hit(cached: CachedToken): string {
    this.#stats.cacheHits++;
    return cached.accessToken;
  }

  /** A cached token may stand in after a failed renewal while it still has some life left. */
  #canServeStale(cached: CachedToken, nowMs: number): boolean {
    return (
      nowMs <
      cached.expiresAtEpochMs -
        Math.min(
          TOKEN_BROKER_DEFAULTS.staleTokenMinRemainingMs,
          (cached.expiresAtEpochMs - cached.refreshAtEpochMs) / 2,
        )
    );
  }

  async #awaitRefresh(inFlight: Promise<CachedToken>, forced: boolean): Promise<string> {
    try {
      return (await inFlight).accessToken;
    } catch (error) {
      const cached = this.#cached;
      if (
        !forced &&
        cached &&
        error instanceof BridgeError &&
        error.retryable &&
        this.#canServeStale(cached, this.#nowMs())
      ) {
        return this.#hit(cached);
      }
      throw error;
    }
  }

  async #refresh(trigger: RefreshTrigger, rejectedToken: string | undefined, forced: boolean): Promise<CachedToken> {
    try {
      const token = await this.#renewal.renew(trigger, { forced, rejectedToken });
      this.#cached = token;
      this.#nextRefreshAttemptAtMs = 0;
      this.#setHealth(BrokerState.ok);
      return token;
    } catch (thrown) {
      const error = asAuthError(thrown);
      if (isReauthorizationRequiredError(error)) {
        this.#cached = undefined;
        this.#reauthorization.enter(error);
        this.#logger.error('Reauthorization required: store a new refresh token (npm run auth:consent)', {
          reason: error.reason,
          refusedVersion: error.refusedVersion,
        });
        this.#setHealth(BrokerState.reauthorizationRequired, error);
      } else {
        this.#nextRefreshAttemptAtMs = this.#nowMs() + this.#refreshRetryIntervalMs;
        this.#logger.warn('Access token refresh failed', {
          trigger,
          retryable: error.retryable,
          reason: errorSummary(error),
        });
        this.#setHealth(BrokerState.degraded, error);
      }
      throw error;
    }
  }

  #setHealth(state: BrokerState, error?: Error): void {
    const changed = this.#health.state !== state;
    this.#health = {
      state,
      since: changed || !this.#health.since ? iso(this.#nowMs()) : this.#health.since,
      ...(error ? { lastError: errorSummary(error) } : {}),
    };
    if (!changed) return;
    try {
      this.#o.onStateChange?.(this.health());
    } catch (thrown) {
      this.#logger.warn('onStateChange callback threw', { reason: errorSummary(thrown) });
    }
  }
}
