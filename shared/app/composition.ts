/**
 * The composition root: builds every long-lived client once per process, from settings.
 *
 * Heavy SDKs (@azure/identity, @azure/keyvault-secrets, @azure/data-tables, @azure/storage-queue) are
 * loaded here on first use, not when a function module is loaded, to keep cold starts short. Tests
 * and the sandbox pass overrides through {@link buildAppServices}.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../platform/config';
import type { Logger } from '../platform/logging';
import type { JsonQueueSender } from '../platform/storageClients';
import type { ReferralWorkflow } from '../workflow/referralWorkflow';
import type { Sweeper } from '../workflow/sweeper';
import type { Retention } from '../tracking/retention';
import type { TrackingStore } from '../tracking/trackingStore';
import type { PartnerCenterClient } from '../partner-center/partnerCenterClient';
import type { TokenBroker } from '../auth';
import type { EventReceiver } from '../events/receiveEvent';
import { SYNC_QUEUE_NAME } from '../events/constants';

/** Everything the function edges use. */
export interface AppServices {
  settings: Settings;
  logger: Logger;
  workflow: ReferralWorkflow;
  sweeper: Sweeper;
  /** The retention timer's use case (deletes closed records older than TRACKING_RETENTION_DAYS). */
  retention: Retention;
  store: TrackingStore;
  partnerCenter: PartnerCenterClient;
  tokenBroker: TokenBroker;
  queues: { submit: JsonQueueSender; link: JsonQueueSender; sync: JsonQueueSender };
  /** The Partner Center event receiver (verify → parse → enqueue on `referral-sync`), built on first use. */
  eventReceiver(): EventReceiver;
}

/** Optional replacements for the real dependencies. */
export interface AppServiceOverrides {
  credential?: TokenCredential;
  logger?: Logger;
}

let cached: AppServices | undefined;
let cachedSettings: Settings | undefined;

/**
 * The process-wide settings, parsed and checked once from `process.env` on first call (zod loads then,
 * not at cold start). Throws a ConfigError naming every missing or malformed setting.
 */
export function getSettings(): Settings {
  if (!cachedSettings) {
    const { loadSettings } = require('../platform/config') as typeof import('../platform/config');
    cachedSettings = loadSettings();
  }
  return cachedSettings;
}

/**
 * The process-wide services, built on first call from `process.env`. Throws a ConfigError naming
 * every missing or malformed setting.
 */
export function getAppServices(): AppServices {
  cached ??= buildAppServices(getSettings());
  return cached;
}

