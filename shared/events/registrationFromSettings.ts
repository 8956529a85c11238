/**
 * The Webhook API client built from the app's settings, for the CLI (`npm run events:register`), the
 * sandbox launcher and /api/health.
 *
 * Tokens: the app's own token broker, a second instance whose `resource` is PARTNER_CENTER_WEBHOOK_RESOURCE.
 * It redeems the same Secure Application Model refresh token (a v1 `refresh_token` grant may name any
 * resource the app is consented for) under the same Table lease, re-reading the latest Key Vault version
 * inside it, so the two brokers never spend the same refresh token twice. Each redemption rotates the
 * refresh token like the referrals broker's: one more redemption per token lifetime, and only when a
 * registration call or a health check needs a token. The token is App+User, which the Webhook API
 * accepts [V, 2023 copy of the reference].
 */
import type { Agent as HttpsAgent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import type { TableClient } from '@azure/data-tables';
import type { Settings } from '../platform/config';
import type { Logger } from '../platform/logging';
import type { AccessTokenProvider, FetchLike } from '../auth/types';
import { createTokenBrokerFromSettings } from '../auth/createTokenBrokerFromSettings';
import { WebhookRegistrationClient } from './webhookApiClient';

/** Optional replacements of what {@link createWebhookTokenProvider} and the client build. */
export interface WebhookClientDeps {
  /** Credential for Key Vault (DefaultAzureCredential by default). */
  credential?: TokenCredential;
  logger?: Logger;
  /** The `referrals` table (lease row). @default built from AzureWebJobsStorage */
  tableClient?: TableClient;
  /** Agent trusting the sandbox CA for Key Vault, Entra and an https Webhook API. */
  httpsAgent?: HttpsAgent;
  fetch?: FetchLike;
  /** A token provider instead of the broker (tests). */
  tokens?: AccessTokenProvider;
}

/** A token broker for the Webhook API's audience (see the file comment). */
export function createWebhookTokenProvider(settings: Settings, deps: WebhookClientDeps = {}): AccessTokenProvider {
  return createTokenBrokerFromSettings(settings, {
    ...(deps.credential ? { credential: deps.credential } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.tableClient ? { tableClient: deps.tableClient } : {}),
    ...(deps.httpsAgent ? { httpsAgent: deps.httpsAgent } : {}),
    overrides: { resource: settings.PARTNER_CENTER_WEBHOOK_RESOURCE },
  });
}

/** The Webhook API client at PARTNER_CENTER_WEBHOOK_API_URL with webhook-audience tokens. */
export function createWebhookRegistrationClient(
  settings: Settings,
  deps: WebhookClientDeps = {},
): WebhookRegistrationClient {
  return new WebhookRegistrationClient({
    baseUrl: settings.PARTNER_CENTER_WEBHOOK_API_URL,
    tokens: deps.tokens ?? createWebhookTokenProvider(settings, deps),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.httpsAgent ? { httpsAgent: deps.httpsAgent } : {}),
  });
}
