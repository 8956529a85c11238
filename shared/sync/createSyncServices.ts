/**
 * Builds the sync half from settings (the composition root calls it on first use, so loading a function
 * module does not pay for it).
 */
import type { TableClient } from '@azure/data-tables';
import type { Settings } from '../platform/config';
import type { Logger } from '../platform/logging';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { StatusUrlFor } from '../workflow/callbacks';
import { DEFAULT_DECISION_RULES } from './applySnapshot';
import type { SyncPartnerCenter } from './ports';
import { Reconciler } from './reconciler';
import { ReferralSync } from './referralSync';
import type { CloudEventCallbacks, CloudEventQueue } from './outboxPublisher';
import { SnapshotApplier } from './snapshotApplier';
import { TableWatermarkRows, WatermarkLease } from './watermark';

/** The sync use cases. */
export interface SyncServices {
  /** The one apply path: `apply(trackingId, { partner, microsoft?, source })`, `flush(record)`. */
  applier: SnapshotApplier;
  /** The `referral-sync` consumer. */
  consumer: ReferralSync;
  /** The reconciliation timer's use case. */
  reconciler: Reconciler;
}

/** Dependencies the composition root already built. */
export interface SyncDependencies {
  records: TrackingRecords;
  partnerCenter: SyncPartnerCenter;
  queue: CloudEventQueue;
  callbacks?: CloudEventCallbacks;
  /** The `referrals` table (the watermark row lives there). */
  table: TableClient;
  statusUrlFor: StatusUrlFor;
  logger: Logger;
}

/** Wires the applier, the consumer and the reconciler from `settings`. */
export function createSyncServices(settings: Settings, deps: SyncDependencies): SyncServices {
  const applier = new SnapshotApplier({
    records: deps.records,
    queue: deps.queue,
    callbacks: deps.callbacks,
    statusUrlFor: deps.statusUrlFor,
    logger: deps.logger,
    source: settings.EVENTS_CLOUDEVENT_SOURCE,
    decisionRules: settings.EVENTS_DECISION_RULES ?? DEFAULT_DECISION_RULES,
  });
  const consumer = new ReferralSync({
    records: deps.records,
    partnerCenter: deps.partnerCenter,
    applier,
    logger: deps.logger,
  });
  const reconciler = new Reconciler({
    records: deps.records,
    partnerCenter: deps.partnerCenter,
    sync: consumer,
    watermark: new WatermarkLease(new TableWatermarkRows(deps.table)),
    logger: deps.logger,
    overlapMs: settings.EVENTS_RECONCILE_OVERLAP_SECONDS * 1000,
    initialLookbackMs: settings.EVENTS_RECONCILE_INITIAL_LOOKBACK_HOURS * 3_600_000,
  });
  return { applier, consumer, reconciler };
}
