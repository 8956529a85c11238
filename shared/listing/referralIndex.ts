/**
 * The referral index: one entry per tracking record, in the partition of its creation day (see
 * indexEntry.ts for the keys), kept in the records' own table since the fold (the creation day's partition
 * also holds that day's open-work entries, which every query here stops below). Every query names one
 * PartitionKey: never a table scan.
 */
import type { TableClient } from '@azure/data-tables';
import { IndexStorageError } from './errors';
import { FIRST_DAY_ROW_KEY, META_PARTITION_KEY } from './constants';
import {
  entryFromEntity,
  ENTRY_ROW_KEY_UPPER_BOUND,
  entryKeysOf,
  isDay,
  partitionKeyOf,
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

  /** Entries of one day partition, in RowKey order (newest first), one service page at a time. */
  async *queryDay(query: DayQuery): AsyncGenerator<IndexEntry[]> {
    await this.ensureTable();
    const conditions = [`PartitionKey eq '${partitionKeyOf(query.day)}'`];
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
