import {
  odata,
  type TableClient,
  type TableEntity,
  type TableEntityResult,
  type TransactionAction,
} from '@azure/data-tables';
import { isRestError } from '@azure/core-rest-pipeline';
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

export type { CreateResult } from './trackingRecords';
export { RECORD_ROW_KEY } from './openWork';

/** Rows of one entity-group transaction at most. */
const BATCH_ROWS = 100;

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
  /** See {@link ConditionalTrackingRecordsOptions.orphanGraceMs}. */
  orphanGraceMs?: number;
  /** See {@link ConditionalTrackingRecordsOptions.companionsOf} (the list's entry: shared/listing/indexEntry.ts). */
  companionsOf?: (record: TrackingRecord) => CompanionRow[];
}

/** Counts of storage operations, for benchmarks. */
export interface TrackingStoreStats {
  reads: number;
  writes: number;
  queries: number;
  /** Requests on index rows (open-work and retention entries, the cursor) and partition deletes. */
  indexRequests: number;
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

/** The storage primitives in one table: PartitionKey = trackingId, RowKey = {@link RECORD_ROW_KEY}. */
export class TableRecordRows implements RecordRows {
  readonly #table: TableClient;
  #tableReady: Promise<void> | undefined;
  readonly #stats: TrackingStoreStats = { reads: 0, writes: 0, queries: 0, indexRequests: 0 };

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

  /** Inserts an index entity; `exists` on 409. */
  async insertIndex(entry: IndexEntry): Promise<RowWrite> {
    await this.ensureTable();
    try {
      this.#stats.indexRequests++;
      const response = await this.#table.createEntity(toIndexEntity(entry));
      return { ok: true, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 409) return { ok: false, reason: 'exists' };
      throw new TrackingStorageError('Could not write an index entry', { cause: error });
    }
  }

  /** Inserts the entry and merges its partition's companions in one entity-group transaction; `exists` on 409. */
  async insertIndexWith(entry: IndexEntry, companions: readonly CompanionRow[]): Promise<RowWrite> {
    if (companions.length === 0) return this.insertIndex(entry);
    await this.ensureTable();
    try {
      this.#stats.indexRequests++;
      const response = await this.#table.submitTransaction([
        ['create', toIndexEntity(entry)],
        ...companions.map((row): TransactionAction => ['upsert', toCompanionEntity(row), 'Merge']),
      ]);
      return { ok: true, etag: response.getResponseForEntity(entry.rowKey)?.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 409) return { ok: false, reason: 'exists' };
      throw new TrackingStorageError('Could not write an index entry', { cause: error });
    }
  }

  /** Merges the rows in one entity-group transaction (one request; they share a partition). */
  async mergeCompanions(rows: readonly CompanionRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.ensureTable();
    this.#stats.indexRequests++;
    try {
      if (rows.length === 1) await this.#table.upsertEntity(toCompanionEntity(rows[0]), 'Merge');
      else await this.#table.submitTransaction(rows.map((row) => ['upsert', toCompanionEntity(row), 'Merge']));
    } catch (error) {
      throw new TrackingStorageError('Could not write companion rows', { cause: error });
    }
  }

  /** Upserts index entities, in entity-group transactions of up to 100 per partition. */
  async upsertIndex(entries: readonly IndexEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.ensureTable();
    for (const group of batchesByPartition(entries)) {
      this.#stats.indexRequests++;
      try {
        if (group.length === 1) await this.#table.upsertEntity(toIndexEntity(group[0]), 'Replace');
        else await this.#table.submitTransaction(group.map((e) => ['upsert', toIndexEntity(e), 'Replace']));
      } catch (error) {
        throw new TrackingStorageError('Could not write index entries', { cause: error });
      }
    }
  }

  /**
   * Deletes entities (If-Match `*`), in entity-group transactions of up to 100 per partition; an entity
   * already gone fails its whole transaction (404), which is then redone one entity at a time.
   */
  async deleteRows(keys: readonly IndexKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.ensureTable();
    for (const group of batchesByPartition(keys)) {
      if (group.length > 1) {
        this.#stats.indexRequests++;
        try {
          const actions: TransactionAction[] = group.map((k) => [
            'delete',
            { partitionKey: k.partition, rowKey: k.rowKey },
          ]);
          await this.#table.submitTransaction(actions);
          continue;
        } catch (error) {
          if (statusOf(error) !== 404) throw new TrackingStorageError('Could not delete rows', { cause: error });
        }
      }
      for (const key of group) await this.#deleteOne(key, '*');
    }
  }

  /** Deletes an entity with `If-Match: ifMatch`; false on 412 or 404. */
  async deleteRowIfMatch(key: IndexKey, ifMatch: string): Promise<boolean> {
    await this.ensureTable();
    return this.#deleteOne(key, ifMatch);
  }

  /** Reads an index entity, or undefined on 404. */
  async getIndex(key: IndexKey): Promise<StoredIndexEntry | undefined> {
    await this.ensureTable();
    try {
      this.#stats.indexRequests++;
      return fromIndexEntity(await this.#table.getEntity<Record<string, unknown>>(key.partition, key.rowKey));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new TrackingStorageError('Could not read an index entry', { cause: error });
    }
  }

  /** Every entity of one index partition: `PartitionKey eq '<partition>'`, nothing else. */
  async *listIndex(partition: string): AsyncGenerator<StoredIndexEntry> {
    await this.ensureTable();
    this.#stats.indexRequests++;
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${partition}` },
      })) {
        yield fromIndexEntity(entity);
      }
    } catch (error) {
      throw new TrackingStorageError('Could not list index entries', { cause: error });
    }
  }

  /** `PartitionKey eq '<partition>' and RowKey ge '<from>' and RowKey lt '<to>'`: only the range is examined. */
  async *listIndexRange(partition: string, range: { from: string; to: string }): AsyncGenerator<StoredIndexEntry> {
    await this.ensureTable();
    this.#stats.indexRequests++;
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({
        queryOptions: {
          filter: odata`PartitionKey eq ${partition} and RowKey ge ${range.from} and RowKey lt ${range.to}`,
          select: ['PartitionKey', 'RowKey', 'atEpochMs', 'afterEtag'],
        },
      })) {
        yield fromIndexEntity(entity);
      }
    } catch (error) {
      throw new TrackingStorageError('Could not list index entries', { cause: error });
    }
  }

  /** `RowKey eq 'record'`: a table scan (the operator's rebuild only). */
  async *scanRecords(): AsyncGenerator<TrackingRecord> {
    await this.ensureTable();
    this.#stats.queries++;
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`RowKey eq ${RECORD_ROW_KEY}` },
      })) {
        yield fromEntity(entity);
      }
    } catch (error) {
      throw new TrackingStorageError('Could not scan the tracking records', { cause: error });
    }
  }

  /** Every entity of a record's partition: `PartitionKey eq '<trackingId>'`. */
  async readPartition(trackingId: string): Promise<RecordPartition> {
    await this.ensureTable();
    this.#stats.indexRequests++;
    const partition: RecordPartition = { keys: [] };
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${trackingId}` },
      })) {
        partition.keys.push({ partition: trackingId, rowKey: String(entity.rowKey) });
        if (entity.rowKey === RECORD_ROW_KEY) partition.record = fromEntity(entity);
      }
    } catch (error) {
      throw new TrackingStorageError('Could not read a record partition', { cause: error });
    }
    return partition;
  }

  async #deleteOne(key: IndexKey, ifMatch: string): Promise<boolean> {
    try {
      this.#stats.indexRequests++;
      await this.#table.deleteEntity(key.partition, key.rowKey, { etag: ifMatch });
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 412) return false;
      throw new TrackingStorageError('Could not delete a row', { cause: error });
    }
  }
}

