/**
 * Builds the listing module's long-lived objects once per process (called by the composition root):
 * the referral index, the decorated tracking-record store, the lister, the summary (cached briefly),
 * the console status reader and the console's files.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { SecretClient } from '@azure/keyvault-secrets';
import type { Settings } from '../platform/config';
import type { Logger } from '../platform/logging';
import { createQueueClient, createTableClient } from '../platform/storageClients';
import { ConsoleAssets } from './consoleAssets';
import { ConsoleStatusReader } from './consoleStatus';
import { CreationClock } from './creationClock';
import type { TrackingRecord } from '../tracking/trackingRecord';
import type { CompanionRow } from '../tracking/trackingRecords';
import { IndexedTrackingRecords, listEntryRowsOf, type TrackingRecordsLike } from './indexedTrackingRecords';
import { ReferralLister } from './listReferrals';
import type { QueueClientFactory } from './poisonQueues';
import { ReferralIndex } from './referralIndex';
import { summarise, type ConsoleSummary } from './summary';

/** What the list, summary and console edges use. */
export interface ListingServices {
  /** The tracking-record store with the index kept beside it: give this to the workflow and the sweeper. */
  records: IndexedTrackingRecords;
  index: ReferralIndex;
  lister: ReferralLister;
  status: ConsoleStatusReader;
  queueFor: QueueClientFactory;
  assets: ConsoleAssets;
  /** The summary of the last `days` days; reused for 15 s per instance. */
  summary(days: number): Promise<ConsoleSummary>;
  actionsEnabled: boolean;
}

/** Options of {@link buildListingServices}. */
export interface ListingServicesOptions {
  settings: Settings;
  logger?: Logger;
  /** The identity for storage and Key Vault (undefined with a storage connection string: Key Vault then asks for it). */
  credential: () => TokenCredential;
  needsStorageCredential: boolean;
  /**
   * Builds the tracking-record store over the records' table with the given clock (the index writes its
   * entries at that clock's instants) and companion rows (each new record's list entry, written with its
   * open-work entry in one entity-group transaction).
   */
  createRecords: (nowMs: () => number, companionsOf: (record: TrackingRecord) => CompanionRow[]) => TrackingRecordsLike;
}

/** Builds the listing services. */
export function buildListingServices(options: ListingServicesOptions): ListingServices {
  const { settings } = options;
  const storageCredential = options.needsStorageCredential ? options.credential() : undefined;
  // The list's entries live in the records' table (created-<day> partitions), beside the creates' open-work
  // entries: one request writes both (docs/architecture.md, "Open-work index").
  const index = new ReferralIndex({
    table: createTableClient(settings, settings.REFERRALS_TABLE_NAME, storageCredential),
  });
  const clock = new CreationClock();
  const records = new IndexedTrackingRecords({
    records: options.createRecords(clock.nowMs, listEntryRowsOf),
    index,
    clock,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const queueFor: QueueClientFactory = (name) => createQueueClient(settings, name, storageCredential);
  let secrets: SecretClient | undefined;
  const status = new ConsoleStatusReader({
    queueFor,
    refreshTokenProperties: async () => {
      if (!secrets) {
        const { SecretClient: Client } = await import('@azure/keyvault-secrets');
        secrets = new Client(settings.KEY_VAULT_URL, options.credential(), { retryOptions: { maxRetries: 0 } });
      }
      const secret = await secrets.getSecret(settings.KEY_VAULT_REFRESH_TOKEN_SECRET_NAME);
      return {
        ...(secret.properties.createdOn ? { createdOn: secret.properties.createdOn } : {}),
        ...(secret.properties.tags ? { tags: secret.properties.tags } : {}),
      };
    },
    actionsEnabled: settings.CONSOLE_ACTIONS_ENABLED,
    partnerCenterDashboardUrl: settings.PARTNER_CENTER_DASHBOARD_URL,
  });
  const summaries = new Map<number, { atMs: number; value: Promise<ConsoleSummary> }>();
  return {
    records,
    index,
    lister: new ReferralLister({ index, records }),
    status,
    queueFor,
    assets: new ConsoleAssets(),
    actionsEnabled: settings.CONSOLE_ACTIONS_ENABLED,
    summary(days) {
      const cached = summaries.get(days);
      if (cached && Date.now() - cached.atMs < 15_000) return cached.value;
      const value = summarise({ index, days });
      value.catch(() => summaries.delete(days));
      summaries.set(days, { atMs: Date.now(), value });
      return value;
    },
  };
}