/** Builds a fresh set of services (tests, benchmarks). */
export function buildAppServices(settings: Settings, overrides: AppServiceOverrides = {}): AppServices {
  const { createLogger } = require('../platform/logging') as typeof import('../platform/logging');
  const { createQueueClient, createTableClient, JsonQueueSender } =
    require('../platform/storageClients') as typeof import('../platform/storageClients');
  const { LINK_QUEUE_NAME, SUBMIT_QUEUE_NAME } =
    require('../workflow/constants') as typeof import('../workflow/constants');
  const logger =
    overrides.logger ?? createLogger({ minLevel: settings.LOG_LEVEL, fields: { app: 'cosell-referral-bridge' } });
  guardUnhandledRejections(logger);
  let credential = overrides.credential;
  const lazyCredential = (): TokenCredential => {
    if (!credential) {
      const { createDefaultCredential } =
        require('../auth/defaultCredential') as typeof import('../auth/defaultCredential');
      credential = createDefaultCredential({ disableInstanceDiscovery: settings.AZURE_DISABLE_INSTANCE_DISCOVERY });
    }
    return credential;
  };
  const needsCredential = !settings.AzureWebJobsStorage;
  const table = createTableClient(
    settings,
    settings.REFERRALS_TABLE_NAME,
    needsCredential ? lazyCredential() : undefined,
  );

  const { TrackingStore: Store } = require('../tracking/trackingStore') as typeof import('../tracking/trackingStore');
  const { PartnerCenterClient: Client } =
    require('../partner-center/partnerCenterClient') as typeof import('../partner-center/partnerCenterClient');
  const { createTokenBrokerFromSettings } = require('../auth') as typeof import('../auth');
  const { ReferralWorkflow: Workflow } =
    require('../workflow/referralWorkflow') as typeof import('../workflow/referralWorkflow');
  const { Sweeper: SweeperClass } = require('../workflow/sweeper') as typeof import('../workflow/sweeper');
  const { CallbackNotifier } = require('../workflow/callbackNotifier') as typeof import('../workflow/callbackNotifier');

  const store = new Store({ table });
  const tokenBroker = createTokenBrokerFromSettings(settings, {
    credential: lazyCredential(),
    logger,
    tableClient: table,
  });
  const partnerCenter = new Client({
    baseUrl: settings.PARTNER_CENTER_BASE_URL,
    tokens: tokenBroker,
    concurrency: settings.PARTNER_CENTER_CONCURRENCY,
    timeoutMs: settings.PARTNER_CENTER_TIMEOUT_MS,
    maxAttempts: settings.PARTNER_CENTER_MAX_ATTEMPTS,
    logger,
  });
  const queueCredential = needsCredential ? lazyCredential() : undefined;
  const queues = {
    submit: new JsonQueueSender(createQueueClient(settings, SUBMIT_QUEUE_NAME, queueCredential)),
    link: new JsonQueueSender(createQueueClient(settings, LINK_QUEUE_NAME, queueCredential)),
    sync: new JsonQueueSender(createQueueClient(settings, SYNC_QUEUE_NAME, queueCredential)),
  };
  let receiver: EventReceiver | undefined;
  // Built on the first delivery: it parses Node's root store and loads zod, which other functions need not pay for.
  const eventReceiver = (): EventReceiver => {
    if (!receiver) {
      const { createEventReceiver } =
        require('../events/createEventReceiver') as typeof import('../events/createEventReceiver');
      receiver = createEventReceiver(settings, { queue: queues.sync });
    }
    return receiver;
  };
  // Callback links are absolute, like HTTP answers: PUBLIC_BASE_URL, else the origin of the HTTP request that
  // created the record, else the app's own host name (WEBSITE_HOSTNAME, set by the Functions platform).
  const configuredBase = settings.PUBLIC_BASE_URL?.replace(/\/+$/, '');
  const hostName = process.env.WEBSITE_HOSTNAME;
  const platformBase = hostName
    ? `${/^(localhost|127\.0\.0\.1)(:|$)/.test(hostName) ? 'http' : 'https'}://${hostName}`
    : '';
  const workflow = new Workflow({
    store,
    partnerCenter,
    submitQueue: queues.submit,
    linkQueue: queues.link,
    logger,
    callbacks: new CallbackNotifier({ allowPrivateTargets: settings.CALLBACK_ALLOW_PRIVATE_TARGETS, logger }),
    statusUrlFor: (trackingId, requestBaseUrl) =>
      `${configuredBase ?? requestBaseUrl ?? platformBase}/api/referrals/${trackingId}`,
    allowUnknownFields: settings.REFERRAL_ALLOW_UNKNOWN_FIELDS,
    allowInsecureCallback: settings.CALLBACK_ALLOW_PRIVATE_TARGETS,
    allowPrivateCallbackTargets: settings.CALLBACK_ALLOW_PRIVATE_TARGETS,
    leaseDurationMs:
      settings.STEP_LEASE_SECONDS > 0
        ? settings.STEP_LEASE_SECONDS * 1000
        : (settings.PARTNER_CENTER_TIMEOUT_MS + 30_000) * settings.PARTNER_CENTER_MAX_ATTEMPTS, // each attempt + its longest backoff
    linkAdoptLookup: settings.LINK_ADOPT_LOOKUP,
    linkMode: settings.LINK_MODE,
  });
  const sweeper = new SweeperClass({
    records: store,
    queues: { [SUBMIT_QUEUE_NAME]: queues.submit, [LINK_QUEUE_NAME]: queues.link },
    callbacks: workflow.callbacks,
    tokens: tokenBroker,
    staleAfterMs: settings.SWEEPER_STALE_AFTER_SECONDS * 1000,
    logger,
  });
  const { Retention: RetentionClass } = require('../tracking/retention') as typeof import('../tracking/retention');
  const retention = new RetentionClass({ records: store, retentionDays: settings.TRACKING_RETENTION_DAYS, logger });
  return { settings, logger, workflow, sweeper, retention, store, partnerCenter, tokenBroker, queues, eventReceiver };
}

let rejectionGuardInstalled = false;

/**
 * The Azure SDK's Key Vault token cache refreshes in the background and does not catch a failure of
 * that refresh; an unhandled rejection would end the worker process. Log such rejections instead
 * (the next call that needs the token retries, with its own error handling).
 */
function guardUnhandledRejections(logger: Logger): void {
  if (rejectionGuardInstalled) return;
  rejectionGuardInstalled = true;
  process.on('unhandledRejection', (reason: unknown) => {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    logger.error('Unhandled promise rejection (logged, not fatal)', {
      error: { name: error.name, message: error.message },
    });
  });
}

/** Forgets the cached services (tests). */
export function resetAppServices(): void {
  cached = undefined;
  cachedSettings = undefined;
}
