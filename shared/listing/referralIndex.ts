/**
 * The referral index: one entry per tracking record, in its creation day's partition of its shard (see
 * indexEntry.ts for the keys), kept in the records' own table since the fold (the creation day's
 * partitions also hold that day's open-work entries, which every query here stops below). Every query
 * names one PartitionKey: never a table scan. A day is read as its eight shard queries merged by RowKey.
 */
import type { TableClient } from '@azure/data-tables';
import { IndexStorageError } from './errors';
import { mergeByRowKey } from './mergeByRowKey';
import { FIRST_DAY_ROW_KEY, META_PARTITION_KEY } from './constants';
import {
  entryFromEntity,
  ENTRY_ROW_KEY_UPPER_BOUND,
  entryKeysOf,
  isDay,
  partitionKeysOf,
  type IndexEntry,
  type IndexProjection,
} from './indexEntry';

/** Options of {@link ReferralIndex}. */
export interface ReferralIndexOptions {
  /** A TableClient for the index table. */
  table: TableClient;
}

/** Counts of the index's storage operations (tests, docs/console.md figures). */
export interface ReferralIndexStats {
  writes: number;
  queries: number;
  /** Entities the service returned to queries (examined server-side: at least this many). */
  entitiesReturned: number;
}

/** One day partition's query: a server-side filter on the projection, after a RowKey, in pages. */
export interface DayQuery {
  day: string;
  /** OData filter on projection properties, already escaped (built by listFilters.ts). */
  filter?: string;
  /** Start after this RowKey (exclusive): the cursor's position. */
  afterRowKey?: string;
  /** Entities per service page. */
  pageSize: number;
  /** Properties to return (all when absent). */
  select?: string[];
}

/** Reads and writes index entries. */
export class ReferralIndex {
  readonly #table: TableClient;
  #tableReady: Promise<void> | undefined;
  #firstDayNoted: string | undefined;
  readonly #stats: ReferralIndexStats = { writes: 0, queries: 0, entitiesReturned: 0 };

  constructor(options: ReferralIndexOptions) {
    this.#table = options.table;
  }

