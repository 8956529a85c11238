import { randomUUID } from 'node:crypto';
import { recordTransition } from '../platform/metrics';
import { InvalidTransitionError, TrackingConflictError, TrackingStorageError } from './errors';
import {
  CREATION_DAY_SETTLED_AFTER_DAYS,
  DAY_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  OPEN_MARKER_PREFIX,
  OPEN_MARKER_RANGE,
  OPEN_PARTITION_PREFIX,
  OPEN_PARTITIONS,
  RECORD_ROW_KEY,
  RETENTION_CURSOR_KEYS,
  SWEEP_CURSOR_KEYS,
  SWEEP_FIRST_LOOKBACK_DAYS,
  creationPartitionOf,
  finalPartitionOf,
  freshOpenRowKey,
  isOpenWork,
  openPartitionOf,
  startOfUtcDay,
  trackingIdOfOpenRowKey,
} from './openWork';
import { canTransition } from './states';
import type { NewTrackingRecord, TrackingChanges, TrackingRecord } from './trackingRecord';
import type {
  CompanionRow,
  CreateResult,
  IndexEntry,
  IndexKey,
  ListOpenOptions,
  PurgeOptions,
  PurgeReport,
  RecordRows,
  StoredIndexEntry,
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
  /**
   * Rows a decorator keeps beside each record (the list's entry), written with the create's open-work
   * entry in one entity-group transaction: the record is inserted only once they are stored. They must
   * lie in the creation day's partition (`creationPartitionOf(record.createdAtEpochMs)`).
   */
  companionsOf?: (record: TrackingRecord) => CompanionRow[];
}

/** What one partition's pass of `listOpen` shares with the others. */
interface SweepPass {
  /** Records read so far (null: missing), so each is read and listed once. */
  seen: Map<string, TrackingRecord | null>;
  now: number;
  options: ListOpenOptions;
  /** Records with a kept `open-*` entry. */
  sharded: Set<string>;
  /** A settled creation day: entries of open records move to the `open-*` partitions. */
  move: boolean;
}

/** Options of {@link ConditionalTrackingRecords.rebuildIndexes}. */
export interface RebuildIndexesOptions {
  /** Called for every record the scan meets (a decorator rebuilds its own rows here). */
  onRecord?: (record: TrackingRecord) => Promise<void>;
  /** Count only: nothing is written. @default false */
  dryRun?: boolean;
}

/** What {@link ConditionalTrackingRecords.rebuildIndexes} found and wrote. */
export interface RebuildIndexesReport {
  /** Records the table scan met. */
  records: number;
  /** Of them, records with open work. */
  open: number;
  /** Open-work entries written (records with open work the sweeper could not find). */
  openEntriesWritten: number;
  /** Retention entries written (one per closed record; an upsert, so a second run writes the same rows). */
  retentionEntriesWritten: number;
  /** Referral-id rows written (`pc-<id>`, one per Partner Center or Microsoft referral id a record names). */
  referralRowsWritten: number;
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
   * Every record with open work, each once: reads the open-work entries of the creation days from the
   * sweeper's cursor to today (one query each: PartitionKey pinned, RowKey range) and the `open-*`
   * partitions (one query each), and each named record by key. On the way, an entry of a closed record is
   * replaced by its retention entry (batched: the retention entries are written before the open entries
   * are deleted), an entry whose record is missing is removed once older than the orphan grace
   * (conditionally), and the entries of a settled creation day are moved into the `open-*` partitions (the
   * new entry first), so the cursor moves past the day and a sweep reads a few days, whatever the history.
   */
  async *listOpen(options: ListOpenOptions = {}): AsyncGenerator<TrackingRecord> {
    const now = this.#nowMs();
    const seen = new Map<string, TrackingRecord | null>();
    // Records whose open work an `open-*` entry covers: a settled day's entry of theirs is only removed.
    const sharded = new Set<string>();
    for (const partition of OPEN_PARTITIONS)
      yield* this.#sweep(this.#rows.listIndex(partition), { seen, now, options, sharded, move: false });
    const cursor = await this.#rows.getIndex(SWEEP_CURSOR_KEYS);
    const today = startOfUtcDay(now);
    const firstDay = cursor?.atEpochMs ?? today - SWEEP_FIRST_LOOKBACK_DAYS * DAY_MS;
    let nextCursor = firstDay;
    let contiguous = true;
    for (let day = firstDay; day <= today; day += DAY_MS) {
      const move = day + CREATION_DAY_SETTLED_AFTER_DAYS * DAY_MS <= now;
      const entries = this.#rows.listIndexRange(creationPartitionOf(day), OPEN_MARKER_RANGE);
      const kept = yield* this.#sweep(entries, { seen, now, options, sharded, move });
      if (contiguous && move && kept === 0) nextCursor = day + DAY_MS;
      else contiguous = false;
    }
    // One cursor write a day at most: the first creation day whose entries are not all moved.
    if (nextCursor !== cursor?.atEpochMs)
      await this.#rows.upsertIndex([{ ...SWEEP_CURSOR_KEYS, atEpochMs: nextCursor }]);
  }

