/**
 * The composition root: builds every long-lived client once per process, from settings.
 *
 * Heavy SDKs (@azure/identity, @azure/keyvault-secrets, @azure/data-tables, @azure/storage-queue) are
 * loaded here on first use, not when a function module is loaded, to keep cold starts short. Tests
 * and the sandbox pass overrides through {@link buildAppServices}.
 */
import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../platform/config';
import type { Logger } from '../platform/logging';
import type { JsonQueueSender } from '../platform/storageClients';
import type { ReferralWorkflow } from '../workflow/referralWorkflow';
import type { Sweeper } from '../workflow/sweeper';
import type { Retention } from '../tracking/retention';
import type { PartnerCenterClient } from '../partner-center/partnerCenterClient';
import type { TokenBroker } from '../auth';
import type { EventReceiver } from '../events/receiveEvent';
import type { CoSellUpgrade } from '../workflow/upgrade';
import type { EventsHealth } from '../events/eventsHealth';
import type { ReferralUpdates } from '../update/referralUpdates';
import type { SyncServices } from '../sync/createSyncServices';
import { SYNC_QUEUE_NAME } from '../events/constants';
import type { ListingServices } from '../listing/listingServices';
import type { TrackingRecordsLike } from '../listing/indexedTrackingRecords';
import { lazy, lazyModule } from '../platform/lazy';
import { guardUnhandledRejections } from './processGuards';
import { statusUrlBuilder, stepLeaseDurationMs } from './derivedSettings';
import type * as ConfigModule from '../platform/config';
import type * as LoggingModule from '../platform/logging';
import type * as StorageClientsModule from '../platform/storageClients';
import type * as WorkflowConstantsModule from '../workflow/constants';
import type * as DefaultCredentialModule from '../auth/defaultCredential';
import type * as TrackingStoreModule from '../tracking/trackingStore';
import type * as PartnerCenterClientModule from '../partner-center/partnerCenterClient';
import type * as AuthModule from '../auth';
import type * as ReferralWorkflowModule from '../workflow/referralWorkflow';
import type * as SweeperModule from '../workflow/sweeper';
import type * as CallbackNotifierModule from '../workflow/callbackNotifier';
import type * as ListingServicesModule from '../listing/listingServices';
import type * as UpgradeModule from '../workflow/upgrade';
import type * as ReferralUpdatesModule from '../update/referralUpdates';
import type * as TableChangeStoreModule from '../update/tableChangeStore';
import type * as ChangeSweepModule from '../update/changeSweep';
import type * as EventsHealthModule from '../events/eventsHealthFromSettings';
import type * as CreateEventReceiverModule from '../events/createEventReceiver';
import type * as CreateSyncServicesModule from '../sync/createSyncServices';
import type * as ThrottleGateModule from '../partner-center/throttleGate';
import type * as RetentionModule from '../tracking/retention';

// Loaded on the first call that needs them (the first invocation), not when a function module loads.
const config = lazyModule<typeof ConfigModule>(require, '../platform/config');
const logging = lazyModule<typeof LoggingModule>(require, '../platform/logging');
const storageClients = lazyModule<typeof StorageClientsModule>(require, '../platform/storageClients');
const workflowConstants = lazyModule<typeof WorkflowConstantsModule>(require, '../workflow/constants');
const defaultCredential = lazyModule<typeof DefaultCredentialModule>(require, '../auth/defaultCredential');
const trackingStore = lazyModule<typeof TrackingStoreModule>(require, '../tracking/trackingStore');
const partnerCenterClient = lazyModule<typeof PartnerCenterClientModule>(
  require,
  '../partner-center/partnerCenterClient',
);
const auth = lazyModule<typeof AuthModule>(require, '../auth');
const referralWorkflow = lazyModule<typeof ReferralWorkflowModule>(require, '../workflow/referralWorkflow');
const sweeperModule = lazyModule<typeof SweeperModule>(require, '../workflow/sweeper');
const callbackNotifierModule = lazyModule<typeof CallbackNotifierModule>(require, '../workflow/callbackNotifier');
const listingServices = lazyModule<typeof ListingServicesModule>(require, '../listing/listingServices');
const upgradeModule = lazyModule<typeof UpgradeModule>(require, '../workflow/upgrade');
const referralUpdatesModule = lazyModule<typeof ReferralUpdatesModule>(require, '../update/referralUpdates');
const tableChangeStoreModule = lazyModule<typeof TableChangeStoreModule>(require, '../update/tableChangeStore');
const changeSweepModule = lazyModule<typeof ChangeSweepModule>(require, '../update/changeSweep');
const eventsHealthModule = lazyModule<typeof EventsHealthModule>(require, '../events/eventsHealthFromSettings');
const createEventReceiverModule = lazyModule<typeof CreateEventReceiverModule>(
  require,
  '../events/createEventReceiver',
);
const createSyncServicesModule = lazyModule<typeof CreateSyncServicesModule>(require, '../sync/createSyncServices');
const throttleGate = lazyModule<typeof ThrottleGateModule>(require, '../partner-center/throttleGate');
const retentionModule = lazyModule<typeof RetentionModule>(require, '../tracking/retention');

