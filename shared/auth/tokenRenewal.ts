/**
 * One renewal of the access token across instances: under the Table Storage lease, redeem the refresh
 * token's latest version and write the rotated one back to Key Vault before the new token is used. With
 * a {@link SharedAccessToken} (TOKEN_SHARING=keyvault) the token another instance redeemed is taken
 * instead. Whether one worth reading is stored, the lease row says (`sharedTokenRefreshAtEpochMs`, a
 * time written at release after a successful share): a Table read, so Key Vault is read only when it
 * pays, and an instance that waited for the lease sees what the holder stored.
 *
 * ```
 *  renew ─ peek lease row: shared token fresh? ── yes ─ read it (1 KV read): not the refused one? ─► use it
 *    └─ claim lease ─ row says fresh now? ── yes ─ read it ─► release, use it
 *         └─ [pending rotated RT: write it first] credentials ─ read RT ─ redeem ─ write rotated RT
 *            ─ share AT (KV write) ─ release, row: sharedTokenRefreshAtEpochMs = its refresh point
 * ```
 */
import type { Logger } from '../platform/logging';
import type { AppCredentials } from './appCredentials';
import { cachedToken, errorSummary, iso, type CachedToken, type RefreshTrigger } from './brokerSupport';
import type { RefreshTokenRedeemer } from './refreshTokenRedeemer';
import type { RetryPolicy } from './retry';
import type { SecretStore, SecretVersion } from './secretStore';
import type { SharedAccessToken } from './sharedAccessToken';
import type { HeldLease, TokenLease } from './tokenLease';

/** Options of {@link TokenRenewal}. */
export interface TokenRenewalOptions {
  secrets: SecretStore;
  credentials: AppCredentials;
  redeemer: RefreshTokenRedeemer;
  lease: TokenLease;
  /** The token shared through Key Vault; undefined: every instance redeems its own (TOKEN_SHARING=off). */
  shared?: SharedAccessToken;
  refreshTokenSecretName: string;
  marginMs: number;
  leaseDurationMs: number;
  retry: RetryPolicy;
  nowMs: () => number;
  logger: Logger;
  onLeaseClaim?: () => void;
  /** A token was taken from Key Vault instead of redeeming one. */
  onSharedHit?: () => void;
}

/** A rotated refresh token Key Vault has not accepted yet: it is written before anything else happens. */
interface PendingWrite {
  refreshToken: string;
  /** Version of the refresh token that was redeemed (spent) to get it. */
  spentVersion: string;
  token: CachedToken;
}

/** Renews the access token (see the module comment). */
export class TokenRenewal {
  readonly #o: TokenRenewalOptions;
  readonly #leaseGuardMs: number;
  #pendingWrite: PendingWrite | undefined;

  constructor(options: TokenRenewalOptions) {
    this.#o = options;
    this.#leaseGuardMs = Math.min(2_000, Math.floor(options.leaseDurationMs / 10));
  }

