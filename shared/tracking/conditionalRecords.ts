import { randomUUID } from 'node:crypto';
import { recordTransition } from '../platform/metrics';
import { InvalidTransitionError, TrackingConflictError, TrackingStorageError } from './errors';
import {
  DAY_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  OPEN_PARTITIONS,
  RECORD_ROW_KEY,
  RETENTION_CURSOR_KEYS,
  finalPartitionOf,
  freshOpenRowKey,
  isOpenWork,
  openPartitionOf,
  plainOpenRowKey,
  startOfUtcDay,
  trackingIdOfOpenRowKey,
} from './openWork';
import { canTransition } from './states';
import type { NewTrackingRecord, TrackingChanges, TrackingRecord } from './trackingRecord';
import type {
  CreateResult,
  IndexEntry,
  IndexKey,
  ListOpenOptions,
  PurgeOptions,
  PurgeReport,
  RecordRows,
  TrackingRecords,
} from './trackingRecords';

/** Rows of one entity-group batch at most (Table Storage's limit). */
const BATCH_ROWS = 100;
/** Days before the first expired day the retention timer looks at when it has no cursor yet. */
const RETENTION_FIRST_LOOKBACK_DAYS = 62;

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

  constructor(options: ConditionalTrackingRecordsOptions) {
    this.#rows = options.rows;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#orphanGraceMs = options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS;
  }

  /**
   * Inserts a new record; when the trackingId exists already, returns the existing one instead. A record
   * with open work gets its open-work entry first (a closed one its retention entry), so a crash between the
   * two writes leaves an entry without a record, never a record the timers cannot find.
   */
  async create(record: NewTrackingRecord): Promise<CreateResult> {
    const open = isOpenWork(record);
    const entryAtMs = this.#nowMs();
    if (open) await this.#writeOpenEntry(record.trackingId, '', true);
    else await this.#rows.upsertIndex([finalEntryOf(record.trackingId, entryAtMs)]);
    const now = this.#nowMs();
    const writeId = randomUUID();
    const draft: TrackingRecord = { ...record, createdAtEpochMs: now, updatedAtEpochMs: now, etag: '' };
    const written = await this.#rows.insert(draft, writeId);
    if (written.ok) {
      if (open) await this.#guardSlowWrite(record.trackingId, entryAtMs);
      recordTransition(record.state, record.dealType);
      return { created: true, record: { ...draft, etag: written.etag } };
    }
    const existing = await this.#rows.get(record.trackingId);
    if (!existing) throw new TrackingStorageError(`Tracking record ${record.trackingId} vanished after a conflict`);
    // Our own insert whose answer was lost: the transport retried it and got 409.
    if (existing.writeId === writeId) {
      if (open) await this.#guardSlowWrite(record.trackingId, entryAtMs);
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
    if (reopens) await this.#writeOpenEntry(record.trackingId, record.etag, false);
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
   * Every record with open work, each once: reads the open-work partitions (one query each, PartitionKey
   * pinned) and each named record by key. On the way, an entry of a closed record is replaced by its
   * retention entry (batched: the retention entries are written before the open entries are deleted), and
   * an entry whose record is missing is removed once older than the orphan grace (conditionally).
   */
  async *listOpen(options: ListOpenOptions = {}): AsyncGenerator<TrackingRecord> {
    const now = this.#nowMs();
    const seen = new Map<string, TrackingRecord | null>();
    for (const partition of OPEN_PARTITIONS) {
      const finals: IndexEntry[] = [];
      const closed: IndexKey[] = [];
      const flush = async (): Promise<void> => {
        // Retention entries first: a crash between the two leaves an open entry, which the next pass redoes.
        await this.#rows.upsertIndex(finals.splice(0));
        await this.#rows.deleteRows(closed.splice(0));
      };
      try {
        for await (const entry of this.#rows.listIndex(partition)) {
          const trackingId = trackingIdOfOpenRowKey(entry.rowKey);
          const known = seen.get(trackingId);
          const first = known === undefined;
          const record = first ? ((await this.#rows.get(trackingId))?.record ?? null) : known;
          if (first) seen.set(trackingId, record);
          const expired = entry.atEpochMs < now - this.#orphanGraceMs;
          if (record === null) {
            // A create that crashed before its insert; a younger entry may belong to an insert in flight.
            if (expired) await this.#rows.deleteRowIfMatch(entry, entry.etag);
            continue;
          }
          if (!isOpenWork(record)) {
            // An update that reopens writes its entry with the ETag it is conditional on: while the record
            // still has that ETag, the update may still land (kept until the grace says it never will).
            if (entry.afterEtag !== record.etag || expired) {
              closed.push({ partition: entry.partition, rowKey: entry.rowKey });
              if (first) finals.push(finalEntryOf(trackingId, record.updatedAtEpochMs));
              if (closed.length >= BATCH_ROWS) await flush();
            }
            continue;
          }
          const wanted =
            options.updatedBeforeEpochMs === undefined || record.updatedAtEpochMs < options.updatedBeforeEpochMs;
          if (first && wanted) yield record;
        }
      } finally {
        await flush();
      }
    }
  }

  /**
   * Deletes closed records last written before `cutoffEpochMs`: walks the retention partitions of the
   * expired days from the cursor (one query each, PartitionKey pinned), reads each named record's partition
   * (pinned), deletes the record if it is still the one read (If-Match) and then the partition's other rows.
   * A record written again since it was filed is filed again under its new day; one with open work again is
   * left alone (it is filed again when it closes).
   */
  async purgeClosedBefore(cutoffEpochMs: number, options: PurgeOptions = {}): Promise<PurgeReport> {
    const maxRecords = options.maxRecords ?? 5000;
    const report: PurgeReport = { deleted: 0, refiled: 0, dropped: 0, daysFinished: 0, truncated: false };
    const lastDay = startOfUtcDay(cutoffEpochMs) - DAY_MS;
    const cursor = await this.#rows.getIndex(RETENTION_CURSOR_KEYS);
    let handled = 0;
    const first = cursor?.atEpochMs ?? lastDay - RETENTION_FIRST_LOOKBACK_DAYS * DAY_MS;
    let next = first;
    for (let day = first; day <= lastDay; day += DAY_MS) {
      const done: IndexKey[] = [];
      let finished = true;
      for await (const entry of this.#rows.listIndex(finalPartitionOf(day))) {
        if (handled >= maxRecords) {
          finished = false;
          report.truncated = true;
          break;
        }
        handled++;
        const outcome = await this.#purgeOne(entry.rowKey, cutoffEpochMs, options);
        if (outcome === 'changed') finished = false;
        else {
          report[outcome]++;
          done.push({ partition: entry.partition, rowKey: entry.rowKey });
        }
      }
      await this.#rows.deleteRows(done);
      if (!finished) break;
      next = day + DAY_MS;
      report.daysFinished++;
    }
    // One cursor write per run: the first day not finished.
    if (next !== cursor?.atEpochMs) await this.#rows.upsertIndex([{ ...RETENTION_CURSOR_KEYS, atEpochMs: next }]);
    return report;
  }

  async #purgeOne(
    trackingId: string,
    cutoffEpochMs: number,
    options: PurgeOptions,
  ): Promise<'deleted' | 'refiled' | 'dropped' | 'changed'> {
    const { record, keys } = await this.#rows.readPartition(trackingId);
    const others = keys.filter((key) => key.rowKey !== RECORD_ROW_KEY);
    if (!record) {
      await this.#rows.deleteRows(others);
      return 'dropped';
    }
    if (isOpenWork(record)) return 'dropped';
    if (record.updatedAtEpochMs >= cutoffEpochMs) {
      await this.#rows.upsertIndex([finalEntryOf(trackingId, record.updatedAtEpochMs)]);
      return 'refiled';
    }
    const deleted = await this.#rows.deleteRowIfMatch({ partition: trackingId, rowKey: RECORD_ROW_KEY }, record.etag);
    if (!deleted) return 'changed';
    await this.#rows.deleteRows(others);
    await options.onDeleted?.(record);
    return 'deleted';
  }

  /**
   * Writes an open-work entry for `trackingId`: under its plain key for a create (a fresh key when that one
   * is taken: an orphan, a replay, or our own insert whose answer was lost), under a fresh key otherwise.
   */
  async #writeOpenEntry(trackingId: string, afterEtag: string, plain: boolean): Promise<void> {
    const now = this.#nowMs();
    const entry: IndexEntry = {
      partition: openPartitionOf(trackingId),
      rowKey: plain ? plainOpenRowKey(trackingId) : freshOpenRowKey(trackingId, now),
      atEpochMs: now,
      afterEtag,
    };
    const written = await this.#rows.insertIndex(entry);
    // A fresh key that "exists" is our own insert retried after a lost answer.
    if (written.ok || !plain) return;
    await this.#rows.insertIndex({ ...entry, rowKey: freshOpenRowKey(trackingId, now) });
  }

  /**
   * The record write landed long after its entry was written: the sweeper may have taken the entry for an
   * orphan meanwhile (it removes those older than the grace), so the record gets a fresh one.
   */
  async #guardSlowWrite(trackingId: string, entryAtMs: number): Promise<void> {
    if (this.#nowMs() - entryAtMs > this.#orphanGraceMs / 2) await this.#writeOpenEntry(trackingId, '', false);
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

/** The retention entry of a record closed (last written) at `closedAtEpochMs`. */
function finalEntryOf(trackingId: string, closedAtEpochMs: number): IndexEntry {
  return { partition: finalPartitionOf(closedAtEpochMs), rowKey: trackingId, atEpochMs: closedAtEpochMs };
}
