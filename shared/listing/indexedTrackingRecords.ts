/**
 * A decorator of the tracking-record store that keeps the referral index in step with it: same public
 * methods, each delegated; after each successful write the record's index entry is written.
 *
 * ```
 * create:  index entry (projection, createdAt = t) ──► record insert (createdAt = t, pinned clock)
 *          └ insert says "exists already" ──► delete our entry; insert the existing record's entry if absent
 * update:  record conditional write ──► merge the entry's projection (best effort: a failure is logged)
 * ```
 * A record therefore never exists without an entry (the entry comes first); an entry may exist without a
 * record (a crash between the two writes, a lost delete): the list reads every record of a page by its
 * key and skips such orphans. A projection left stale by a failed merge is corrected by the record's
 * next write, and by the list (read repair) when it meets it.
 */
import type { TrackingChanges, TrackingRecord } from '../tracking/trackingRecord';
import type { ListOpenOptions, PurgeOptions, PurgeReport, TrackingRecords } from '../tracking/trackingRecords';
import type { CreateResult, TrackingStoreStats } from '../tracking/trackingStore';
import type { Logger } from '../platform/logging';
import { ensureError } from '../platform/errors';
import type { CreationClock } from './creationClock';
import { entryKeysOf, projectionOf } from './indexEntry';
import type { ReferralIndex } from './referralIndex';

/** A new record as the store's `create` takes it. */
export type NewTrackingRecord = Omit<TrackingRecord, 'etag' | 'createdAtEpochMs' | 'updatedAtEpochMs'>;

/** The public methods of the tracking-record store (TrackingStore today; the TrackingRecords port at merge). */
export interface TrackingRecordsLike extends TrackingRecords {
  ensureTable(): Promise<void>;
  stats(): TrackingStoreStats;
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

  /** Writes the entry, then inserts the record with the same creation instant. Throws before the insert when the entry cannot be written. */
  async create(record: NewTrackingRecord): Promise<CreateResult> {
    const createdAtEpochMs = this.#clock.freshNowMs();
    const planned = projectionOf({ ...record, createdAtEpochMs, updatedAtEpochMs: createdAtEpochMs });
    await this.#index.write(planned);
    const result = await this.#clock.run(createdAtEpochMs, () => this.#records.create(record));
    if (result.created) {
      if (result.record.createdAtEpochMs !== createdAtEpochMs) {
        // The store was not built with the creation clock: move the entry to the record's own instant.
        await this.#bestEffort(record.trackingId, async () => {
          await this.#index.write(projectionOf(result.record));
          await this.#index.remove(entryKeysOf(createdAtEpochMs, record.trackingId));
        });
      }
      return result;
    }
    await this.#bestEffort(record.trackingId, async () => {
      await this.#index.remove(entryKeysOf(createdAtEpochMs, record.trackingId));
      await this.#index.insertIfAbsent(projectionOf(result.existing));
    });
    return result;
  }

  read(trackingId: string): Promise<TrackingRecord | undefined> {
    return this.#records.read(trackingId);
  }

  /** The record's conditional write, then its entry's projection (a failure there is logged, not thrown). */
  async update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    const next = await this.#records.update(record, changes);
    await this.#bestEffort(record.trackingId, () => this.#index.write(projectionOf(next, record)));
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
