import { ConditionalTrackingRecords } from './conditionalRecords';
import { TrackingStorageError } from './errors';
import type { TrackingRecord } from './trackingRecord';
import type { RecordRows, RowWrite, StaleQuery, StoredRow } from './trackingRecords';

/** The storage operations a fault can target. */
export type MemoryOperation = 'insert' | 'replace' | 'get' | 'query' | 'index';

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
}

/** Options for {@link InMemoryTrackingRecords}. */
export interface InMemoryTrackingRecordsOptions {
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
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
    super({ rows, nowMs: options.nowMs });
    this.#rows = rows;
  }

  /** Makes the next operation matching `fault` fail (or interleave) as described by {@link MemoryFault}. */
  injectFault(fault: MemoryFault): void {
    this.#rows.faults.push(fault);
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
}

/** Storage primitives over a Map; ETags are opaque and change on every write. */
class MemoryRecordRows implements RecordRows {
  readonly entries = new Map<string, MemoryRow>();
  readonly referralIndex = new Map<string, string>();
  readonly faults: MemoryFault[] = [];
  readonly stats: MemoryRecordStats = { reads: 0, writes: 0, queries: 0 };
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

  async *query(query: StaleQuery): AsyncGenerator<TrackingRecord> {
    const fault = await this.#takeFault('query', undefined);
    if (fault !== undefined) throw unavailable('query');
    this.stats.queries++;
    for (const trackingId of [...this.entries.keys()].sort()) {
      const record = this.recordOf(trackingId);
      if (!record || !query.states.includes(record.state)) continue;
      if (!(record.updatedAtEpochMs < Math.floor(query.updatedBeforeEpochMs))) continue;
      if (query.callbackPendingOnly && record.callbackState !== 'pending') continue;
      if (query.outboxPendingOnly && record.outboxPending !== true) continue;
      yield record;
    }
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
