/**
 * The {@link TrackingRecords} port over {@link RecordRows}, shared by the Table store and the in-memory twin:
 * the conditional record writes (create with its entity-group transaction of open-work entry and companions,
 * update, lost-answer recovery) and the referral-id rows. The index walks are their own modules:
 * openWorkSweep.ts (`listOpen`), retentionPurge.ts (`purgeClosedBefore`), indexRebuild.ts (`rebuildIndexes`).
 */
import { randomUUID } from 'node:crypto';
import { recordTransition } from '../platform/metrics';
import { InvalidTransitionError, TrackingConflictError, TrackingStorageError } from './errors';
import { rebuildIndexes, type RebuildIndexesOptions, type RebuildIndexesReport } from './indexRebuild';
import {
  DEFAULT_ORPHAN_GRACE_MS,
  OPEN_MARKER_PREFIX,
  creationPartitionOf,
  finalEntryOf,
  freshOpenRowKey,
  isOpenWork,
  openPartitionOf,
} from './openWork';
import { sweepOpenWork } from './openWorkSweep';
import { purgeClosedRecords } from './retentionPurge';
import { canTransition } from './states';
import type { NewTrackingRecord, TrackingChanges, TrackingRecord } from './trackingRecord';
import type {
  CompanionRow,
  CreateResult,
  IndexEntry,
  ListOpenOptions,
  PurgeOptions,
  PurgeReport,
  RecordRows,
  TrackingRecords,
} from './trackingRecords';

/** Options for {@link ConditionalTrackingRecords}. */
export interface ConditionalTrackingRecordsOptions {
  /** The storage primitives. */
  rows: RecordRows;
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
  /**
   * Age after which an open-work entry whose record does not exist (or whose update never landed) is
   * removed. A record write landing later than half of it after its entry gets a fresh entry.
   * @default {@link DEFAULT_ORPHAN_GRACE_MS}
   */
  orphanGraceMs?: number;
  /**
   * Rows a decorator keeps beside each record (the list's entry), written with the create's open-work
   * entry in one entity-group transaction: the record is inserted only once they are stored. They must
   * lie in the creation day's partition (`creationPartitionOf(record.createdAtEpochMs)`).
   */
  companionsOf?: (record: TrackingRecord) => CompanionRow[];
}

/**
 * The {@link TrackingRecords} semantics over storage primitives, shared by the Table and in-memory stores
 * so both behave the same: transition checks, timestamps, conditional writes, lost-answer recovery.
 *
 * A conditional write whose answer is lost is retried by the transport and then fails on our own change
 * (412 for a replace, 409 for an insert). Each write therefore stamps a fresh `writeId`; on such a failure
 * the row is re-read, and when the stored `writeId` is ours the write did land:
 * ```
 *  replace(etag=E1, writeId=W) ──► applied (etag E2) ──✗ answer lost
 *  transport retry (etag=E1)   ──► 412
 *  re-read                     ──► writeId == W ──► success with etag E2
 *                              └─► writeId != W ──► TrackingConflictError (someone else wrote)
 * ```
 */
export class ConditionalTrackingRecords implements TrackingRecords {
  readonly #rows: RecordRows;
  readonly #nowMs: () => number;
  readonly #orphanGraceMs: number;
  readonly #companionsOf: ((record: TrackingRecord) => CompanionRow[]) | undefined;

  constructor(options: ConditionalTrackingRecordsOptions) {
    this.#rows = options.rows;
    this.#companionsOf = options.companionsOf;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#orphanGraceMs = options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS;
  }

  /**
   * Inserts a new record; when the trackingId exists already, returns the existing one instead. A record
   * with open work gets its open-work entry first, in its creation day's partition and in one entity-group
   * transaction with the decorator's companion rows (the list's entry); a closed one its retention entry.
   * So a crash between the two writes leaves an entry without a record, never a record the timers (or the
   * list) cannot find.
   */
  async create(record: NewTrackingRecord): Promise<CreateResult> {
    const open = isOpenWork(record);
    const now = this.#nowMs();
    const draft: TrackingRecord = { ...record, createdAtEpochMs: now, updatedAtEpochMs: now, etag: '' };
    const companions = this.#companionsOf?.(draft) ?? [];
    if (open) await this.#writeCreateEntry(record.trackingId, now, companions);
    else {
      await this.#rows.upsertIndex([finalEntryOf(record.trackingId, now)]);
      await this.#rows.mergeCompanions(companions);
    }
    const writeId = randomUUID();
    const written = await this.#rows.insert(draft, writeId);
    if (written.ok) {
      if (open) await this.#guardSlowWrite(record.trackingId, now);
      recordTransition(record.state, record.dealType);
      return { created: true, record: { ...draft, etag: written.etag } };
    }
    const existing = await this.#rows.get(record.trackingId);
    if (!existing) throw new TrackingStorageError(`Tracking record ${record.trackingId} vanished after a conflict`);
    // Our own insert whose answer was lost: the transport retried it and got 409.
    if (existing.writeId === writeId) {
      if (open) await this.#guardSlowWrite(record.trackingId, now);
      return { created: true, record: existing.record };
    }
    return { created: false, existing: existing.record };
  }

