import { odata, type TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import { isRestError } from '@azure/core-rest-pipeline';
import { ConditionalTrackingRecords } from './conditionalRecords';
import { TrackingStorageError } from './errors';
import type { TrackingRecord } from './trackingRecord';
import type { RecordRows, RowWrite, StaleQuery, StoredRow } from './trackingRecords';

export type { CreateResult } from './trackingRecords';

/** RowKey of the tracking record inside its partition. */
export const RECORD_ROW_KEY = 'record';

/** Table properties hold at most 32K UTF-16 characters: the request JSON is split into chunks. */
const CHUNK_CHARS = 30_000;
/** Properties stored as JSON text. */
const JSON_FIELDS: ReadonlySet<string> = new Set(['lastError', 'partnerCenter', 'microsoft', 'history', 'outbox']);
/** RowKey of a referral-id index row; its PartitionKey is `pc-<referral id, lower case>`. */
export const REFERRAL_INDEX_ROW_KEY = 'ref';
/** PartitionKey of the index row of a Partner Center referral id. */
export function referralIndexPartition(referralId: string): string {
  return `pc-${referralId.toLowerCase()}`;
}
/** Entity properties that are not record fields. */
const ENTITY_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'partitionKey',
  'rowKey',
  'etag',
  'timestamp',
  'writeId',
  'requestChunks',
  'odata.metadata',
]);

/** Options for {@link TrackingStore}. */
export interface TrackingStoreOptions {
  /** A TableClient for the `referrals` table (Azurite locally, identity-based in Azure). */
  table: TableClient;
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
}

/** Counts of storage operations, for benchmarks. */
export interface TrackingStoreStats {
  reads: number;
  writes: number;
  queries: number;
}

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
    super({ rows, nowMs: options.nowMs });
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

/** The storage primitives in one table: PartitionKey = trackingId, RowKey = {@link RECORD_ROW_KEY}. */
export class TableRecordRows implements RecordRows {
  readonly #table: TableClient;
  #tableReady: Promise<void> | undefined;
  readonly #stats: TrackingStoreStats = { reads: 0, writes: 0, queries: 0 };

  constructor(table: TableClient) {
    this.#table = table;
  }

  /** Storage operations made so far. */
  stats(): TrackingStoreStats {
    return { ...this.#stats };
  }

  /** Creates the table once per process (409 TableAlreadyExists is fine). */
  async ensureTable(): Promise<void> {
    this.#tableReady ??= this.#table.createTable().catch((error: unknown) => {
      this.#tableReady = undefined;
      throw new TrackingStorageError('Could not create the tracking table', { cause: error });
    });
    return this.#tableReady;
  }

  /** Inserts the entity; `exists` on 409. */
  async insert(record: TrackingRecord, writeId: string): Promise<RowWrite> {
    await this.ensureTable();
    try {
      this.#stats.writes++;
      const response = await this.#table.createEntity(toEntity(record, writeId));
      return { ok: true, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 409) return { ok: false, reason: 'exists' };
      throw new TrackingStorageError('Could not create a tracking record', { cause: error });
    }
  }

  /** Replaces the entity with `If-Match: ifMatch`; `stale` on 412 or 404. */
  async replace(record: TrackingRecord, writeId: string, ifMatch: string): Promise<RowWrite> {
    try {
      this.#stats.writes++;
      const response = await this.#table.updateEntity(toEntity(record, writeId), 'Replace', { etag: ifMatch });
      return { ok: true, etag: response.etag ?? '' };
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 404) return { ok: false, reason: 'stale' };
      throw new TrackingStorageError('Could not update a tracking record', { cause: error });
    }
  }

  /** Reads the entity, or undefined on 404. */
  async get(trackingId: string): Promise<StoredRow | undefined> {
    await this.ensureTable();
    try {
      this.#stats.reads++;
      const entity = await this.#table.getEntity<Record<string, unknown>>(trackingId, RECORD_ROW_KEY);
      return { record: fromEntity(entity), writeId: typeof entity.writeId === 'string' ? entity.writeId : '' };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new TrackingStorageError('Could not read a tracking record', { cause: error });
    }
  }

  /** Inserts or replaces the index row `pc-<id>` / `ref` → `{ trackingId }` (not a state change: no ETag). */
  async putReferralIndex(referralId: string, trackingId: string): Promise<void> {
    await this.ensureTable();
    try {
      this.#stats.writes++;
      await this.#table.upsertEntity(
        { partitionKey: referralIndexPartition(referralId), rowKey: REFERRAL_INDEX_ROW_KEY, trackingId },
        'Replace',
      );
    } catch (error) {
      throw new TrackingStorageError('Could not write a referral index row', { cause: error });
    }
  }

  /** Reads the index row of a referral id, or undefined on 404. */
  async getReferralIndex(referralId: string): Promise<string | undefined> {
    await this.ensureTable();
    try {
      this.#stats.reads++;
      const entity = await this.#table.getEntity<{ trackingId?: unknown }>(
        referralIndexPartition(referralId),
        REFERRAL_INDEX_ROW_KEY,
      );
      return typeof entity.trackingId === 'string' ? entity.trackingId : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new TrackingStorageError('Could not read a referral index row', { cause: error });
    }
  }

  /** Lists the entities matching `query` (one filter, built with the `odata` template). */
  async *query(query: StaleQuery): AsyncGenerator<TrackingRecord> {
    await this.ensureTable();
    this.#stats.queries++;
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: staleFilter(query) },
      })) {
        yield fromEntity(entity);
      }
    } catch (error) {
      throw new TrackingStorageError('Could not list tracking records', { cause: error });
    }
  }
}