/** Everything the function edges use. */
export interface AppServices {
  settings: Settings;
  logger: Logger;
  workflow: ReferralWorkflow;
  sweeper: Sweeper;
  /** The retention timer's use case (deletes closed records older than TRACKING_RETENTION_DAYS). */
  retention: Retention;
  store: TrackingRecordsLike;
  partnerCenter: PartnerCenterClient;
  tokenBroker: TokenBroker;
  queues: {
    submit: JsonQueueSender;
    link: JsonQueueSender;
    sync: JsonQueueSender;
    events: JsonQueueSender;
    update: JsonQueueSender;
  };
  /** Changes to existing referrals (PATCH /api/referrals/{trackingId}, queue `referral-update`). */
  updates: ReferralUpdates;
  /** The Partner Center event receiver (verify → parse → enqueue on `referral-sync`), built on first use. */
  eventReceiver(): EventReceiver;
  /** The referral list, the console's status and summary (issue 16). */
  listing: ListingServices;
  /** The co-sell upgrade (POST /api/referrals/{trackingId}/co-sell), built on first use. */
  coSellUpgrade(): CoSellUpgrade;
  /** Last-event time and registration drift of the events edge (docs/events.md "Health"), built on first use. */
  eventsHealth(): EventsHealth;
  /**
   * The apply path (`applier.apply(trackingId, { partner, microsoft?, source: 'us' })` for the update
   * flow), the `referral-sync` consumer and the reconciliation (shared/sync/), built on first use.
   */
  sync(): SyncServices;
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
    cachedSettings = config().loadSettings();
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
  const { createLogger } = logging();
  const { createQueueClient, createTableClient, JsonQueueSender } = storageClients();
  const { EVENTS_QUEUE_NAME, LINK_QUEUE_NAME, SUBMIT_QUEUE_NAME, UPDATE_QUEUE_NAME } = workflowConstants();
  const logger =
    overrides.logger ?? createLogger({ minLevel: settings.LOG_LEVEL, fields: { app: 'cosell-referral-bridge' } });
  guardUnhandledRejections(logger);
  let credential = overrides.credential;
  const lazyCredential = (): TokenCredential => {
    if (!credential) {
      const { createDefaultCredential } = defaultCredential();
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

  const { TrackingStore: Store } = trackingStore();
  const { PartnerCenterClient: Client } = partnerCenterClient();
  const { createTokenBrokerFromSettings } = auth();
  const { ReferralWorkflow: Workflow } = referralWorkflow();
  const { Sweeper: SweeperClass } = sweeperModule();
  const { CallbackNotifier } = callbackNotifierModule();

  // Listing (issue 16): the store behind the referral-index decorator.
  const { buildListingServices } = listingServices();
  const listing = buildListingServices({
    settings,
    logger,
    credential: lazyCredential,
    needsStorageCredential: needsCredential,
    createRecords: (nowMs, companionsOf) => new Store({ table, nowMs, companionsOf }),
  });
  const store = listing.records;
  const tokenBroker = createTokenBrokerFromSettings(settings, {
    credential: lazyCredential(),
    logger,
    tableClient: table,
  });
  const partnerCenter = new Client({
    baseUrl: settings.PARTNER_CENTER_BASE_URL,
    tokens: tokenBroker,
    concurrency: settings.PARTNER_CENTER_CONCURRENCY,
    limiter: throttleGate().createPartnerCenterLimiter(settings, { table, logger }),
    timeoutMs: settings.PARTNER_CENTER_TIMEOUT_MS,
    maxAttempts: settings.PARTNER_CENTER_MAX_ATTEMPTS,
    logger,
  });
  const queueCredential = needsCredential ? lazyCredential() : undefined;
  const queues = {
    submit: new JsonQueueSender(createQueueClient(settings, SUBMIT_QUEUE_NAME, queueCredential)),
    link: new JsonQueueSender(createQueueClient(settings, LINK_QUEUE_NAME, queueCredential)),
    sync: new JsonQueueSender(createQueueClient(settings, SYNC_QUEUE_NAME, queueCredential)),
    events: new JsonQueueSender(createQueueClient(settings, EVENTS_QUEUE_NAME, queueCredential)),
    update: new JsonQueueSender(createQueueClient(settings, UPDATE_QUEUE_NAME, queueCredential)),
  };
  // Built on the first delivery: it parses Node's root store and loads zod, which other functions need not pay for.
  const eventReceiver = lazy((): EventReceiver =>
    createEventReceiverModule().createEventReceiver(settings, { queue: queues.sync }),
  );
  const eventsHealth = lazy((): EventsHealth =>
    eventsHealthModule().createEventsHealthFromSettings(settings, { credential: lazyCredential, logger, table }),
  );
  const instanceId = randomUUID();
  const leaseDurationMs = stepLeaseDurationMs(settings);
  const callbackNotifier = new CallbackNotifier({
    allowPrivateTargets: settings.CALLBACK_ALLOW_PRIVATE_TARGETS,
    logger,
  });
  const statusUrlFor = statusUrlBuilder(settings, process.env.WEBSITE_HOSTNAME);
  const sync = lazy((): SyncServices =>
    createSyncServicesModule().createSyncServices(settings, {
      records: store,
      partnerCenter,
      queue: queues.events,
      callbacks: callbackNotifier,
      table,
      statusUrlFor,
      logger,
    }),
  );
  const workflow = new Workflow({
    store,
    partnerCenter,
    submitQueue: queues.submit,
    linkQueue: queues.link,
    logger,
    callbacks: callbackNotifier,
    statusUrlFor,
    allowUnknownFields: settings.REFERRAL_ALLOW_UNKNOWN_FIELDS,
    allowInsecureCallback: settings.CALLBACK_ALLOW_PRIVATE_TARGETS,
    allowPrivateCallbackTargets: settings.CALLBACK_ALLOW_PRIVATE_TARGETS,
    leaseDurationMs,
    instanceId,
    linkAdoptLookup: settings.LINK_ADOPT_LOOKUP,
    linkMode: settings.LINK_MODE,
  });
  const { ReferralUpdates: Updates } = referralUpdatesModule();
  const { TableChangeStore } = tableChangeStoreModule();
  const { ChangeSweep } = changeSweepModule();
  const changeStore = new TableChangeStore({ table });
  const updates = new Updates({
    records: store,
    changes: changeStore,
    partnerCenter,
    queue: queues.update,
    // Its own instance id: concurrent changes in one process must not take each other's lease for their own.
    lease: { instanceId: randomUUID(), leaseDurationMs, nowMs: Date.now },
    logger,
  });
  const sweeper = new SweeperClass({
    records: store,
    queues: { [SUBMIT_QUEUE_NAME]: queues.submit, [LINK_QUEUE_NAME]: queues.link },
    callbacks: workflow.callbacks,
    tokens: tokenBroker,
    staleAfterMs: settings.SWEEPER_STALE_AFTER_SECONDS * 1000,
    logger,
    outbox: { flush: (record) => sync().applier.flush(record) },
    openWork: [new ChangeSweep({ changes: changeStore, queue: queues.update, logger })],
  });
  const coSellUpgrade = lazy(
    (): CoSellUpgrade =>
      new (upgradeModule().CoSellUpgrade)({
        records: store,
        runner: workflow.steps,
        partnerCenter,
        logger,
        lease: { instanceId, leaseDurationMs, nowMs: Date.now },
        linkInline: settings.LINK_MODE === 'inline',
        privateUpgrade: settings.COSELL_UPGRADE_PRIVATE,
      }),
  );
  const { Retention: RetentionClass } = retentionModule();
  const retention = new RetentionClass({ records: store, retentionDays: settings.TRACKING_RETENTION_DAYS, logger });
  return {
    retention,
    settings,
    logger,
    workflow,
    sweeper,
    store,
    partnerCenter,
    tokenBroker,
    queues,
    eventReceiver,
    listing,
    coSellUpgrade,
    eventsHealth,
    sync,
    updates,
  };
}

/** Forgets the cached services (tests). */
export function resetAppServices(): void {
  cached = undefined;
  cachedSettings = undefined;
}