/** Groups keys by partition, in groups of at most {@link BATCH_ROWS} (an entity-group transaction each). */
function batchesByPartition<T extends IndexKey>(keys: readonly T[]): T[][] {
  const byPartition = new Map<string, Map<string, T>>();
  for (const key of keys) {
    const group = byPartition.get(key.partition) ?? new Map<string, T>();
    group.set(key.rowKey, key);
    byPartition.set(key.partition, group);
  }
  const batches: T[][] = [];
  for (const group of byPartition.values()) {
    const rows = [...group.values()];
    for (let i = 0; i < rows.length; i += BATCH_ROWS) batches.push(rows.slice(i, i + BATCH_ROWS));
  }
  return batches;
}

/** An index entry as a table entity (`atEpochMs` a Double, `afterEtag` only when there is one). */
export function toIndexEntity(entry: IndexEntry): TableEntity<Record<string, unknown>> {
  return {
    partitionKey: entry.partition,
    rowKey: entry.rowKey,
    atEpochMs: { value: String(entry.atEpochMs), type: 'Double' },
    ...(entry.afterEtag ? { afterEtag: entry.afterEtag } : {}),
  };
}

/** A companion row as a table entity (values as the SDK writes plain values, as the list's own writes do). */
function toCompanionEntity(row: CompanionRow): TableEntity<Record<string, unknown>> {
  return { ...row.properties, partitionKey: row.partition, rowKey: row.rowKey };
}

function fromIndexEntity(entity: TableEntityResult<Record<string, unknown>>): StoredIndexEntry {
  return {
    partition: String(entity.partitionKey),
    rowKey: String(entity.rowKey),
    atEpochMs: Number(entity.atEpochMs ?? 0),
    ...(typeof entity.afterEtag === 'string' ? { afterEtag: entity.afterEtag } : {}),
    etag: entity.etag,
  };
}

/** Serialises a record into a table entity (request JSON chunked, nested objects as JSON text); benchmarks fill tables with it. */
export function toEntity(record: TrackingRecord, writeId: string): TableEntity<Record<string, unknown>> {
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
