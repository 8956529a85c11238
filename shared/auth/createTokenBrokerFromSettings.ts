/**
 * Builds the real {@link TokenBroker} from settings: `DefaultAzureCredential` (managed identity in Azure,
 * developer credentials or the sandbox's EnvironmentCredential locally), a `SecretClient` for
 * KEY_VAULT_URL and the `referrals` table for the lease. Call it once per process (the composition root
 * does) so that the credential's and the broker's caches live as long as the process.
 */
import type { Agent as HttpsAgent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { TableClient } from '@azure/data-tables';
import type { Settings } from '../platform/config';
import type { Logger } from '../platform/logging';
import { createTableClient } from '../platform/storageClients';
import { createDefaultCredential } from './defaultCredential';
import { TokenBroker } from './tokenBroker';
import type { BrokerHealth, TokenBrokerOptions } from './types';
import { lazyModule } from '../platform/lazy';
import type * as KeyVaultSecretsModule from '@azure/keyvault-secrets';

// Loaded on first use, not at module load: cold starts stay short (see shared/app/composition.ts).
const keyVaultSecrets = lazyModule<typeof KeyVaultSecretsModule>(require, '@azure/keyvault-secrets');

/** Optional replacements for what the factory builds. */
export interface TokenBrokerFactoryDeps {
  /** @default createDefaultCredential() (DefaultAzureCredential, AZURE_DISABLE_INSTANCE_DISCOVERY applied) */
  credential?: TokenCredential;
  logger?: Logger;
  /** The `referrals` table (the composition root shares its client). @default built from AzureWebJobsStorage */
  tableClient?: TableClient;
  /** Agent for Key Vault and token endpoint calls (tests trusting the sandbox CA in-process). */
  httpsAgent?: HttpsAgent;
  onStateChange?: (health: BrokerHealth) => void;
  /** Any other broker option (clock, instanceId, leaseDurationMs...). */
  overrides?: Partial<Omit<TokenBrokerOptions, 'secretClient' | 'leaseTable'>>;
}

/**
 * The process's token broker, built from `settings`.
 *
 * @example
 * const broker = createTokenBrokerFromSettings(loadSettings(), { logger });
 */
export function createTokenBrokerFromSettings(settings: Settings, deps: TokenBrokerFactoryDeps = {}): TokenBroker {
  const { SecretClient } = keyVaultSecrets();
  const credential =
    deps.credential ??
    createDefaultCredential({
      disableInstanceDiscovery: settings.AZURE_DISABLE_INSTANCE_DISCOVERY,
      httpsAgent: deps.httpsAgent,
    });
  const secretClient = new SecretClient(settings.KEY_VAULT_URL, credential, {
    // The broker retries (bounded, Retry-After, deadline inside the lease); SDK retries would multiply them.
    retryOptions: { maxRetries: 0 },
    ...(deps.httpsAgent ? { agent: deps.httpsAgent } : {}),
  });
  const leaseTable =
    deps.tableClient ??
    createTableClient(settings, settings.REFERRALS_TABLE_NAME, settings.AzureWebJobsStorage ? undefined : credential);
  return new TokenBroker({
    secretClient,
    leaseTable,
    tokenEndpoint: { authorityHost: settings.ENTRA_AUTHORITY_HOST, tenantId: settings.ENTRA_TENANT_ID },
    resource: settings.PARTNER_CENTER_RESOURCE,
    secretNames: {
      clientId: settings.KEY_VAULT_CLIENT_ID_SECRET_NAME,
      clientSecret: settings.KEY_VAULT_CLIENT_SECRET_SECRET_NAME,
      refreshToken: settings.KEY_VAULT_REFRESH_TOKEN_SECRET_NAME,
    },
    ...(settings.TOKEN_SHARING === 'keyvault'
      ? { sharedAccessTokenSecretName: settings.KEY_VAULT_ACCESS_TOKEN_SECRET_NAME }
      : {}),
    expiryMarginSeconds: settings.TOKEN_EXPIRY_MARGIN_SECONDS,
    recheckIntervalMs: settings.TOKEN_REAUTH_RECHECK_SECONDS * 1000,
    logger: deps.logger,
    httpsAgent: deps.httpsAgent,
    onStateChange: deps.onStateChange,
    ...deps.overrides,
  });
}