  /** Operations made so far. */
  stats(): ReferralIndexStats {
    return { ...this.#stats };
  }

  /** Creates the table once per process (409 is fine). */
  async ensureTable(): Promise<void> {
    this.#tableReady ??= this.#table.createTable().catch((error: unknown) => {
      this.#tableReady = undefined;
      throw new IndexStorageError('Could not create the referral index table', { cause: error });
    });
    return this.#tableReady;
  }

  /** Writes (merges) the entry of a record: keys from its creation time, properties from the projection. */
  async write(projection: IndexProjection): Promise<void> {
    await this.ensureTable();
    await this.#noteDay(projection.createdAtEpochMs);
    this.#stats.writes++;
    try {
      await this.#table.upsertEntity(
        { ...entryKeysOf(projection.createdAtEpochMs, projection.trackingId), ...projection },
        'Merge',
      );
    } catch (error) {
      throw new IndexStorageError('Could not write a referral index entry', { cause: error });
    }
  }

  /** Inserts the entry only when there is none (a repair that never overwrites a newer projection). */
  async insertIfAbsent(projection: IndexProjection): Promise<void> {
    await this.ensureTable();
    this.#stats.writes++;
    try {
      await this.#table.createEntity({
        ...entryKeysOf(projection.createdAtEpochMs, projection.trackingId),
        ...projection,
      });
    } catch (error) {
      if (statusOf(error) === 409) return;
      throw new IndexStorageError('Could not insert a referral index entry', { cause: error });
    }
  }

  /** Deletes an entry (an absent one is fine). */
  async remove(keys: { partitionKey: string; rowKey: string }): Promise<void> {
    this.#stats.writes++;
    try {
      await this.#table.deleteEntity(keys.partitionKey, keys.rowKey);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw new IndexStorageError('Could not delete a referral index entry', { cause: error });
    }
  }

  /** The oldest day that has entries, or undefined when nothing was ever indexed. One point read. */
  async firstDay(): Promise<string | undefined> {
    await this.ensureTable();
    try {
      const entity = await this.#table.getEntity<{ day?: unknown }>(META_PARTITION_KEY, FIRST_DAY_ROW_KEY);
      return typeof entity.day === 'string' && isDay(entity.day) ? entity.day : undefined;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new IndexStorageError('Could not read the referral index', { cause: error });
    }
  }

  /**
   * Entries of one day, in RowKey order (newest first): its shard partitions' queries merged by RowKey, in
   * pages. Each shard's service pages hold twice its share of `pageSize` (the shards hold a day's entries
   * about equally): a page of the list usually costs one query per shard and little more than `pageSize`
   * entities, and a shard that runs short is read on, page by page.
   */
  async *queryDay(query: DayQuery): AsyncGenerator<IndexEntry[]> {
    await this.ensureTable();
    const partitionKeys = partitionKeysOf(query.day);
    const shardPageSize = Math.max(1, Math.ceil((2 * query.pageSize) / partitionKeys.length));
    yield* mergeByRowKey(
      partitionKeys.map((partitionKey) => this.#queryPartition(partitionKey, { ...query, pageSize: shardPageSize })),
    );
  }

  async *#queryPartition(partitionKey: string, query: DayQuery): AsyncGenerator<IndexEntry[]> {
    const conditions = [`PartitionKey eq '${partitionKey}'`];
    if (query.afterRowKey !== undefined) conditions.push(`RowKey gt '${query.afterRowKey}'`);
    // The day's open-work entries (the tracking store's, same partition) sort above every list entry.
    conditions.push(`RowKey lt '${ENTRY_ROW_KEY_UPPER_BOUND}'`);
    if (query.filter) conditions.push(`(${query.filter})`);
    const pages = this.#table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter: conditions.join(' and '), ...(query.select ? { select: query.select } : {}) },
      })
      .byPage({ maxPageSize: query.pageSize });
    try {
      this.#stats.queries++;
      for await (const page of pages) {
        this.#stats.entitiesReturned += page.length;
        const entries = page.map((entity) => entryFromEntity(entity)).filter((e): e is IndexEntry => e !== undefined);
        if (entries.length > 0) yield entries;
      }
    } catch (error) {
      throw new IndexStorageError('Could not query the referral index', { cause: error });
    }
  }

  /**
   * Keeps the bookkeeping entity at the oldest indexed day: inserted by the first writer; moved back only
   * when this process writes an older day than it knows of (a backfill, a clock set back). Normally one
   * insert per process and nothing after. Called before an entry of that day is written (by this index,
   * or by the tracking store as the create's companion row).
   */
  async noteDay(createdAtEpochMs: number): Promise<void> {
    await this.ensureTable();
    return this.#noteDay(createdAtEpochMs);
  }

  async #noteDay(createdAtEpochMs: number): Promise<void> {
    const day = new Date(createdAtEpochMs).toISOString().slice(0, 10);
    if (this.#firstDayNoted !== undefined && day >= this.#firstDayNoted) return;
    try {
      this.#stats.writes++;
      await this.#table.createEntity({ partitionKey: META_PARTITION_KEY, rowKey: FIRST_DAY_ROW_KEY, day });
      this.#firstDayNoted = day;
      return;
    } catch (error) {
      if (statusOf(error) !== 409) throw new IndexStorageError('Could not write the referral index', { cause: error });
    }
    try {
      const stored = await this.#table.getEntity<{ day?: unknown }>(META_PARTITION_KEY, FIRST_DAY_ROW_KEY);
      const storedDay = typeof stored.day === 'string' && isDay(stored.day) ? stored.day : undefined;
      if (storedDay === undefined || day < storedDay) {
        this.#stats.writes++;
        await this.#table.updateEntity(
          { partitionKey: META_PARTITION_KEY, rowKey: FIRST_DAY_ROW_KEY, day },
          'Replace',
          { etag: stored.etag },
        );
        this.#firstDayNoted = day;
      } else this.#firstDayNoted = storedDay;
    } catch (error) {
      // 412: another writer moved it meanwhile; the next older write tries again.
      if (statusOf(error) !== 412) throw new IndexStorageError('Could not write the referral index', { cause: error });
    }
  }
}

/** HTTP status of a storage SDK error. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  return typeof error.statusCode === 'number' ? error.statusCode : undefined;
}
