/**
 * Redeems the refresh token kept in Key Vault at the token endpoint, recovering from what can be
 * recovered: `invalid_client` re-reads the client id and secret once; `invalid_grant` /
 * `interaction_required` re-reads the refresh token once and retries only if another instance stored a
 * newer version meanwhile; otherwise {@link ReauthorizationRequiredError}.
 */
import { recordRedemption } from '../platform/metrics';
import type { Logger } from '../platform/logging';
import { OAuthError } from './constants';
import { ReauthorizationRequiredError, SecretStoreError, TokenEndpointError } from './errors';
import type { AppCredentials, ClientCredentials } from './appCredentials';
import type { SecretStore, SecretVersion } from './secretStore';
import type { RedeemedTokens, TokenEndpoint } from './tokenEndpoint';

/** Options of {@link RefreshTokenRedeemer}. */
export interface RefreshTokenRedeemerOptions {
  secrets: SecretStore;
  credentials: AppCredentials;
  endpoint: TokenEndpoint;
  refreshTokenSecretName: string;
  /** Token audience. */
  resource: string;
  nowMs: () => number;
  logger: Logger;
}

/** What a redemption gave: the tokens, the refresh token version spent, and when it was sent. */
export interface Redemption {
  tokens: RedeemedTokens;
  from: SecretVersion;
  requestedAtMs: number;
}

/** Reads and redeems the refresh token. */
export class RefreshTokenRedeemer {
  readonly #o: RefreshTokenRedeemerOptions;

  constructor(options: RefreshTokenRedeemerOptions) {
    this.#o = options;
  }

  /** The latest refresh token version; an absent secret means nobody has signed in yet. */
  async readRefreshToken(deadlineEpochMs?: number): Promise<SecretVersion> {
    const name = this.#o.refreshTokenSecretName;
    try {
      return await this.#o.secrets.read(name, { deadlineEpochMs });
    } catch (thrown) {
      if (thrown instanceof SecretStoreError && thrown.code === 'SecretNotFound') {
        throw new ReauthorizationRequiredError(
          `No refresh token is stored in Key Vault secret '${name}': sign in with npm run auth:consent`,
          { cause: thrown, reason: 'secretNotFound' },
        );
      }
      throw thrown;
    }
  }

  /** Redeems `current` (see the module comment for the recovery). */
  async redeem(credentials: ClientCredentials, current: SecretVersion, deadline: () => number): Promise<Redemption> {
    const { endpoint, logger } = this.#o;
    let creds = credentials;
    let from = current;
    let reloadedCredentials = false;
    let rereadRefreshToken = false;
    for (;;) {
      const requestedAtMs = this.#o.nowMs();
      try {
        const tokens = await endpoint.redeemRefreshToken(
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
          logger.warn('Token endpoint answered invalid_client: re-reading the client id and secret', {
            aadsts: thrown.aadstsCodes,
          });
          creds = await this.#o.credentials.get({ reload: true, deadlineEpochMs: deadline() });
          continue;
        }
        if (thrown.oauthError === OAuthError.invalidGrant || thrown.oauthError === OAuthError.interactionRequired) {
          if (!rereadRefreshToken) {
            rereadRefreshToken = true;
            const latest = await this.readRefreshToken(deadline());
            if (latest.version !== from.version) {
              logger.warn('Refresh token refused, but a newer version was stored meanwhile: retrying with it', {
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
}
