/**
 * The operator's one-off rebuild of the indexes (`npm run index:rebuild`, scripts/rebuild-indexes.ts):
 * open-work entries, retention entries and referral-id rows for records written before an index existed.
 * docs/architecture.md ("Rebuilding the indexes").
 */
import { indexedTrackingIds } from './openWorkSweep';
import {
  ENTITY_GROUP_MAX_ROWS,
  RETENTION_CURSOR_KEYS,
  finalEntryOf,
  freshOpenRowKey,
  isOpenWork,
  openPartitionOf,
  startOfUtcDay,
} from './openWork';
import type { TrackingRecord } from './trackingRecord';
import type { IndexEntry, RecordRows } from './trackingRecords';

/** Options of {@link rebuildIndexes}. */
export interface RebuildIndexesOptions {
  /** Called for every record the scan meets (a decorator rebuilds its own rows here). */
  onRecord?: (record: TrackingRecord) => Promise<void>;
  /** Count only: nothing is written. @default false */
  dryRun?: boolean;
}

/** What {@link rebuildIndexes} found and wrote. */
export interface RebuildIndexesReport {
  /** Records the table scan met. */
  records: number;
  /** Of them, records with open work. */
  open: number;
  /** Open-work entries written (records with open work the sweeper could not find). */
  openEntriesWritten: number;
  /** Retention entries written (one per closed record; an upsert, so a second run writes the same rows). */
  retentionEntriesWritten: number;
  /** Referral-id rows written (`pc-<id>`, one per Partner Center or Microsoft referral id a record names). */
  referralRowsWritten: number;
}

/**
 * ONE TABLE SCAN of the records, plus the partitions the sweeper reads. Gives every record with open work
 * the sweeper cannot find an entry (in its `open-*` partition), every closed record its retention entry
 * (filed no earlier than the retention cursor's day, so the timer meets it), every referral id a record
 * names its `pc-<id>` row, and hands each record to `onRecord`. Idempotent: a second run finds every open
 * record indexed.
 */
export async function rebuildIndexes(
  rows: RecordRows,
  nowMs: number,
  options: RebuildIndexesOptions = {},
): Promise<RebuildIndexesReport> {
  const report: RebuildIndexesReport = {
    records: 0,
    open: 0,
    openEntriesWritten: 0,
    retentionEntriesWritten: 0,
    referralRowsWritten: 0,
  };
  const indexed = await indexedTrackingIds(rows, nowMs);
  const retentionCursor = await rows.getIndex(RETENTION_CURSOR_KEYS);
  const earliestFiling = retentionCursor?.atEpochMs ?? startOfUtcDay(nowMs);
  const pending: IndexEntry[] = [];
  const flush = async (): Promise<void> => {
    if (!options.dryRun) await rows.upsertIndex(pending.splice(0));
    else pending.length = 0;
  };
  for await (const record of rows.scanRecords()) {
    report.records++;
    if (isOpenWork(record)) {
      report.open++;
      if (!indexed.has(record.trackingId)) {
        report.openEntriesWritten++;
        pending.push({
          partition: openPartitionOf(record.trackingId),
          rowKey: freshOpenRowKey(record.trackingId, nowMs),
          atEpochMs: nowMs,
        });
      }
    } else {
      report.retentionEntriesWritten++;
      pending.push(finalEntryOf(record.trackingId, Math.max(record.updatedAtEpochMs, earliestFiling)));
    }
    for (const referralId of [record.partnerReferralId, record.microsoftReferralId]) {
      if (!referralId) continue;
      report.referralRowsWritten++;
      if (!options.dryRun) await rows.putReferralIndex(referralId, record.trackingId);
    }
    if (!options.dryRun) await options.onRecord?.(record);
    if (pending.length >= ENTITY_GROUP_MAX_ROWS) await flush();
  }
  await flush();
  return report;
}