  /** One partition's pass of {@link listOpen}; returns how many entries it kept. */
  async *#sweep(entries: AsyncIterable<StoredIndexEntry>, pass: SweepPass): AsyncGenerator<TrackingRecord, number> {
    const { seen, now, options, sharded } = pass;
    const written: IndexEntry[] = [];
    const removed: IndexKey[] = [];
    let kept = 0;
    const flush = async (): Promise<void> => {
      // New entries first (retention, moved): a crash between the two leaves the old entry, redone next pass.
      await this.#rows.upsertIndex(written.splice(0));
      await this.#rows.deleteRows(removed.splice(0));
    };
    try {
      for await (const entry of entries) {
        const trackingId = trackingIdOfOpenRowKey(entry.rowKey);
        const known = seen.get(trackingId);
        const first = known === undefined;
        const record = first ? ((await this.#rows.get(trackingId))?.record ?? null) : known;
        if (first) seen.set(trackingId, record);
        const expired = entry.atEpochMs < now - this.#orphanGraceMs;
        const key: IndexKey = { partition: entry.partition, rowKey: entry.rowKey };
        if (record === null) {
          // A create that crashed before its insert; a younger entry may belong to an insert in flight.
          if (expired) await this.#rows.deleteRowIfMatch(entry, entry.etag);
          else kept++;
          continue;
        }
        if (!isOpenWork(record)) {
          // An update that reopens writes its entry with the ETag it is conditional on: while the record
          // still has that ETag, the update may still land (kept until the grace says it never will).
          if (entry.afterEtag !== record.etag || expired) {
            removed.push(key);
            if (first) written.push(finalEntryOf(trackingId, record.updatedAtEpochMs));
            if (removed.length >= BATCH_ROWS) await flush();
          } else {
            kept++;
            if (entry.partition.startsWith(OPEN_PARTITION_PREFIX)) sharded.add(trackingId);
          }
          continue;
        }
        if (pass.move) {
          // A settled day's entry: the record gets one in its `open-*` partition (unless it has one), first.
          if (!sharded.has(trackingId))
            written.push({
              partition: openPartitionOf(trackingId),
              rowKey: freshOpenRowKey(trackingId, now),
              atEpochMs: entry.atEpochMs,
              ...(entry.afterEtag ? { afterEtag: entry.afterEtag } : {}),
            });
          sharded.add(trackingId);
          removed.push(key);
          if (removed.length >= BATCH_ROWS) await flush();
        } else {
          kept++;
          if (entry.partition.startsWith(OPEN_PARTITION_PREFIX)) sharded.add(trackingId);
        }
        const wanted =
          options.updatedBeforeEpochMs === undefined || record.updatedAtEpochMs < options.updatedBeforeEpochMs;
        if (first && wanted) yield record;
      }
    } finally {
      await flush();
    }
    return kept;
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
   * Writes a create's open-work entry in its creation day's partition with the companion rows: under its
   * plain key (a fresh key when that one is taken: an orphan, a replay, or our own batch whose answer was
   * lost; a fresh key that "exists" is our own batch retried after a lost answer).
   */
  async #writeCreateEntry(trackingId: string, nowMs: number, companions: readonly CompanionRow[]): Promise<void> {
    const entry: IndexEntry = {
      partition: creationPartitionOf(nowMs),
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

  /**
   * The operator's one-off rebuild (`npm run index:rebuild`) for records written before an index existed,
   * or after an entry was lost in a way the rules do not cover: ONE TABLE SCAN of the records, plus the
   * partitions the sweeper reads. Gives every record with open work the sweeper cannot find an entry (in its
   * `open-*` partition), every closed record its retention entry (filed no earlier than the retention
   * cursor's day, so the timer meets it), every referral id a record names its `pc-<id>` row, and hands
   * each record to `onRecord`. Idempotent: a second run finds every open record indexed.
   */
  async rebuildIndexes(options: RebuildIndexesOptions = {}): Promise<RebuildIndexesReport> {
    const report: RebuildIndexesReport = {
      records: 0,
      open: 0,
      openEntriesWritten: 0,
      retentionEntriesWritten: 0,
      referralRowsWritten: 0,
    };
    const now = this.#nowMs();
    const indexed = await this.#indexedTrackingIds(now);
    const retentionCursor = await this.#rows.getIndex(RETENTION_CURSOR_KEYS);
    const earliestFiling = retentionCursor?.atEpochMs ?? startOfUtcDay(now);
    const pending: IndexEntry[] = [];
    const flush = async (): Promise<void> => {
      if (!options.dryRun) await this.#rows.upsertIndex(pending.splice(0));
      else pending.length = 0;
    };
    for await (const record of this.#rows.scanRecords()) {
      report.records++;
      if (isOpenWork(record)) {
        report.open++;
        if (!indexed.has(record.trackingId)) {
          report.openEntriesWritten++;
          pending.push({
            partition: openPartitionOf(record.trackingId),
            rowKey: freshOpenRowKey(record.trackingId, now),
            atEpochMs: now,
          });
        }
      } else {
        report.retentionEntriesWritten++;
        pending.push(finalEntryOf(record.trackingId, Math.max(record.updatedAtEpochMs, earliestFiling)));
      }
      for (const referralId of [record.partnerReferralId, record.microsoftReferralId]) {
        if (!referralId) continue;
        report.referralRowsWritten++;
        if (!options.dryRun) await this.#rows.putReferralIndex(referralId, record.trackingId);
      }
      if (!options.dryRun) await options.onRecord?.(record);
      if (pending.length >= BATCH_ROWS) await flush();
    }
    await flush();
    return report;
  }

  /** The trackingIds the open-work entries name that {@link listOpen} reads (read only). */
  async #indexedTrackingIds(now: number): Promise<Set<string>> {
    const ids = new Set<string>();
    const cursor = await this.#rows.getIndex(SWEEP_CURSOR_KEYS);
    const today = startOfUtcDay(now);
    for (let day = cursor?.atEpochMs ?? today - SWEEP_FIRST_LOOKBACK_DAYS * DAY_MS; day <= today; day += DAY_MS)
      for await (const entry of this.#rows.listIndexRange(creationPartitionOf(day), OPEN_MARKER_RANGE))
        ids.add(trackingIdOfOpenRowKey(entry.rowKey));
    for (const partition of OPEN_PARTITIONS)
      for await (const entry of this.#rows.listIndex(partition)) ids.add(trackingIdOfOpenRowKey(entry.rowKey));
    return ids;
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
