import type { TableClient } from '@azure/data-tables';
import { ConditionalTrackingRecords } from './conditionalRecords';
import { TableRecordRows } from './tableRecordRows';
import type { TrackingRecord } from './trackingRecord';
import type { CompanionRow, RecordRowStats } from './trackingRecords';

/** Options for {@link TrackingStore}. */
export interface TrackingStoreOptions {
  /** A TableClient for the `referrals` table (Azurite locally, identity-based in Azure). */
  table: TableClient;
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
  /** See {@link ConditionalTrackingRecordsOptions.orphanGraceMs}. */
  orphanGraceMs?: number;
  /** See {@link ConditionalTrackingRecordsOptions.companionsOf} (the list's entry: shared/listing/indexEntry.ts). */
  companionsOf?: (record: TrackingRecord) => CompanionRow[];
}

/** Counts of storage operations, for benchmarks. */
export type TrackingStoreStats = RecordRowStats;

/**
 * Tracking records in Table Storage ({@link TrackingRecords} over {@link TableRecordRows}). Every state
 * change is a conditional write with the ETag of the read that decided it; the SDK's default `If-Match: *`
 * is never used. The SDK retries a write whose answer was lost; {@link ConditionalTrackingRecords}
 * recognises our own write by its `writeId`.
 */
export class TrackingStore extends ConditionalTrackingRecords {
  readonly #rows: TableRecordRows;

  constructor(options: TrackingStoreOptions) {
    const rows = new TableRecordRows(options.table);
    super({ rows, nowMs: options.nowMs, orphanGraceMs: options.orphanGraceMs, companionsOf: options.companionsOf });
    this.#rows = rows;
  }

  /** Storage operations made so far. */
  stats(): TrackingStoreStats {
    return this.#rows.stats();
  }

  /** Creates the table once per process (409 TableAlreadyExists is fine). */
  ensureTable(): Promise<void> {
    return this.#rows.ensureTable();
  }
}
