/**
 * The token broker: turns the Secure Application Model refresh token kept in Key Vault into Partner
 * Center access tokens, and keeps the refresh token alive across instances.
 *
 * ```
 *  getAccessToken()
 *    ├─ reauthorization required? ── fail fast (re-read the secret version at most once per recheckIntervalMs)
 *    ├─ cached token before its refresh point ─────────────────────────────────────────────► cache hit
 *    ├─ a refresh in flight in this process ── join it (single flight) ──────────────────────► shared
 *    └─ refresh:  client id + secret (cached per process, re-read on invalid_client)
 *                 claim the lease (Table row, ETag) ── wait while another instance holds it
 *                 re-read the refresh token's LATEST version (another instance may have rotated it)
 *                 redeem it at {authority}/{tenant}/oauth2/token
 *                 write the rotated refresh token as a new Key Vault version   ◄── before the token is used
 *                 release the lease ─────────────────────────────────────────────────────► new token cached
 * ```
 *
 * What is counted (`stats()`): every Key Vault GET or SET attempt is one read or write. A cold instance
 * reads 3 secrets for its first token (client id, client secret, refresh token inside the lease); every
 * later token lifetime costs 1 read (the refresh token inside the lease) and 1 write (its rotated
 * successor): the client credentials stay cached for the life of the process.
 */
import { recordRedemption } from '../platform/metrics';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { createLogger, type Logger } from '../platform/logging';
import { BridgeError } from '../platform/errors';
import { BrokerState, OAuthError, TOKEN_BROKER_DEFAULTS } from './constants';
import {
  AuthError,
  ReauthorizationRequiredError,
  SecretStoreError,
  TokenEndpointError,
  isReauthorizationRequiredError,
} from './errors';
import { realSleep, resolveRetryPolicy, type RetryDeps, type RetryPolicy } from './retry';
import { CLIENT_ID_TAG } from './constants';
import { SecretStore, type SecretVersion } from './secretStore';
import { TokenEndpoint, type RedeemedTokens } from './tokenEndpoint';
import { TokenLease, type HeldLease } from './tokenLease';
import type {
  AccessTokenProvider,
  BrokerHealth,
  BrokerStats,
  GetAccessTokenOptions,
  TokenBrokerOptions,
} from './types';