  /** Reads a record, or undefined when there is none. */
  async read(trackingId: string): Promise<TrackingRecord | undefined> {
    return (await this.#rows.get(trackingId))?.record;
  }

  /**
   * Applies `changes` if the record still has `record.etag`; checks the state transition first.
   * Throws {@link TrackingConflictError} when someone else wrote in between. A write that gives a closed
   * record open work again writes a fresh open-work entry first; no other write touches the index (the
   * entry of a record that closes is removed by {@link listOpen}).
   */
  async update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    const moves = changes.state !== undefined && changes.state !== record.state;
    if (moves && !canTransition(record.state, changes.state!)) {
      throw new InvalidTransitionError(record.trackingId, record.state, changes.state!);
    }
    const reopens = !isOpenWork(record) && isOpenWork({ ...record, ...changes });
    const entryAtMs = this.#nowMs();
    if (reopens) await this.#writeOpenEntry(record.trackingId, record.etag);
    const next: TrackingRecord = { ...record, ...changes, updatedAtEpochMs: this.#nowMs() };
    const writeId = randomUUID();
    const written = await this.#rows.replace(next, writeId, record.etag);
    if (written.ok) {
      if (reopens) await this.#guardSlowWrite(record.trackingId, entryAtMs);
      if (moves) recordTransition(changes.state!, record.dealType);
      return { ...next, etag: written.etag };
    }
    const current = await this.#rows.get(record.trackingId);
    if (current && current.writeId === writeId) {
      if (reopens) await this.#guardSlowWrite(record.trackingId, entryAtMs);
      return current.record;
    }
    throw new TrackingConflictError(record.trackingId);
  }

  /**
   * Every record with open work, each once, read from the open-work index (which it tidies on the way):
   * {@link sweepOpenWork}.
   */
  async *listOpen(options: ListOpenOptions = {}): AsyncGenerator<TrackingRecord> {
    // The clock is read when the walk starts (the first `next()`), as the port's callers expect.
    yield* sweepOpenWork({
      rows: this.#rows,
      nowMs: this.#nowMs(),
      orphanGraceMs: this.#orphanGraceMs,
      listOptions: options,
    });
  }

  /** Deletes closed records last written before `cutoffEpochMs`: {@link purgeClosedRecords}. */
  purgeClosedBefore(cutoffEpochMs: number, options: PurgeOptions = {}): Promise<PurgeReport> {
    return purgeClosedRecords(this.#rows, cutoffEpochMs, options);
  }

  /**
   * The operator's one-off rebuild (`npm run index:rebuild`) for records written before an index existed,
   * or after an entry was lost in a way the rules do not cover: {@link rebuildIndexes}.
   */
  rebuildIndexes(options: RebuildIndexesOptions = {}): Promise<RebuildIndexesReport> {
    return rebuildIndexes(this.#rows, this.#nowMs(), options);
  }

  /**
   * Writes a create's open-work entry in its creation day's partition with the companion rows: under its
   * plain key (a fresh key when that one is taken: an orphan, a replay, or our own batch whose answer was
   * lost; a fresh key that "exists" is our own batch retried after a lost answer).
   */
  async #writeCreateEntry(trackingId: string, nowMs: number, companions: readonly CompanionRow[]): Promise<void> {
    const entry: IndexEntry = {
      partition: creationPartitionOf(nowMs, trackingId),
      rowKey: `${OPEN_MARKER_PREFIX}${trackingId}`,
      atEpochMs: nowMs,
    };
    const written = await this.#rows.insertIndexWith(entry, companions);
    if (written.ok) return;
    await this.#rows.insertIndexWith(
      { ...entry, rowKey: `${OPEN_MARKER_PREFIX}${freshOpenRowKey(trackingId, nowMs)}` },
      companions,
    );
  }

  /** Writes an open-work entry for `trackingId` in its `open-*` partition, under a fresh key. */
  async #writeOpenEntry(trackingId: string, afterEtag: string): Promise<void> {
    const now = this.#nowMs();
    const entry: IndexEntry = {
      partition: openPartitionOf(trackingId),
      rowKey: freshOpenRowKey(trackingId, now),
      atEpochMs: now,
      afterEtag,
    };
    // A fresh key that "exists" is our own insert retried after a lost answer.
    await this.#rows.insertIndex(entry);
  }

  /**
   * The record write landed long after its entry was written: the sweeper may have taken the entry for an
   * orphan meanwhile (it removes those older than the grace), so the record gets a fresh one.
   */
  async #guardSlowWrite(trackingId: string, entryAtMs: number): Promise<void> {
    if (this.#nowMs() - entryAtMs > this.#orphanGraceMs / 2) await this.#writeOpenEntry(trackingId, '');
  }

  /** Remembers the record of a Partner Center referral id (insert or replace). */
  rememberReferral(referralId: string, trackingId: string): Promise<void> {
    return this.#rows.putReferralIndex(referralId, trackingId);
  }

  /** The record a Partner Center referral id was remembered for, if any. */
  findReferral(referralId: string): Promise<string | undefined> {
    return this.#rows.getReferralIndex(referralId);
  }
}