  /**
   * A new token. `rejectedToken` (Partner Center answered 401 to it) is never taken from the shared
   * secret; `forced` without one skips the shared secret altogether.
   */
  async renew(
    trigger: RefreshTrigger,
    options: { forced?: boolean; rejectedToken?: string } = {},
  ): Promise<CachedToken> {
    const { shared, logger } = this.#o;
    const useShared = shared !== undefined && !(options.forced && options.rejectedToken === undefined);
    const fresh = (token: CachedToken | undefined): token is CachedToken =>
      token !== undefined && token.accessToken !== options.rejectedToken && this.#o.nowMs() < token.refreshAtEpochMs;
    const taken = (token: CachedToken, where: string): CachedToken => {
      this.#o.onSharedHit?.();
      logger.info('Access token taken from Key Vault (redeemed by another instance)', {
        trigger,
        where,
        expiresAt: iso(token.expiresAtEpochMs),
      });
      return token;
    };
    const worthReading = (refreshAtEpochMs: number | undefined) =>
      useShared && !this.#pendingWrite && refreshAtEpochMs !== undefined && this.#o.nowMs() < refreshAtEpochMs;
    if (worthReading((await this.#peek())?.sharedTokenRefreshAtEpochMs)) {
      const token = await shared!.read();
      if (fresh(token)) return taken(token, 'before the lease');
    }
    let lease = await this.#o.lease.acquire();
    this.#o.onLeaseClaim?.();
    let releaseLease = true;
    let sharedTokenRefreshAtEpochMs: number | undefined;
    try {
      const deadline = (): number => lease.leaseUntilEpochMs - this.#leaseGuardMs;
      if (worthReading(lease.sharedTokenRefreshAtEpochMs)) {
        const token = await shared!.read(deadline());
        if (fresh(token)) return taken(token, 'inside the lease');
      }
      const credentials = await this.#o.credentials.get({ deadlineEpochMs: deadline() });
      let current: SecretVersion | undefined;
      const pending = this.#pendingWrite;
      if (pending) {
        const outcome = await this.#settlePendingWrite(pending, deadline());
        if (outcome.token) return outcome.token;
        current = outcome.current;
      }
      current ??= await this.#o.redeemer.readRefreshToken(deadline());
      const redeemed = await this.#o.redeemer.redeem(credentials, current, deadline);
      const { requestedAtMs, tokens, from } = redeemed;
      const token = cachedToken(
        tokens.accessToken,
        requestedAtMs,
        requestedAtMs + Math.max(0, tokens.expiresInSeconds * 1000),
        this.#o.marginMs,
      );
      const rotated = tokens.refreshToken;
      if (rotated === undefined || rotated === from.value) {
        logger.info('Access token renewed; the refresh token was not rotated', {
          trigger,
          version: from.version,
          expiresAt: iso(token.expiresAtEpochMs),
        });
      } else {
        lease = await this.#leaseForWrite(lease);
        try {
          const written = await this.#o.secrets.write(this.#o.refreshTokenSecretName, rotated, {
            tags: { rotatedFrom: from.version },
            deadlineEpochMs: deadline(),
          });
          logger.info('Access token renewed; rotated refresh token stored as a new version', {
            trigger,
            spentVersion: from.version,
            version: written.version,
            expiresAt: iso(token.expiresAtEpochMs),
          });
        } catch (thrown) {
          // The spent version is dead: keep the new one in memory, hold the lease until it expires, and write it first next time.
          this.#pendingWrite = { refreshToken: rotated, spentVersion: from.version, token };
          releaseLease = false;
          logger.error(
            'Could not store the rotated refresh token; it is kept in memory and written before the next redemption',
            { spentVersion: from.version, reason: errorSummary(thrown) },
          );
          throw thrown;
        }
      }
      if (shared && (await shared.publish(token, requestedAtMs, deadline())))
        sharedTokenRefreshAtEpochMs = token.refreshAtEpochMs;
      return token;
    } finally {
      if (releaseLease) await this.#o.lease.release(lease, { sharedTokenRefreshAtEpochMs });
    }
  }

  /** The lease row without claiming it (sharing only); a Table failure just skips the shortcut. */
  async #peek(): Promise<{ sharedTokenRefreshAtEpochMs?: number } | undefined> {
    if (!this.#o.shared || this.#pendingWrite) return undefined;
    try {
      return await this.#o.lease.peek();
    } catch (thrown) {
      this.#o.logger.warn('Could not read the token lease row', { reason: errorSummary(thrown) });
      return undefined;
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
    const { logger } = this.#o;
    const latest = await this.#o.redeemer.readRefreshToken(deadlineEpochMs);
    if (latest.version !== pending.spentVersion) {
      this.#pendingWrite = undefined;
      logger.warn('A newer refresh token was stored meanwhile; the unsaved rotated one is dropped', {
        version: latest.version,
        spentVersion: pending.spentVersion,
      });
      return { current: latest };
    }
    const written = await this.#o.secrets.write(this.#o.refreshTokenSecretName, pending.refreshToken, {
      tags: { rotatedFrom: pending.spentVersion },
      deadlineEpochMs,
    });
    this.#pendingWrite = undefined;
    logger.info('Stored the rotated refresh token kept in memory', {
      version: written.version,
      spentVersion: pending.spentVersion,
    });
    if (this.#o.nowMs() < pending.token.refreshAtEpochMs) return { token: pending.token };
    return { current: { value: pending.refreshToken, version: written.version } };
  }

  /** Extends the lease (If-Match) when less time is left than a Key Vault write may need. */
  async #leaseForWrite(lease: HeldLease): Promise<HeldLease> {
    const { retry, leaseDurationMs } = this.#o;
    const writeBudgetMs = Math.min(
      retry.maxAttempts * (retry.attemptTimeoutMs + retry.maxDelayMs),
      leaseDurationMs / 2,
    );
    if (lease.leaseUntilEpochMs - this.#leaseGuardMs - this.#o.nowMs() >= writeBudgetMs) return lease;
    try {
      return await this.#o.lease.extend(lease);
    } catch (thrown) {
      // Writing is still right: the new refresh token is the only live one.
      this.#o.logger.error('Lost the token lease before storing the rotated refresh token; storing it anyway', {
        reason: errorSummary(thrown),
      });
      return { ...lease, leaseUntilEpochMs: this.#o.nowMs() + leaseDurationMs };
    }
  }
}
