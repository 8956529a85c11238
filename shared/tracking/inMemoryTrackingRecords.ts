import { ConditionalTrackingRecords } from './conditionalRecords';
import { TrackingStorageError } from './errors';
import { RECORD_ROW_KEY } from './openWork';
import type { TrackingRecord } from './trackingRecord';
import type {
  CompanionRow,
  IndexEntry,
  IndexKey,
  RecordPartition,
  RecordRows,
  RowWrite,
  StoredIndexEntry,
  StoredRow,
} from './trackingRecords';

/**
 * The storage operations a fault can target: the record's (`insert`, `replace`, `get`), the referral-id index's
 * (`index`) and the open-work index's (`indexWrite`: insert or upsert; `indexDelete`: any delete; `query`: a
 * partition listing).
 */
export type MemoryOperation = 'insert' | 'replace' | 'get' | 'query' | 'index' | 'indexWrite' | 'indexDelete';

/**
 * A fault for the next matching operation:
 * - `unavailable`: fails before anything is stored (a 503, a refused connection);
 * - `lostAnswer`: stores the write, then fails as if its answer was lost and the transport gave up;
 * - `lostAnswerRetried`: stores the write, loses its answer and sends it again, as the Azure SDK's retry
 *   does (the retry then meets our own write: 409 / 412);
 * - `interleave`: runs `run` first (another worker's write between our read and our write), then the operation.
 */
export type MemoryFault =
  | { kind: 'unavailable' | 'lostAnswer' | 'lostAnswerRetried'; operation: MemoryOperation; trackingId?: string }
  | { kind: 'interleave'; operation: MemoryOperation; trackingId?: string; run: () => Promise<void> };

/** Counts of storage operations, as {@link TrackingStore.stats}. */
export interface MemoryRecordStats {
  reads: number;
  writes: number;
  queries: number;
  /** Requests on index rows (open-work and retention entries, the cursor) and partition deletes. */
  indexRequests: number;
}

/** Options for {@link InMemoryTrackingRecords}. */
export interface InMemoryTrackingRecordsOptions {
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
  /** See {@link ConditionalTrackingRecordsOptions.orphanGraceMs}. */
  orphanGraceMs?: number;
  /** See {@link ConditionalTrackingRecordsOptions.companionsOf}. */
  companionsOf?: (record: TrackingRecord) => CompanionRow[];
}

interface MemoryRow {
  /** The record as JSON text: what a table keeps (no shared objects, `undefined` fields gone). */
  json: string;
  etag: string;
  writeId: string;
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

/** Storage primitives over a Map; ETags are opaque and change on every write. */
class MemoryRecordRows implements RecordRows {
  readonly entries = new Map<string, MemoryRow>();
  readonly referralIndex = new Map<string, string>();
  readonly faults: MemoryFault[] = [];
  /** Companion rows: `partition/rowKey` → row. */
  readonly companions = new Map<string, CompanionRow>();
  /** Index rows: partition → row key → row. */
  readonly index = new Map<string, Map<string, StoredIndexEntry>>();
  readonly stats: MemoryRecordStats = { reads: 0, writes: 0, queries: 0, indexRequests: 0 };
  #etagCounter = 0;

  async insert(record: TrackingRecord, writeId: string): Promise<RowWrite> {
    const fault = await this.#takeFault('insert', record.trackingId);
    if (fault === 'unavailable') throw unavailable('insert');
    this.stats.writes++;
    const first = this.#insertNow(record, writeId);
    if (fault === 'lostAnswer' && first.ok) throw unavailable('insert');
    if (fault === 'lostAnswerRetried' && first.ok) {
      this.stats.writes++;
      return this.#insertNow(record, writeId);
    }
    return first;
  }

  async replace(record: TrackingRecord, writeId: string, ifMatch: string): Promise<RowWrite> {
    const fault = await this.#takeFault('replace', record.trackingId);
    if (fault === 'unavailable') throw unavailable('replace');
    this.stats.writes++;
    const first = this.#replaceNow(record, writeId, ifMatch);
    if (fault === 'lostAnswer' && first.ok) throw unavailable('replace');
    if (fault === 'lostAnswerRetried' && first.ok) {
      this.stats.writes++;
      return this.#replaceNow(record, writeId, ifMatch);
    }
    return first;
  }

  async get(trackingId: string): Promise<StoredRow | undefined> {
    const fault = await this.#takeFault('get', trackingId);
    if (fault !== undefined) throw unavailable('get');
    this.stats.reads++;
    const row = this.entries.get(trackingId);
    return row ? { record: this.recordOf(trackingId)!, writeId: row.writeId } : undefined;
  }

