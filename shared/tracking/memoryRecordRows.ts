/**
 * The in-memory twin's storage primitives ({@link RecordRows} over Maps): rows kept as JSON text, as a table
 * keeps them, ETags that change on every write, and the faults {@link InMemoryTrackingRecords.injectFault}
 * queues, met by the operation they target.
 */
import { TrackingStorageError } from './errors';
import { RECORD_ROW_KEY } from './openWork';
import type { TrackingRecord } from './trackingRecord';
import type {
  CompanionRow,
  IndexEntry,
  IndexKey,
  RecordPartition,
  RecordRows,
  RecordRowStats,
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

/** A stored record. */
interface MemoryRow {
  /** The record as JSON text: what a table keeps (no shared objects, `undefined` fields gone). */
  json: string;
  etag: string;
  writeId: string;
}

/** Storage primitives over a Map; ETags are opaque and change on every write. */
export class MemoryRecordRows implements RecordRows {
  readonly entries = new Map<string, MemoryRow>();
  readonly referralIndex = new Map<string, string>();
  readonly faults: MemoryFault[] = [];
  /** Companion rows: `partition/rowKey` → row. */
  readonly companions = new Map<string, CompanionRow>();
  /** Index rows: partition → row key → row. */
  readonly index = new Map<string, Map<string, StoredIndexEntry>>();
  readonly stats: RecordRowStats = { reads: 0, writes: 0, queries: 0, indexRequests: 0 };
  #etagCounter = 0;

  insert(record: TrackingRecord, writeId: string): Promise<RowWrite> {
    return this.#conditionalWrite('insert', record.trackingId, 'writes', () => this.#insertNow(record, writeId));
  }

  replace(record: TrackingRecord, writeId: string, ifMatch: string): Promise<RowWrite> {
    return this.#conditionalWrite('replace', record.trackingId, 'writes', () =>
      this.#replaceNow(record, writeId, ifMatch),
    );
  }

  async get(trackingId: string): Promise<StoredRow | undefined> {
    const fault = await this.#takeFault('get', trackingId);
    if (fault !== undefined) throw unavailable('get');
    this.stats.reads++;
    const row = this.entries.get(trackingId);
    return row ? { record: this.recordOf(trackingId)!, writeId: row.writeId } : undefined;
  }

  insertIndex(entry: IndexEntry): Promise<RowWrite> {
    return this.#conditionalWrite('indexWrite', entry.rowKey, 'indexRequests', () => this.#insertIndexNow(entry));
  }

  insertIndexWith(entry: IndexEntry, companions: readonly CompanionRow[]): Promise<RowWrite> {
    if (companions.length === 0) return this.insertIndex(entry);
    // One entity-group transaction: the companions are merged only when the entry is inserted.
    return this.#conditionalWrite('indexWrite', entry.rowKey, 'indexRequests', () => {
      const written = this.#insertIndexNow(entry);
      if (written.ok) for (const row of companions) this.#mergeCompanion(row);
      return written;
    });
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

  /**
   * A conditional write under the fault queue: `unavailable` stores nothing; `lostAnswer` stores and throws;
   * `lostAnswerRetried` stores and applies the write again, as the SDK's retry would (meeting our own write).
   */
  async #conditionalWrite(
    operation: MemoryOperation,
    faultKey: string,
    counter: 'writes' | 'indexRequests',
    apply: () => RowWrite,
  ): Promise<RowWrite> {
    const fault = await this.#takeFault(operation, faultKey);
    if (fault === 'unavailable') throw unavailable(operation);
    this.stats[counter]++;
    const first = apply();
    if (fault === 'lostAnswer' && first.ok) throw unavailable(operation);
    if (fault === 'lostAnswerRetried' && first.ok) {
      this.stats[counter]++;
      return apply();
    }
    return first;
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
