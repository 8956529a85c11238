/**
 * The app's client id and secret from Key Vault: read once per process, again after `invalid_client`.
 */
import type { Logger } from '../platform/logging';
import { CLIENT_ID_TAG } from './constants';
import type { SecretStore } from './secretStore';

/** The app registration's credentials (never logged). */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** Options of {@link AppCredentials}. */
export interface AppCredentialsOptions {
  secrets: SecretStore;
  secretNames: { clientId: string; clientSecret: string };
  logger: Logger;
}

/** Caches the client id and secret for the life of the process (a failed read is not cached). */
export class AppCredentials {
  readonly #o: AppCredentialsOptions;
  #credentials: Promise<ClientCredentials> | undefined;

  constructor(options: AppCredentialsOptions) {
    this.#o = options;
  }

  /**
   * Client id and secret. The client id comes from the client secret's `clientId` tag when it has one
   * (one Key Vault read fewer), else from its own secret. `reload` re-reads both (after invalid_client).
   */
  get(options: { reload?: boolean; deadlineEpochMs?: number } = {}): Promise<ClientCredentials> {
    if (options.reload) this.#credentials = undefined;
    const { secrets, secretNames, logger } = this.#o;
    this.#credentials ??= (async () => {
      const clientSecret = await secrets.read(secretNames.clientSecret, { deadlineEpochMs: options.deadlineEpochMs });
      const taggedClientId = clientSecret.tags?.[CLIENT_ID_TAG]?.trim();
      const clientId = taggedClientId
        ? { value: taggedClientId, version: `tag of ${clientSecret.version}` }
        : await secrets.read(secretNames.clientId, { deadlineEpochMs: options.deadlineEpochMs });
      logger.info('Read the app credentials from Key Vault', {
        clientIdVersion: clientId.version,
        credentialVersion: clientSecret.version,
      });
      return { clientId: clientId.value.trim(), clientSecret: clientSecret.value };
    })().catch((error: unknown) => {
      this.#credentials = undefined;
      throw error;
    });
    return this.#credentials;
  }
}