  async insertIndex(entry: IndexEntry): Promise<RowWrite> {
    const fault = await this.#takeFault('indexWrite', entry.rowKey);
    if (fault === 'unavailable') throw unavailable('indexWrite');
    this.stats.indexRequests++;
    const first = this.#insertIndexNow(entry);
    if (fault === 'lostAnswer' && first.ok) throw unavailable('indexWrite');
    if (fault === 'lostAnswerRetried' && first.ok) {
      this.stats.indexRequests++;
      return this.#insertIndexNow(entry);
    }
    return first;
  }

  async insertIndexWith(entry: IndexEntry, companions: readonly CompanionRow[]): Promise<RowWrite> {
    if (companions.length === 0) return this.insertIndex(entry);
    const fault = await this.#takeFault('indexWrite', entry.rowKey);
    if (fault === 'unavailable') throw unavailable('indexWrite');
    this.stats.indexRequests++;
    const apply = (): RowWrite => {
      const written = this.#insertIndexNow(entry);
      if (written.ok) for (const row of companions) this.#mergeCompanion(row);
      return written;
    };
    const first = apply();
    if (fault === 'lostAnswer' && first.ok) throw unavailable('indexWrite');
    if (fault === 'lostAnswerRetried' && first.ok) {
      this.stats.indexRequests++;
      return apply();
    }
    return first;
  }

  async mergeCompanions(rows: readonly CompanionRow[]): Promise<void> {
    if (rows.length === 0) return;
    const fault = await this.#takeFault('indexWrite', rows[0].rowKey);
    if (fault === 'unavailable') throw unavailable('indexWrite');
    this.stats.indexRequests++;
    for (const row of rows) this.#mergeCompanion(row);
    if (fault === 'lostAnswer') throw unavailable('indexWrite');
  }

  #mergeCompanion(row: CompanionRow): void {
    const key = `${row.partition}/${row.rowKey}`;
    const before = this.companions.get(key)?.properties ?? {};
    this.companions.set(key, {
      partition: row.partition,
      rowKey: row.rowKey,
      properties: { ...before, ...row.properties },
    });
  }

  async upsertIndex(entries: readonly IndexEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const fault = await this.#takeFault('indexWrite', entries[0].rowKey);
    if (fault === 'unavailable') throw unavailable('indexWrite');
    this.stats.indexRequests += new Set(entries.map((e) => e.partition)).size;
    for (const entry of entries) this.#putIndex(entry);
    if (fault === 'lostAnswer') throw unavailable('indexWrite');
  }

  async deleteRows(keys: readonly IndexKey[]): Promise<void> {
    if (keys.length === 0) return;
    const fault = await this.#takeFault('indexDelete', keys[0].rowKey);
    if (fault === 'unavailable') throw unavailable('indexDelete');
    this.stats.indexRequests += new Set(keys.map((k) => k.partition)).size;
    for (const key of keys) this.#deleteNow(key);
    if (fault === 'lostAnswer') throw unavailable('indexDelete');
  }

  async deleteRowIfMatch(key: IndexKey, ifMatch: string): Promise<boolean> {
    const fault = await this.#takeFault('indexDelete', key.rowKey);
    if (fault === 'unavailable') throw unavailable('indexDelete');
    this.stats.indexRequests++;
    const current =
      key.rowKey === RECORD_ROW_KEY
        ? this.entries.get(key.partition)?.etag
        : this.index.get(key.partition)?.get(key.rowKey)?.etag;
    if (current === undefined || current !== ifMatch) return false;
    this.#deleteNow(key);
    if (fault === 'lostAnswer') throw unavailable('indexDelete');
    return true;
  }

  async getIndex(key: IndexKey): Promise<StoredIndexEntry | undefined> {
    const fault = await this.#takeFault('get', key.rowKey);
    if (fault !== undefined) throw unavailable('get');
    this.stats.indexRequests++;
    const row = this.index.get(key.partition)?.get(key.rowKey);
    return row ? { ...row } : undefined;
  }

  async *listIndex(partition: string): AsyncGenerator<StoredIndexEntry> {
    const fault = await this.#takeFault('query', partition);
    if (fault !== undefined) throw unavailable('query');
    this.stats.indexRequests++;
    for (const row of this.listNow(partition)) yield row;
  }

  async *listIndexRange(partition: string, range: { from: string; to: string }): AsyncGenerator<StoredIndexEntry> {
    const fault = await this.#takeFault('query', partition);
    if (fault !== undefined) throw unavailable('query');
    this.stats.indexRequests++;
    for (const row of this.listNow(partition)) if (row.rowKey >= range.from && row.rowKey < range.to) yield row;
  }