/** An access token held in memory (never logged, never persisted). */
interface CachedToken {
  accessToken: string;
  /** From the time the redemption was sent + expires_in. */
  expiresAtEpochMs: number;
  /** expiresAtEpochMs minus the margin (capped at half the lifetime). */
  refreshAtEpochMs: number;
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** A rotated refresh token Key Vault has not accepted yet: it is written before anything else happens. */
interface PendingWrite {
  refreshToken: string;
  /** Version of the refresh token that was redeemed (spent) to get it. */
  spentVersion: string;
  token: CachedToken;
}

interface ReauthorizationState {
  error: ReauthorizationRequiredError;
  refusedVersion?: string;
  lastRecheckAtMs: number;
}

/** Why a refresh started (logged). */
type RefreshTrigger = 'cold' | 'expiring' | 'forced' | 'recovered';

/**
 * Hands out Partner Center access tokens from the refresh token in Key Vault: in-memory cache with an
 * expiry margin, single flight per process, a Table Storage lease across instances, rotation written
 * back before use, and a reauthorization-required state that fails fast.
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
  readonly #deps: RetryDeps;
  readonly #retry: RetryPolicy;
  readonly #secrets: SecretStore;
  readonly #endpoint: TokenEndpoint;
  readonly #lease: TokenLease;
  readonly #marginMs: number;
  readonly #recheckIntervalMs: number;
  readonly #refreshRetryIntervalMs: number;
  readonly #leaseDurationMs: number;
  readonly #leaseGuardMs: number;
  readonly #stats: BrokerStats = {
    keyVaultReads: 0,
    keyVaultWrites: 0,
    redemptions: 0,
    redemptionAttempts: 0,
    cacheHits: 0,
    sharedRefreshes: 0,
    leaseClaims: 0,
    leaseWaits: 0,
  };

  #cached: CachedToken | undefined;
  #inFlight: Promise<CachedToken> | undefined;
  #credentials: Promise<ClientCredentials> | undefined;
  #pendingWrite: PendingWrite | undefined;
  #reauthorization: ReauthorizationState | undefined;
  #recheck: Promise<void> | undefined;
  #nextRefreshAttemptAtMs = 0;
  #health: BrokerHealth = { state: BrokerState.unknown };

  constructor(options: TokenBrokerOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? createLogger()).child({ component: 'token-broker' });
    const clock = options.clock ?? { nowMs: () => Date.now() };
    this.#nowMs = () => clock.nowMs();
    this.#deps = { nowMs: this.#nowMs, sleep: options.sleep ?? realSleep, random: options.random ?? Math.random };
    this.#retry = resolveRetryPolicy(options.retry);
    this.#marginMs = (options.expiryMarginSeconds ?? TOKEN_BROKER_DEFAULTS.expiryMarginSeconds) * 1000;
    this.#recheckIntervalMs = options.recheckIntervalMs ?? TOKEN_BROKER_DEFAULTS.recheckIntervalMs;
    this.#refreshRetryIntervalMs = options.refreshRetryIntervalMs ?? TOKEN_BROKER_DEFAULTS.refreshRetryIntervalMs;
    const leaseDurationMs = options.leaseDurationMs ?? TOKEN_BROKER_DEFAULTS.leaseDurationMs;
    this.#leaseDurationMs = leaseDurationMs;
    this.#leaseGuardMs = Math.min(2_000, Math.floor(leaseDurationMs / 10));
    const onRetry = (what: string) => (info: { attempt: number; delayMs: number; error: unknown }) =>
      this.#logger.warn(`Retrying ${what}`, {
        attempt: info.attempt,
        delayMs: info.delayMs,
        reason: errorSummary(info.error),
      });
    this.#secrets = new SecretStore({
      client: options.secretClient,
      retry: this.#retry,
      deps: this.#deps,
      onAttempt: (operation) => (operation === 'read' ? this.#stats.keyVaultReads++ : this.#stats.keyVaultWrites++),
      onRetry: (info) => onRetry(`Key Vault ${info.operation} of '${info.secretName}'`)(info),
    });
    this.#endpoint = new TokenEndpoint({
      authorityHost: options.tokenEndpoint.authorityHost,
      tenantId: options.tokenEndpoint.tenantId,
      fetch: options.fetch,
      httpsAgent: options.httpsAgent,
      retry: this.#retry,
      deps: this.#deps,
      onRedemptionAnswered: (status) => {
        this.#stats.redemptionAttempts++;
        if (status === 200) this.#stats.redemptions++;
      },
      onRetry: onRetry('the token endpoint'),
    });
    this.#lease = new TokenLease({
      table: options.leaseTable,
      ownerId: options.instanceId ?? defaultInstanceId(),
      durationMs: leaseDurationMs,
      pollIntervalMs: options.leasePollIntervalMs ?? TOKEN_BROKER_DEFAULTS.leasePollIntervalMs,
      waitMs: options.leaseWaitMs ?? leaseDurationMs + 5_000,
      deps: this.#deps,
      logger: this.#logger,
      onWait: () => this.#stats.leaseWaits++,
    });
  }

  /**
   * A valid access token. `forceRefresh` (after a Partner Center 401) redeems again, unless the cache
   * already holds a token other than `rejectedToken`: that newer one is returned without a redemption.
   * Throws {@link ReauthorizationRequiredError} (not retryable) while a new sign-in is needed, otherwise
   * an {@link AuthError} whose `retryable` says whether to try again later.
   */
  async getAccessToken(options: GetAccessTokenOptions = {}): Promise<string> {
    if (this.#reauthorization) await this.#checkReauthorization();
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
    const inFlight = this.#refresh(trigger).finally(() => {
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

  async #refresh(trigger: RefreshTrigger): Promise<CachedToken> {
    try {
      const token = await this.#refreshUnderLease(trigger);
      this.#cached = token;
      this.#nextRefreshAttemptAtMs = 0;
      this.#setHealth(BrokerState.ok);
      return token;
    } catch (thrown) {
      const error = asAuthError(thrown);
      if (isReauthorizationRequiredError(error)) {
        this.#cached = undefined;
        this.#reauthorization = { error, refusedVersion: error.refusedVersion, lastRecheckAtMs: this.#nowMs() };
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

  async #refreshUnderLease(trigger: RefreshTrigger): Promise<CachedToken> {
    const credentials = await this.#clientCredentials();
    let lease = await this.#lease.acquire();
    this.#stats.leaseClaims++;
    let releaseLease = true;
    try {
      const deadline = (): number => lease.leaseUntilEpochMs - this.#leaseGuardMs;
      let current: SecretVersion | undefined;
      const pending = this.#pendingWrite;
      if (pending) {
        const outcome = await this.#settlePendingWrite(pending, deadline());
        if (outcome.token) return outcome.token;
        current = outcome.current;
      }
      current ??= await this.#readRefreshToken(deadline());
      const redeemed = await this.#redeemWithRecovery(credentials, current, deadline);
      const token = this.#toCachedToken(redeemed.tokens, redeemed.requestedAtMs);
      const rotated = redeemed.tokens.refreshToken;
      if (rotated === undefined || rotated === redeemed.from.value) {
        this.#logger.info('Access token renewed; the refresh token was not rotated', {
          trigger,
          version: redeemed.from.version,
          expiresAt: iso(token.expiresAtEpochMs),
        });
        return token;
      }
      lease = await this.#leaseForWrite(lease);
      try {
        const written = await this.#secrets.write(this.#o.secretNames.refreshToken, rotated, {
          tags: { rotatedFrom: redeemed.from.version },
          deadlineEpochMs: deadline(),
        });
        this.#logger.info('Access token renewed; rotated refresh token stored as a new version', {
          trigger,
          spentVersion: redeemed.from.version,
          version: written.version,
          expiresAt: iso(token.expiresAtEpochMs),
        });
      } catch (thrown) {
        // The spent version is dead: keep the new one in memory, hold the lease until it expires, and write it first next time.
        this.#pendingWrite = { refreshToken: rotated, spentVersion: redeemed.from.version, token };
        releaseLease = false;
        this.#logger.error(
          'Could not store the rotated refresh token; it is kept in memory and written before the next redemption',
          {
            spentVersion: redeemed.from.version,
            reason: errorSummary(thrown),
          },
        );
        throw thrown;
      }
      return token;
    } finally {
      if (releaseLease) await this.#lease.release(lease);
    }
  }

  /**
   * Writes a rotated refresh token that Key Vault refused earlier, unless another instance has stored a
   * newer version since. Returns the token it was redeemed with when that is still fresh.
   */
  async #settlePendingWrite(
    pending: PendingWrite,
    deadlineEpochMs: number,
  ): Promise<{ token?: CachedToken; current?: SecretVersion }> {
    const latest = await this.#readRefreshToken(deadlineEpochMs);
    if (latest.version !== pending.spentVersion) {
      this.#pendingWrite = undefined;
      this.#logger.warn('A newer refresh token was stored meanwhile; the unsaved rotated one is dropped', {
        version: latest.version,
        spentVersion: pending.spentVersion,
      });
      return { current: latest };
    }
    const written = await this.#secrets.write(this.#o.secretNames.refreshToken, pending.refreshToken, {
      tags: { rotatedFrom: pending.spentVersion },
      deadlineEpochMs,
    });
    this.#pendingWrite = undefined;
    this.#logger.info('Stored the rotated refresh token kept in memory', {
      version: written.version,
      spentVersion: pending.spentVersion,
    });
    if (this.#nowMs() < pending.token.refreshAtEpochMs) return { token: pending.token };
    return { current: { value: pending.refreshToken, version: written.version } };
  }

  /** Extends the lease (If-Match) when less time is left than a Key Vault write may need. */
  async #leaseForWrite(lease: HeldLease): Promise<HeldLease> {
    const writeBudgetMs = Math.min(
      this.#retry.maxAttempts * (this.#retry.attemptTimeoutMs + this.#retry.maxDelayMs),
      this.#leaseDurationMs / 2,
    );
    if (lease.leaseUntilEpochMs - this.#leaseGuardMs - this.#nowMs() >= writeBudgetMs) return lease;
    try {
      return await this.#lease.extend(lease);
    } catch (thrown) {
      // Writing is still right: the new refresh token is the only live one.
      this.#logger.error('Lost the token lease before storing the rotated refresh token; storing it anyway', {
        reason: errorSummary(thrown),
      });
      return { ...lease, leaseUntilEpochMs: this.#nowMs() + this.#leaseDurationMs };
    }
  }

  /**
   * Redeems `current`; on `invalid_client` re-reads the client credentials once, on `invalid_grant` /
   * `interaction_required` re-reads the refresh token once and retries only if its version changed;
   * otherwise raises {@link ReauthorizationRequiredError}.
   */
  async #redeemWithRecovery(
    credentials: ClientCredentials,
    current: SecretVersion,
    deadline: () => number,
  ): Promise<{ tokens: RedeemedTokens; from: SecretVersion; requestedAtMs: number }> {
    let creds = credentials;
    let from = current;
    let reloadedCredentials = false;
    let rereadRefreshToken = false;
    for (;;) {
      const requestedAtMs = this.#nowMs();
      try {
        const tokens = await this.#endpoint.redeemRefreshToken(
          {
            clientId: creds.clientId,
            clientSecret: creds.clientSecret,
            refreshToken: from.value,
            resource: this.#o.resource,
          },
          { deadlineEpochMs: deadline() },
        );
        recordRedemption('success');
        return { tokens, from, requestedAtMs };
      } catch (thrown) {
        recordRedemption('failure');
        if (!(thrown instanceof TokenEndpointError)) throw thrown;
        if (thrown.oauthError === OAuthError.invalidClient && !reloadedCredentials) {
          reloadedCredentials = true;
          this.#logger.warn('Token endpoint answered invalid_client: re-reading the client id and secret', {
            aadsts: thrown.aadstsCodes,
          });
          creds = await this.#clientCredentials({ reload: true, deadlineEpochMs: deadline() });
          continue;
        }
        if (thrown.oauthError === OAuthError.invalidGrant || thrown.oauthError === OAuthError.interactionRequired) {
          if (!rereadRefreshToken) {
            rereadRefreshToken = true;
            const latest = await this.#readRefreshToken(deadline());
            if (latest.version !== from.version) {
              this.#logger.warn('Refresh token refused, but a newer version was stored meanwhile: retrying with it', {
                refusedVersion: from.version,
                version: latest.version,
              });
              from = latest;
              continue;
            }
          }
          throw new ReauthorizationRequiredError(
            `The refresh token (Key Vault version ${from.version}) was refused (${thrown.oauthError}${thrown.aadstsCodes.length ? `, AADSTS${thrown.aadstsCodes.join(', AADSTS')}` : ''}): sign in again with npm run auth:consent`,
            { cause: thrown, refusedVersion: from.version, reason: thrown.oauthError },
          );
        }
        throw thrown;
      }
    }
  }

  /** The latest refresh token version; an absent secret means nobody has signed in yet. */
  async #readRefreshToken(deadlineEpochMs?: number): Promise<SecretVersion> {
    const name = this.#o.secretNames.refreshToken;
    try {
      return await this.#secrets.read(name, { deadlineEpochMs });
    } catch (thrown) {
      if (thrown instanceof SecretStoreError && thrown.code === 'SecretNotFound') {
        throw new ReauthorizationRequiredError(
          `No refresh token is stored in Key Vault secret '${name}': sign in with npm run auth:consent`,
          {
            cause: thrown,
            reason: 'secretNotFound',
          },
        );
      }
      throw thrown;
    }
  }

  /**
   * Client id and secret, read once per process and again after invalid_client. The client id comes from
   * the client secret's `clientId` tag when it has one (one Key Vault read fewer), else from its own secret.
   */
  #clientCredentials(options: { reload?: boolean; deadlineEpochMs?: number } = {}): Promise<ClientCredentials> {
    if (options.reload) this.#credentials = undefined;
    this.#credentials ??= (async () => {
      const clientSecret = await this.#secrets.read(this.#o.secretNames.clientSecret, {
        deadlineEpochMs: options.deadlineEpochMs,
      });
      const taggedClientId = clientSecret.tags?.[CLIENT_ID_TAG]?.trim();
      const clientId = taggedClientId
        ? { value: taggedClientId, version: `tag of ${clientSecret.version}` }
        : await this.#secrets.read(this.#o.secretNames.clientId, { deadlineEpochMs: options.deadlineEpochMs });
      this.#logger.info('Read the app credentials from Key Vault', {
        clientIdVersion: clientId.version,
        credentialVersion: clientSecret.version,
      });
      return { clientId: clientId.value.trim(), clientSecret: clientSecret.value };
    })().catch((error: unknown) => {
      this.#credentials = undefined; // a failed read is not cached
      throw error;
    });
    return this.#credentials;
  }

  /**
   * While reauthorization is required: throws the stored error, except that at most once per
   * `recheckIntervalMs` it re-reads the refresh token's version and leaves the state if it changed.
   */
  async #checkReauthorization(): Promise<void> {
    const state = this.#reauthorization;
    if (!state) return;
    if (!this.#recheck) {
      if (this.#nowMs() - state.lastRecheckAtMs < this.#recheckIntervalMs) throw state.error;
      state.lastRecheckAtMs = this.#nowMs();
      this.#recheck = this.#recheckOnce(state).finally(() => {
        this.#recheck = undefined;
      });
    }
    await this.#recheck;
    if (this.#reauthorization) throw this.#reauthorization.error;
  }

  async #recheckOnce(state: ReauthorizationState): Promise<void> {
    let latest: SecretVersion;
    try {
      latest = await this.#secrets.read(this.#o.secretNames.refreshToken);
    } catch (thrown) {
      if (!(thrown instanceof SecretStoreError && thrown.code === 'SecretNotFound')) {
        this.#logger.warn('Could not re-read the refresh token while reauthorization is required', {
          reason: errorSummary(thrown),
        });
      }
      return;
    }
    if (latest.version === state.refusedVersion) return;
    this.#logger.info('A new refresh token version was stored: leaving the reauthorization-required state', {
      refusedVersion: state.refusedVersion,
      version: latest.version,
    });
    this.#reauthorization = undefined;
  }

  #toCachedToken(tokens: RedeemedTokens, requestedAtMs: number): CachedToken {
    const lifetimeMs = Math.max(0, tokens.expiresInSeconds * 1000);
    const expiresAtEpochMs = requestedAtMs + lifetimeMs;
    return {
      accessToken: tokens.accessToken,
      expiresAtEpochMs,
      refreshAtEpochMs: expiresAtEpochMs - Math.min(this.#marginMs, lifetimeMs / 2),
    };
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

/** `WEBSITE_INSTANCE_ID` (Azure) or the host name, the pid and a random suffix. */
function defaultInstanceId(): string {
  const host = process.env.WEBSITE_INSTANCE_ID?.slice(0, 16) || hostname();
  return `${host}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** Wraps a stray failure (a bug, a foreign error) so callers see an AuthError; keeps only its name and message. */
function asAuthError(thrown: unknown): AuthError {
  if (thrown instanceof AuthError) return thrown;
  const summary = errorSummary(thrown);
  return new AuthError(`Access token refresh failed: ${summary}`, {
    retryable: thrown instanceof BridgeError ? thrown.retryable : true,
    cause: new Error(summary),
  });
}

/** `Name: message` of a failure, trimmed (messages here never hold secrets: see errors.ts). */
function errorSummary(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