/**
 * The sweeper's filter. `updatedAtEpochMs` is stored as a Double (it exceeds Int32), so it is compared with
 * a double literal (`.0`).
 */
export function staleFilter(query: StaleQuery): string {
  const states = query.states.map((state) => odata`state eq ${state}`).join(' or ');
  const updatedBefore = Math.floor(query.updatedBeforeEpochMs);
  const callback = query.callbackPendingOnly ? odata` and callbackState eq ${'pending'}` : '';
  const outbox = query.outboxPendingOnly ? ' and outboxPending eq true' : '';
  return (
    odata`RowKey eq ${RECORD_ROW_KEY} and (` +
    states +
    odata`) and updatedAtEpochMs lt ${updatedBefore}.0` +
    callback +
    outbox
  );
}

/** Serialises a record into a table entity (request JSON chunked, nested objects as JSON text). */
function toEntity(record: TrackingRecord, writeId: string): TableEntity<Record<string, unknown>> {
  const { trackingId, etag: _etag, request, ...rest } = record;
  const entity: TableEntity<Record<string, unknown>> = { partitionKey: trackingId, rowKey: RECORD_ROW_KEY, writeId };
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    entity[key] = JSON_FIELDS.has(key) ? JSON.stringify(value) : value;
  }
  if (request !== undefined) {
    const json = serialisedRequest(request);
    const chunks = Math.ceil(json.length / CHUNK_CHARS);
    entity.requestChunks = chunks;
    for (let i = 0; i < chunks; i++) entity[`request_${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  }
  return entity;
}

/**
 * A request never changes once validated, and every update of a record carries the same object: its JSON
 * is computed once per object (`Replace` writes the whole entity each time).
 */
const requestJsonCache = new WeakMap<object, string>();

function serialisedRequest(request: object): string {
  let json = requestJsonCache.get(request);
  if (json === undefined) {
    json = JSON.stringify(request);
    requestJsonCache.set(request, json);
  }
  return json;
}

/** Reads a table entity back into a record (the fields this module wrote). */
function fromEntity(entity: TableEntityResult<Record<string, unknown>>): TrackingRecord {
  const out: Record<string, unknown> = {};
  const chunks = Number(entity.requestChunks ?? 0);
  let json = '';
  for (let i = 0; i < chunks; i++) {
    const chunk = entity[`request_${i}`];
    json += typeof chunk === 'string' ? chunk : '';
  }
  for (const [key, value] of Object.entries(entity)) {
    if (ENTITY_ONLY_FIELDS.has(key) || key.startsWith('request_')) continue;
    out[key] = JSON_FIELDS.has(key) && typeof value === 'string' ? JSON.parse(value) : value;
  }
  return {
    ...(out as Omit<TrackingRecord, 'trackingId' | 'etag'>),
    trackingId: String(entity.partitionKey),
    request: chunks > 0 ? (JSON.parse(json) as TrackingRecord['request']) : undefined,
    etag: entity.etag,
  };
}

function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}