  async *scanRecords(): AsyncGenerator<TrackingRecord> {
    const fault = await this.#takeFault('query', undefined);
    if (fault !== undefined) throw unavailable('query');
    this.stats.queries++;
    for (const trackingId of [...this.entries.keys()].sort()) {
      const record = this.recordOf(trackingId);
      if (record) yield record;
    }
  }

  async readPartition(trackingId: string): Promise<RecordPartition> {
    const fault = await this.#takeFault('query', trackingId);
    if (fault !== undefined) throw unavailable('query');
    this.stats.indexRequests++;
    const record = this.recordOf(trackingId);
    return record ? { record, keys: [{ partition: trackingId, rowKey: RECORD_ROW_KEY }] } : { keys: [] };
  }

  /** The rows of an index partition, in row key order (copies). */
  listNow(partition: string): StoredIndexEntry[] {
    const rows = this.index.get(partition);
    if (!rows) return [];
    return [...rows.keys()].sort().map((rowKey) => ({ ...rows.get(rowKey)! }));
  }

  #insertIndexNow(entry: IndexEntry): RowWrite {
    if (this.index.get(entry.partition)?.has(entry.rowKey)) return { ok: false, reason: 'exists' };
    return { ok: true, etag: this.#putIndex(entry) };
  }

  #putIndex(entry: IndexEntry): string {
    const etag = `W/"mem-${++this.#etagCounter}"`;
    const rows = this.index.get(entry.partition) ?? new Map<string, StoredIndexEntry>();
    const { partition, rowKey, atEpochMs, afterEtag } = entry;
    rows.set(entry.rowKey, { partition, rowKey, atEpochMs, ...(afterEtag ? { afterEtag } : {}), etag });
    this.index.set(entry.partition, rows);
    return etag;
  }

  /** Deletes a row: the record's when the key names it, else an index row. */
  #deleteNow(key: IndexKey): void {
    if (key.rowKey === RECORD_ROW_KEY) {
      this.entries.delete(key.partition);
      return;
    }
    const rows = this.index.get(key.partition);
    rows?.delete(key.rowKey);
    if (rows?.size === 0) this.index.delete(key.partition);
  }

  async putReferralIndex(referralId: string, trackingId: string): Promise<void> {
    const fault = await this.#takeFault('index', referralId.toLowerCase());
    if (fault === 'unavailable') throw unavailable('index');
    this.stats.writes++;
    this.referralIndex.set(referralId.toLowerCase(), trackingId);
    if (fault === 'lostAnswer') throw unavailable('index');
  }

  async getReferralIndex(referralId: string): Promise<string | undefined> {
    const fault = await this.#takeFault('index', referralId.toLowerCase());
    if (fault !== undefined) throw unavailable('index');
    this.stats.reads++;
    return this.referralIndex.get(referralId.toLowerCase());
  }

  /** The stored record with its current ETag. */
  recordOf(trackingId: string): TrackingRecord | undefined {
    const row = this.entries.get(trackingId);
    return row ? { ...(JSON.parse(row.json) as Omit<TrackingRecord, 'etag'>), etag: row.etag } : undefined;
  }

  #insertNow(record: TrackingRecord, writeId: string): RowWrite {
    if (this.entries.has(record.trackingId)) return { ok: false, reason: 'exists' };
    return this.#store(record, writeId);
  }

  #replaceNow(record: TrackingRecord, writeId: string, ifMatch: string): RowWrite {
    const row = this.entries.get(record.trackingId);
    if (!row || row.etag !== ifMatch) return { ok: false, reason: 'stale' };
    return this.#store(record, writeId);
  }

  #store(record: TrackingRecord, writeId: string): RowWrite {
    const { etag: _etag, ...fields } = record;
    const etag = `W/"mem-${++this.#etagCounter}"`;
    this.entries.set(record.trackingId, { json: JSON.stringify(fields), etag, writeId });
    return { ok: true, etag };
  }

  /** Removes and applies the first fault for this operation; returns its kind (interleaves run here). */
  async #takeFault(
    operation: MemoryOperation,
    trackingId: string | undefined,
  ): Promise<'unavailable' | 'lostAnswer' | 'lostAnswerRetried' | undefined> {
    const index = this.faults.findIndex(
      (f) => f.operation === operation && (f.trackingId === undefined || f.trackingId === trackingId),
    );
    if (index < 0) return undefined;
    const [fault] = this.faults.splice(index, 1);
    if (fault.kind === 'interleave') {
      await fault.run();
      return undefined;
    }
    return fault.kind;
  }
}

function unavailable(operation: MemoryOperation): TrackingStorageError {
  return new TrackingStorageError(`In-memory tracking store: injected fault on ${operation}`);
}
