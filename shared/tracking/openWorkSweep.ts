/**
 * The sweeper's walk of the open-work index (`TrackingRecords.listOpen`): reads the `open-*` partitions
 * and the entry ranges of the creation days from the `$sweeper` cursor to today, each named record by key,
 * and tidies the index on the way (closed records filed for retention, orphans removed after the grace,
 * settled days moved into the `open-*` partitions). docs/architecture.md ("Open-work index") has the rules.
 */
import {
  CREATION_DAY_SETTLED_AFTER_DAYS,
  DAY_MS,
  ENTITY_GROUP_MAX_ROWS,
  OPEN_MARKER_RANGE,
  OPEN_PARTITION_PREFIX,
  OPEN_PARTITIONS,
  SWEEP_CURSOR_KEYS,
  SWEEP_FIRST_LOOKBACK_DAYS,
  creationPartitionsOfDay,
  finalEntryOf,
  freshOpenRowKey,
  isOpenWork,
  openPartitionOf,
  startOfUtcDay,
  trackingIdOfOpenRowKey,
} from './openWork';
import type { TrackingRecord } from './trackingRecord';
import type { IndexEntry, IndexKey, ListOpenOptions, RecordRows, StoredIndexEntry } from './trackingRecords';

/** What {@link sweepOpenWork} reads, and when it runs. */
export interface OpenWorkSweepOptions {
  /** The storage primitives. */
  rows: RecordRows;
  /** The sweep's instant (one clock read per sweep). */
  nowMs: number;
  /** Age after which an entry whose record is missing (or whose reopening update never landed) is removed. */
  orphanGraceMs: number;
  /** The caller's filter. */
  listOptions?: ListOpenOptions;
}

/** What one partition's pass of the sweep shares with the others. */
interface SweepPass {
  rows: RecordRows;
  orphanGraceMs: number;
  /** Records read so far (null: missing), so each is read and listed once. */
  seen: Map<string, TrackingRecord | null>;
  now: number;
  options: ListOpenOptions;
  /** Records with a kept `open-*` entry. */
  sharded: Set<string>;
  /** A settled creation day: entries of open records move to the `open-*` partitions. */
  move: boolean;
}

/**
 * Every record with open work, each once: reads the open-work entries of the creation days from the
 * sweeper's cursor to today (one query per shard of a day: PartitionKey pinned, RowKey range) and the `open-*`
 * partitions (one query each), and each named record by key. On the way, an entry of a closed record is
 * replaced by its retention entry (batched: the retention entries are written before the open entries
 * are deleted), an entry whose record is missing is removed once older than the orphan grace
 * (conditionally), and the entries of a settled creation day are moved into the `open-*` partitions (the
 * new entry first), so the cursor moves past the day and a sweep reads a few days, whatever the history.
 */
export async function* sweepOpenWork(sweep: OpenWorkSweepOptions): AsyncGenerator<TrackingRecord> {
  const { rows, nowMs: now, orphanGraceMs } = sweep;
  const options = sweep.listOptions ?? {};
  const seen = new Map<string, TrackingRecord | null>();
  // Records whose open work an `open-*` entry covers: a settled day's entry of theirs is only removed.
  const sharded = new Set<string>();
  const pass = { rows, orphanGraceMs, seen, now, options, sharded };
  for (const partition of OPEN_PARTITIONS) yield* sweepPartition(rows.listIndex(partition), { ...pass, move: false });
  const cursor = await rows.getIndex(SWEEP_CURSOR_KEYS);
  const today = startOfUtcDay(now);
  const firstDay = firstSweepDay(cursor, now);
  let nextCursor = firstDay;
  let contiguous = true;
  for (let day = firstDay; day <= today; day += DAY_MS) {
    const move = day + CREATION_DAY_SETTLED_AFTER_DAYS * DAY_MS <= now;
    let kept = 0;
    for (const partition of creationPartitionsOfDay(day))
      kept += yield* sweepPartition(rows.listIndexRange(partition, OPEN_MARKER_RANGE), { ...pass, move });
    if (contiguous && move && kept === 0) nextCursor = day + DAY_MS;
    else contiguous = false;
  }
  // One cursor write a day at most: the first creation day whose entries are not all moved.
  if (nextCursor !== cursor?.atEpochMs) await rows.upsertIndex([{ ...SWEEP_CURSOR_KEYS, atEpochMs: nextCursor }]);
}

/** The trackingIds the open-work entries name that {@link sweepOpenWork} reads (read only: the rebuild's check). */
export async function indexedTrackingIds(rows: RecordRows, nowMs: number): Promise<Set<string>> {
  const ids = new Set<string>();
  const cursor = await rows.getIndex(SWEEP_CURSOR_KEYS);
  const today = startOfUtcDay(nowMs);
  for (let day = firstSweepDay(cursor, nowMs); day <= today; day += DAY_MS)
    for (const partition of creationPartitionsOfDay(day))
      for await (const entry of rows.listIndexRange(partition, OPEN_MARKER_RANGE))
        ids.add(trackingIdOfOpenRowKey(entry.rowKey));
  for (const partition of OPEN_PARTITIONS)
    for await (const entry of rows.listIndex(partition)) ids.add(trackingIdOfOpenRowKey(entry.rowKey));
  return ids;
}

/** The first creation day a sweep reads: the cursor's, or a lookback from today when there is none yet. */
function firstSweepDay(cursor: StoredIndexEntry | undefined, nowMs: number): number {
  return cursor?.atEpochMs ?? startOfUtcDay(nowMs) - SWEEP_FIRST_LOOKBACK_DAYS * DAY_MS;
}

/** One partition's pass of {@link sweepOpenWork}; returns how many entries it kept. */
async function* sweepPartition(
  entries: AsyncIterable<StoredIndexEntry>,
  pass: SweepPass,
): AsyncGenerator<TrackingRecord, number> {
  const { rows, seen, now, options, sharded } = pass;
  const written: IndexEntry[] = [];
  const removed: IndexKey[] = [];
  let kept = 0;
  const flush = async (): Promise<void> => {
    // New entries first (retention, moved): a crash between the two leaves the old entry, redone next pass.
    await rows.upsertIndex(written.splice(0));
    await rows.deleteRows(removed.splice(0));
  };
  try {
    for await (const entry of entries) {
      const trackingId = trackingIdOfOpenRowKey(entry.rowKey);
      const known = seen.get(trackingId);
      const first = known === undefined;
      const record = first ? ((await rows.get(trackingId))?.record ?? null) : known;
      if (first) seen.set(trackingId, record);
      const expired = entry.atEpochMs < now - pass.orphanGraceMs;
      const key: IndexKey = { partition: entry.partition, rowKey: entry.rowKey };
      if (record === null) {
        // A create that crashed before its insert; a younger entry may belong to an insert in flight.
        if (expired) await rows.deleteRowIfMatch(entry, entry.etag);
        else kept++;
        continue;
      }
      if (!isOpenWork(record)) {
        // An update that reopens writes its entry with the ETag it is conditional on: while the record
        // still has that ETag, the update may still land (kept until the grace says it never will).
        if (entry.afterEtag !== record.etag || expired) {
          removed.push(key);
          if (first) written.push(finalEntryOf(trackingId, record.updatedAtEpochMs));
          if (removed.length >= ENTITY_GROUP_MAX_ROWS) await flush();
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
        if (removed.length >= ENTITY_GROUP_MAX_ROWS) await flush();
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
