/**
 * The access token shared by all instances (TOKEN_SHARING=keyvault): one Key Vault secret, written by
 * the lease holder right after its redemption, read by every other instance instead of redeeming.
 *
 * Secret (default name `partner-center-access-token`): value = the access token; attribute `expiresOn`
 * = its expiry; tag `issuedAt` = epoch ms the redemption was sent (for the half-lifetime cap of the
 * renewal margin). Key Vault keeps it encrypted, behind the same RBAC as the refresh token (a stronger
 * secret); it is never written to Table Storage or logs. Key Vault does not refuse to return a secret
 * past its `expiresOn` (it is informational for secrets), so the reader checks it itself.
 *
 * Cost per token lifetime: one write (the holder) and one read per other instance, instead of one
 * redemption, one refresh-token read and one refresh-token write per instance (see docs/auth.md). The
 * lease row says when a fresh one is stored (tokenRenewal.ts), so nobody reads it in vain.
 */
import type { Logger } from '../platform/logging';
import { SecretStoreError } from './errors';
import { cachedToken, errorSummary, type CachedToken } from './brokerSupport';
import type { SecretStore } from './secretStore';

/** Tag holding the redemption time (epoch ms). Not secret. */
export const ISSUED_AT_TAG = 'issuedAt';

/** Options of {@link SharedAccessToken}. */
export interface SharedAccessTokenOptions {
  secrets: SecretStore;
  secretName: string;
  /** The broker's renewal margin (a shared token is renewed as early as an own one). */
  marginMs: number;
  logger: Logger;
}

/** Reads and publishes the shared access token. Failures never fail a call: the broker redeems instead. */
export class SharedAccessToken {
  readonly #o: SharedAccessTokenOptions;

  constructor(options: SharedAccessTokenOptions) {
    this.#o = options;
  }

  /** The shared token, when one is stored and well-formed; undefined when absent or unreadable. */
  async read(deadlineEpochMs?: number): Promise<CachedToken | undefined> {
    try {
      const secret = await this.#o.secrets.read(this.#o.secretName, { deadlineEpochMs });
      const expiresAtEpochMs = secret.expiresOnEpochMs;
      const issuedAtEpochMs = Number(secret.tags?.[ISSUED_AT_TAG]);
      if (expiresAtEpochMs === undefined) return undefined; // not written by a broker: ignore it
      return cachedToken(
        secret.value,
        Number.isFinite(issuedAtEpochMs) ? issuedAtEpochMs : expiresAtEpochMs - 2 * this.#o.marginMs,
        expiresAtEpochMs,
        this.#o.marginMs,
      );
    } catch (thrown) {
      if (!(thrown instanceof SecretStoreError && thrown.code === 'SecretNotFound')) {
        this.#o.logger.warn('Could not read the shared access token; redeeming instead', {
          reason: errorSummary(thrown),
        });
      }
      return undefined;
    }
  }

  /**
   * Stores `token` (issued at `issuedAtEpochMs`) for the other instances; false (logged) when Key Vault
   * refused: the caller then does not advertise it in the lease row.
   */
  async publish(token: CachedToken, issuedAtEpochMs: number, deadlineEpochMs?: number): Promise<boolean> {
    try {
      const written = await this.#o.secrets.write(this.#o.secretName, token.accessToken, {
        expiresOnEpochMs: token.expiresAtEpochMs,
        tags: { [ISSUED_AT_TAG]: String(issuedAtEpochMs) },
        deadlineEpochMs,
      });
      this.#o.logger.info('Shared the access token with the other instances through Key Vault', {
        version: written.version,
        expiresAt: new Date(token.expiresAtEpochMs).toISOString(),
      });
      return true;
    } catch (thrown) {
      this.#o.logger.warn('Could not share the access token; the other instances will redeem their own', {
        reason: errorSummary(thrown),
      });
      return false;
    }
  }
}
