/**
 * The storage primitives ({@link RecordRows}) in the `referrals` table: conditional record writes by ETag,
 * index rows in entity-group transactions, companion rows, referral-id rows, counted for benchmarks.
 */
import {
  odata,
  type TableClient,
  type TableEntity,
  type TableEntityQueryOptions,
  type TableEntityResult,
  type TransactionAction,
} from '@azure/data-tables';
import { isRestError } from '@azure/core-rest-pipeline';
import { TrackingStorageError } from './errors';
import { ENTITY_GROUP_MAX_ROWS, RECORD_ROW_KEY } from './openWork';
import {
  REFERRAL_INDEX_ROW_KEY,
  fromEntity,
  fromIndexEntity,
  referralIndexPartition,
  toCompanionEntity,
  toEntity,
  toIndexEntity,
  toReferralEntity,
} from './tableEntities';
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

/** The storage primitives in one table: PartitionKey = trackingId, RowKey = {@link RECORD_ROW_KEY}. */
export class TableRecordRows implements RecordRows {
  readonly #table: TableClient;
  #tableReady: Promise<void> | undefined;
  readonly #stats: RecordRowStats = { reads: 0, writes: 0, queries: 0, indexRequests: 0 };

  constructor(table: TableClient) {
    this.#table = table;
  }

  /** Storage operations made so far. */
  stats(): RecordRowStats {
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
  insert(record: TrackingRecord, writeId: string): Promise<RowWrite> {
    return this.#createRow(toEntity(record, writeId), 'writes', 'Could not create a tracking record');
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
    const key = { partition: trackingId, rowKey: RECORD_ROW_KEY };
    const entity = await this.#getRow(key, 'reads', 'Could not read a tracking record');
    if (!entity) return undefined;
    return { record: fromEntity(entity), writeId: typeof entity.writeId === 'string' ? entity.writeId : '' };
  }

  /** Inserts or replaces the index row `pc-<id>` / `ref` → `{ trackingId }` (not a state change: no ETag). */
  async putReferralIndex(referralId: string, trackingId: string): Promise<void> {
    await this.ensureTable();
    try {
      this.#stats.writes++;
      await this.#table.upsertEntity(toReferralEntity(referralId, trackingId), 'Replace');
    } catch (error) {
      throw new TrackingStorageError('Could not write a referral index row', { cause: error });
    }
  }

  /** Reads the index row of a referral id, or undefined on 404. */
  async getReferralIndex(referralId: string): Promise<string | undefined> {
    const key = { partition: referralIndexPartition(referralId), rowKey: REFERRAL_INDEX_ROW_KEY };
    const entity = await this.#getRow(key, 'reads', 'Could not read a referral index row');
    return typeof entity?.trackingId === 'string' ? entity.trackingId : undefined;
  }

  /** Inserts an index entity; `exists` on 409. */
  insertIndex(entry: IndexEntry): Promise<RowWrite> {
    return this.#createRow(toIndexEntity(entry), 'indexRequests', 'Could not write an index entry');
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
    const entity = await this.#getRow(key, 'indexRequests', 'Could not read an index entry');
    return entity ? fromIndexEntity(entity) : undefined;
  }

  /** Every entity of one index partition: `PartitionKey eq '<partition>'`, nothing else. */
  listIndex(partition: string): AsyncGenerator<StoredIndexEntry> {
    const filter = odata`PartitionKey eq ${partition}`;
    return this.#query({ filter }, 'indexRequests', 'Could not list index entries', fromIndexEntity);
  }

  /** `PartitionKey eq '<partition>' and RowKey ge '<from>' and RowKey lt '<to>'`: only the range is examined. */
  listIndexRange(partition: string, range: { from: string; to: string }): AsyncGenerator<StoredIndexEntry> {
    const filter = odata`PartitionKey eq ${partition} and RowKey ge ${range.from} and RowKey lt ${range.to}`;
    const select = ['PartitionKey', 'RowKey', 'atEpochMs', 'afterEtag'];
    return this.#query({ filter, select }, 'indexRequests', 'Could not list index entries', fromIndexEntity);
  }

  /** `RowKey eq 'record'`: a table scan (the operator's rebuild only). */
  scanRecords(): AsyncGenerator<TrackingRecord> {
    const filter = odata`RowKey eq ${RECORD_ROW_KEY}`;
    return this.#query({ filter }, 'queries', 'Could not scan the tracking records', fromEntity);
  }

  /** Every entity of a record's partition: `PartitionKey eq '<trackingId>'`. */
  async readPartition(trackingId: string): Promise<RecordPartition> {
    const partition: RecordPartition = { keys: [] };
    const filter = odata`PartitionKey eq ${trackingId}`;
    const failure = 'Could not read a record partition';
    for await (const row of this.#query({ filter }, 'indexRequests', failure, (entity) => {
      const rowKey = String(entity.rowKey);
      return { rowKey, record: rowKey === RECORD_ROW_KEY ? fromEntity(entity) : undefined };
    })) {
      partition.keys.push({ partition: trackingId, rowKey: row.rowKey });
      if (row.record) partition.record = row.record;
    }
    return partition;
  }

  /** One query (one request counted, however many pages), each entity mapped; faults as `failure`. */
  async *#query<T>(
    queryOptions: TableEntityQueryOptions,
    counter: keyof RecordRowStats,
    failure: string,
    map: (entity: TableEntityResult<Record<string, unknown>>) => T,
  ): AsyncGenerator<T> {
    await this.ensureTable();
    this.#stats[counter]++;
    try {
      for await (const entity of this.#table.listEntities<Record<string, unknown>>({ queryOptions })) {
        yield map(entity);
      }
    } catch (error) {
      throw new TrackingStorageError(failure, { cause: error });
    }
  }

  /** Inserts an entity; `exists` on 409. */
  async #createRow(entity: TableEntity<object>, counter: keyof RecordRowStats, failure: string): Promise<RowWrite> {
    await this.ensureTable();
    try {
      this.#stats[counter]++;
      const response = await this.#table.createEntity(entity);
      return { ok: true, etag: response.etag ?? '' };
    } catch (error) {
      if (statusOf(error) === 409) return { ok: false, reason: 'exists' };
      throw new TrackingStorageError(failure, { cause: error });
    }
  }

  /** Reads an entity, or undefined on 404. */
  async #getRow(
    key: IndexKey,
    counter: keyof RecordRowStats,
    failure: string,
  ): Promise<TableEntityResult<Record<string, unknown>> | undefined> {
    await this.ensureTable();
    try {
      this.#stats[counter]++;
      return await this.#table.getEntity<Record<string, unknown>>(key.partition, key.rowKey);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new TrackingStorageError(failure, { cause: error });
    }
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

/** Groups keys by partition, in groups of at most {@link ENTITY_GROUP_MAX_ROWS} (an entity-group transaction each). */
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
    for (let i = 0; i < rows.length; i += ENTITY_GROUP_MAX_ROWS) batches.push(rows.slice(i, i + ENTITY_GROUP_MAX_ROWS));
  }
  return batches;
}

/** The HTTP status of a failed request, if it got one. */
function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}
