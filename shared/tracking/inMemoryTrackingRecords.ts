import { ConditionalTrackingRecords } from './conditionalRecords';
import { MemoryRecordRows, type MemoryFault } from './memoryRecordRows';
import type { TrackingRecord } from './trackingRecord';
import type { CompanionRow, RecordRowStats, StoredIndexEntry } from './trackingRecords';

export type { MemoryFault, MemoryOperation } from './memoryRecordRows';

/** Counts of storage operations, as {@link TrackingStore.stats}. */
export type MemoryRecordStats = RecordRowStats;

/** Options for {@link InMemoryTrackingRecords}. */
export interface InMemoryTrackingRecordsOptions {
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
  /** See {@link ConditionalTrackingRecordsOptions.orphanGraceMs}. */
  orphanGraceMs?: number;
  /** See {@link ConditionalTrackingRecordsOptions.companionsOf}. */
  companionsOf?: (record: TrackingRecord) => CompanionRow[];
}

/**
 * Tracking records in memory, with the Table store's semantics (the same {@link ConditionalTrackingRecords}
 * over memory rows): conditional insert, conditional replace, 412 on a stale ETag, lost-answer recovery by
 * `writeId`. For unit tests of the state machine and for benchmarks; faults are injected with
 * {@link InMemoryTrackingRecords.injectFault}.
 */
export class InMemoryTrackingRecords extends ConditionalTrackingRecords {
  readonly #rows: MemoryRecordRows;

  constructor(options: InMemoryTrackingRecordsOptions = {}) {
    const rows = new MemoryRecordRows();
    super({ rows, nowMs: options.nowMs, orphanGraceMs: options.orphanGraceMs, companionsOf: options.companionsOf });
    this.#rows = rows;
  }

  /** Makes the next operation matching `fault` fail (or interleave) as described by {@link MemoryFault}. */
  injectFault(fault: MemoryFault): void {
    this.#rows.faults.push(fault);
  }

  /** Forgets the faults not met yet. */
  clearFaults(): void {
    this.#rows.faults.length = 0;
  }

  /** Faults injected but not met yet. */
  pendingFaults(): number {
    return this.#rows.faults.length;
  }

  /** Storage operations made so far. */
  stats(): MemoryRecordStats {
    return { ...this.#rows.stats };
  }

  /** Every stored record, in trackingId order (tests, benchmarks). */
  all(): TrackingRecord[] {
    return [...this.#rows.entries.keys()].sort().map((id) => this.#rows.recordOf(id)!);
  }

  /** Every index row (open-work, retention, cursor), in partition and row key order (tests). */
  indexRows(): StoredIndexEntry[] {
    return [...this.#rows.index.keys()].sort().flatMap((partition) => [...this.#rows.listNow(partition)]);
  }

  /** Every companion row (`partition/rowKey` → properties), in key order (tests). */
  companionRows(): CompanionRow[] {
    return [...this.#rows.companions.keys()].sort().map((key) => this.#rows.companions.get(key)!);
  }

  /** Removes every index row of the open-work and retention indexes, as a table written before them (tests). */
  dropIndexRows(): void {
    this.#rows.index.clear();
  }

  /** Removes a record's row, as another process or an operator might (tests). */
  removeRecord(trackingId: string): void {
    this.#rows.entries.delete(trackingId);
  }
}
