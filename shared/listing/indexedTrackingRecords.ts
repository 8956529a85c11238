/**
 * A decorator of the tracking-record store that keeps the referral index in step with it: same public
 * methods, each delegated; after each successful write the record's index entry is written.
 *
 * ```
 * (the index lives in the records' table; the store is built with listEntryRowsOf)
 * create:  ┌ one entity-group transaction, partition created-<day of t>-<shard> ┐
 *          │  open-work entry ~o-<id>  +  list entry (projection)       │ ──► record insert (createdAt = t)
 *          └────────────────────────────────────────────────────────────┘
 *          └ insert says "exists already" ──► delete our entry; insert the existing record's entry if absent
 * update:  record conditional write ──► merge the entry's projection when it changes what the index answers
 *          (not between two in-progress states; best effort: a failure is logged)
 * ```
 * A record therefore never exists without an entry (the entry comes first); an entry may exist without a
 * record (a crash between the two writes, a lost delete): the list reads every record of a page by its
 * key and skips such orphans. A projection left stale by a failed merge is corrected by the record's
 * next write, and by the list (read repair) when it meets it.
 */
import type { TrackingChanges, TrackingRecord } from '../tracking/trackingRecord';
import type { RebuildIndexesOptions, RebuildIndexesReport } from '../tracking/indexRebuild';
import type {
  CompanionRow,
  CreateResult,
  ListOpenOptions,
  PurgeOptions,
  PurgeReport,
  TrackingRecords,
} from '../tracking/trackingRecords';
import type { TrackingStoreStats } from '../tracking/trackingStore';
import type { Logger } from '../platform/logging';
import { ensureError } from '../platform/errors';
import type { CreationClock } from './creationClock';
import { entryKeysOf, listEntryRowOf, projectionChanged, projectionOf } from './indexEntry';
import type { ReferralIndex } from './referralIndex';

/** A new record as the store's `create` takes it. */
export type NewTrackingRecord = Omit<TrackingRecord, 'etag' | 'createdAtEpochMs' | 'updatedAtEpochMs'>;

/** The public methods of the tracking-record store (TrackingStore today; the TrackingRecords port at merge). */
export interface TrackingRecordsLike extends TrackingRecords {
  ensureTable(): Promise<void>;
  stats(): TrackingStoreStats;
  /** The operator's rebuild (a table scan): see ConditionalTrackingRecords.rebuildIndexes. */
  rebuildIndexes(options?: RebuildIndexesOptions): Promise<RebuildIndexesReport>;
}

/** What the rebuild did, with the list entries it inserted. */
export interface IndexRebuildReport extends RebuildIndexesReport {
  /** List entries written (inserted when absent: a newer projection is never overwritten). */
  listEntriesWritten: number;
}

/**
 * The tracking store's companion rows of a new record: its list entry. A store built with this (and an
 * index on the records' own table) writes the entry with the create's open-work entry, in one request.
 */
export function listEntryRowsOf(record: TrackingRecord): CompanionRow[] {
  return [listEntryRowOf(record)];
}

/** Options of {@link IndexedTrackingRecords}. */
export interface IndexedTrackingRecordsOptions {
  /** The store being decorated, built with `clock.nowMs` as its clock. */
  records: TrackingRecordsLike;
  index: ReferralIndex;
  clock: CreationClock;
  logger?: Logger;
}

/** The tracking-record store with the referral index kept beside it. */
export class IndexedTrackingRecords implements TrackingRecordsLike {
  readonly #records: TrackingRecordsLike;
  readonly #index: ReferralIndex;
  readonly #clock: CreationClock;
  readonly #logger: Logger | undefined;

  constructor(options: IndexedTrackingRecordsOptions) {
    this.#records = options.records;
    this.#index = options.index;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  /** The index this decorator writes (the list and the summary read it). */
  get index(): ReferralIndex {
    return this.#index;
  }

  ensureTable(): Promise<void> {
    return this.#records.ensureTable();
  }

  stats(): TrackingStoreStats {
    return this.#records.stats();
  }

  /**
   * Has the store write the entry with the open-work entry, then inserts the record with the
   * same creation instant. Throws before the insert when the entry cannot be written.
   */
  async create(record: NewTrackingRecord): Promise<CreateResult> {
    const createdAtEpochMs = this.#clock.freshNowMs();
    await this.#index.noteDay(createdAtEpochMs);
    const result = await this.#clock.run(createdAtEpochMs, () => this.#records.create(record));
    if (result.created) return result;
    await this.#bestEffort(record.trackingId, async () => {
      await this.#index.remove(entryKeysOf(createdAtEpochMs, record.trackingId));
      await this.#index.insertIfAbsent(projectionOf(result.existing));
    });
    return result;
  }

  read(trackingId: string): Promise<TrackingRecord | undefined> {
    return this.#records.read(trackingId);
  }

  /**
   * The record's conditional write, then its entry's projection when that changes what the index answers
   * (`projectionChanged`: not between two in-progress states); a failure there is logged, not thrown.
   */
  async update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    const next = await this.#records.update(record, changes);
    const projection = projectionOf(next, record);
    if (projectionChanged(projectionOf(record), projection))
      await this.#bestEffort(record.trackingId, () => this.#index.write(projection));
    return next;
  }

  rememberReferral(referralId: string, trackingId: string): Promise<void> {
    return this.#records.rememberReferral(referralId, trackingId);
  }

  findReferral(referralId: string): Promise<string | undefined> {
    return this.#records.findReferral(referralId);
  }

  listOpen(options?: ListOpenOptions): AsyncIterable<TrackingRecord> {
    return this.#records.listOpen(options);
  }

  /**
   * The operator's rebuild for records written before the indexes (`npm run index:rebuild`): one scan of
   * the records table (the store's entries), and for each record its list entry inserted when absent.
   */
  async rebuildIndexes(options: RebuildIndexesOptions = {}): Promise<IndexRebuildReport> {
    let listEntriesWritten = 0;
    const report = await this.#records.rebuildIndexes({
      ...options,
      onRecord: async (record) => {
        await this.#index.noteDay(record.createdAtEpochMs);
        await this.#index.insertIfAbsent(projectionOf(record));
        listEntriesWritten++;
        await options.onRecord?.(record);
      },
    });
    return { ...report, listEntriesWritten };
  }

  /** Retention: the store deletes the record's partition, the decorator its list-index entry. */
  purgeClosedBefore(cutoffEpochMs: number, options: PurgeOptions = {}): Promise<PurgeReport> {
    return this.#records.purgeClosedBefore(cutoffEpochMs, {
      ...options,
      onDeleted: async (record) => {
        await this.#bestEffort(record.trackingId, () =>
          this.#index.remove(entryKeysOf(record.createdAtEpochMs, record.trackingId)),
        );
        await options.onDeleted?.(record);
      },
    });
  }

  async #bestEffort(trackingId: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (thrown) {
      const error = ensureError(thrown);
      this.#logger?.warn('Referral index entry not updated (repaired by the next write or the list)', {
        trackingId,
        reason: `${error.name}: ${error.message}`.slice(0, 300),
      });
    }
  }
}
