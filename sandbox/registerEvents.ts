/**
 * The sandbox launcher registers the app's events URL the way an operator does with
 * `npm run events:register`: the same library (shared/events/registration.ts), the app's own settings,
 * a token for the Webhook API audience from the token broker (refresh token in the Key Vault stand-in,
 * redeemed at the Entra stand-in), over the simulator's Webhook API. The launcher owns the simulator, so
 * it overwrites another URL without asking.
 */
import https from 'node:https';
import tls from 'node:tls';
import type { TokenCredential } from '@azure/core-auth';
import { ClientSecretCredential } from '@azure/identity';
import { loadSettings } from '../shared/platform/config';
import { createTableClient } from '../shared/platform/storageClients';
import { createLogger } from '../shared/platform/logging';
import { REGISTERED_EVENT_NAMES, registerEvents, type RegisterEventsResult } from '../shared/events/registration';
import { createWebhookRegistrationClient } from '../shared/events/registrationFromSettings';
import { EventsStateStore } from '../shared/events/eventsHealth';

/** Route of the events edge (functions/partnerCenterEvents.ts). */
export const EVENTS_ROUTE = '/api/partner-center/events';

/** Options of {@link registerSandboxEvents}. */
export interface RegisterSandboxEventsOptions {
  /** The settings the app runs with (the sandbox's). */
  appSettings: Record<string, string>;
  /** The sandbox CA (Entra and Key Vault stand-ins are TLS). */
  caPem: string;
  /** The events URL to register (`?code=` included when the host uses keys). */
  webhookUrl: string;
  print?: (line: string) => void;
}

/** Registers `webhookUrl` for every event and records it for /api/health; answers what was done. */
export async function registerSandboxEvents(options: RegisterSandboxEventsOptions): Promise<RegisterEventsResult> {
  const settings = loadSettings(options.appSettings);
  const httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, options.caPem], keepAlive: false });
  const app = options.appSettings;
  // The app's identity (EnvironmentCredential in the host); this process has no AZURE_* environment.
  const credential: TokenCredential = new ClientSecretCredential(
    app.AZURE_TENANT_ID,
    app.AZURE_CLIENT_ID,
    app.AZURE_CLIENT_SECRET,
    { authorityHost: app.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true, agent: httpsAgent },
  );
  const tableClient = createTableClient(settings, settings.REFERRALS_TABLE_NAME);
  const client = createWebhookRegistrationClient(settings, {
    credential,
    httpsAgent,
    tableClient,
    logger: createLogger({ minLevel: 'warn', fields: { component: 'sandbox-events-registration' } }),
  });
  const result = await registerEvents({
    client,
    webhookUrl: options.webhookUrl,
    events: REGISTERED_EVENT_NAMES,
    confirmOverwrite: () => Promise.resolve(true),
    ...(options.print ? { print: options.print } : {}),
  });
  await new EventsStateStore(tableClient).recordRegistration(options.webhookUrl, REGISTERED_EVENT_NAMES);
  return result;
}
