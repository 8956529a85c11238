/**
 * The open-work index and the retention index: which rows they are, and which records they name.
 *
 * ```
 * referrals table
 *   PartitionKey <trackingId>      RowKey record             the tracking record (and its partition's other rows)
 *   PartitionKey created-<day>-<0..7> RowKey ~o-<trackingId>[~x] the create's open-work entry, in its creation
 *                                                            day's partition of its shard (one entity-group
 *                                                            transaction with the list entry, RowKey
 *                                                            <inverted time>-<trackingId>)
 *   PartitionKey open-<0..7>       RowKey <trackingId>[~x]   entries of reopened records, and create entries moved
 *                                                            out of their day once it is settled
 *   PartitionKey final-<day>       RowKey <trackingId>       an entry per closed record, by the UTC day of its last write
 *   PartitionKey $retention        RowKey cursor             the first day the retention timer has not finished
 *   PartitionKey $sweeper          RowKey cursor             the first creation day whose entries are not all moved
 * ```
 * The shard of a record is {@link shardOf} its trackingId, the same in `open-*` and `created-<day>-*`.
 * The sweeper reads the entry range (`~o-`…`~o.`) of the creation days' shards from its cursor to today and
 * the eight `open-*` partitions (each query pins its PartitionKey), then each named record by key; the
 * retention timer reads only the expired `final-*` partitions. Neither reads the records' partitions by
 * scan, so neither cost grows with the number of records ever made.
 * docs/architecture.md ("Open-work index") has the ordering rules and the crash story.
 */
import { randomBytes } from 'node:crypto';
import { isFinalState, TrackingState } from './states';
import { CallbackState, type TrackingRecord } from './trackingRecord';
import type { IndexEntry } from './trackingRecords';

/** RowKey of the tracking record inside its partition. */
export const RECORD_ROW_KEY = 'record';

/** Rows of one entity-group transaction at most (Table Storage's limit). */
export const ENTITY_GROUP_MAX_ROWS = 100;

/**
 * Shards of the index partitions: eight `open-*` partitions, and eight partitions per creation day
 * (`created-<day>-<shard>`). Spreads the index writes so no single partition is hot: every create of a day
 * writes into its day, and one partition is served by one server (Azure Table's scalability target is
 * about 2,000 entities a second per partition; its guidance calls a partition per day the "append-only
 * anti-pattern"). Azurite, which runs the product locally, reads and writes an entity in time that
 * grows with its partition's size: one day partition made every write of a busy day slower.
 */
export const INDEX_SHARDS = 8;

/** PartitionKey prefix of open-work entries. */
export const OPEN_PARTITION_PREFIX = 'open-';

/** PartitionKey prefix of retention entries (`final-yyyy-mm-dd`). */
export const FINAL_PARTITION_PREFIX = 'final-';

/** PartitionKey prefix of creation days (`created-yyyy-mm-dd`): the list's entries and the creates' open-work entries. */
export const CREATED_PARTITION_PREFIX = 'created-';

/** RowKey prefix of an open-work entry inside a creation day's partition (sorts after the list's digit keys). */
export const OPEN_MARKER_PREFIX = '~o-';

/** The RowKey range `[from, to)` of the open-work entries of a creation day's partition. */
export const OPEN_MARKER_RANGE = { from: OPEN_MARKER_PREFIX, to: '~o.' } as const;

/**
 * Days after its start a creation day is settled: no create can still write into its partition (a create
 * writes into the day of its own clock, and a request the Table service accepts completes within 30 s),
 * so the sweeper moves its remaining entries into the `open-*` partitions and its cursor past it.
 */
export const CREATION_DAY_SETTLED_AFTER_DAYS = 2;

/**
 * Days back the sweeper looks when it has no cursor yet (the first sweep after the fold was deployed).
 * One query per day, once.
 */
export const SWEEP_FIRST_LOOKBACK_DAYS = 31;

/** The partition and row of the sweeper's cursor over creation days. */
export const SWEEP_CURSOR_KEYS = { partition: '$sweeper', rowKey: 'cursor' } as const;

/** The partition and row of the retention timer's cursor. */
export const RETENTION_CURSOR_KEYS = { partition: '$retention', rowKey: 'cursor' } as const;

/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

/**
 * How old an entry whose record does not exist must be before it is removed. Such an entry is what a
 * crash between the entry's write and the record's insert leaves; a younger one may belong to an insert
 * still in flight. @default 10 minutes
 */
export const DEFAULT_ORPHAN_GRACE_MS = 600_000;

/**
 * True when a record still has work the timers must find: a non-final state (a step waiting, running or
 * parked), a callback still to deliver, or CloudEvents still to publish (`outbox`, written by the
 * referral-sync work; a record with a non-empty outbox counts as open work).
 */
export function isOpenWork(record: Pick<TrackingRecord, 'state' | 'callbackState'> & { outbox?: unknown }): boolean {
  return !isFinalState(record.state) || record.callbackState === CallbackState.Pending || hasPendingOutbox(record);
}

/** True for a record whose `outbox` field (the sync work's pending CloudEvents) is a non-empty array. */
export function hasPendingOutbox(record: { outbox?: unknown }): boolean {
  return Array.isArray(record.outbox) && record.outbox.length > 0;
}

/** True for a parked record (waiting for a refresh token). */
export function isParked(record: Pick<TrackingRecord, 'state'>): boolean {
  return record.state === TrackingState.AwaitingReauthorization;
}

/** The shard of a trackingId: FNV-1a of its characters, modulo {@link INDEX_SHARDS}. */
export function shardOf(trackingId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < trackingId.length; i++) {
    hash ^= trackingId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % INDEX_SHARDS;
}

/** The `open-*` partition of a trackingId. */
export function openPartitionOf(trackingId: string): string {
  return `${OPEN_PARTITION_PREFIX}${shardOf(trackingId)}`;
}

/** Every `open-*` partition, in shard order. */
export const OPEN_PARTITIONS: readonly string[] = Array.from(
  { length: INDEX_SHARDS },
  (_, shard) => `${OPEN_PARTITION_PREFIX}${shard}`,
);

/** The first entry of a record is keyed by its trackingId alone. */
export function plainOpenRowKey(trackingId: string): string {
  return trackingId;
}

/**
 * A row key never used before for an entry of `trackingId`: entries are never rewritten, so a removal
 * decided from an earlier read can only remove the entry that read saw (docs/architecture.md).
 */
export function freshOpenRowKey(trackingId: string, nowMs: number): string {
  return `${trackingId}~${nowMs.toString(36)}${randomBytes(4).toString('hex')}`;
}

/** The trackingId an open entry's row key names (in an `open-*` partition or a creation day's). */
export function trackingIdOfOpenRowKey(rowKey: string): string {
  const key = rowKey.startsWith(OPEN_MARKER_PREFIX) ? rowKey.slice(OPEN_MARKER_PREFIX.length) : rowKey;
  const cut = key.indexOf('~');
  return cut < 0 ? key : key.slice(0, cut);
}

/**
 * The `created-<day>-<shard>` partition of a record created at `createdAtEpochMs`: its creation day's
 * partition of its shard (its list entry shares it).
 */
export function creationPartitionOf(createdAtEpochMs: number, trackingId: string): string {
  return `${CREATED_PARTITION_PREFIX}${utcDay(createdAtEpochMs)}-${shardOf(trackingId)}`;
}

/** Every partition of the creation day of `epochMs` (one per shard, in shard order). */
export function creationPartitionsOfDay(epochMs: number): string[] {
  const day = utcDay(epochMs);
  return Array.from({ length: INDEX_SHARDS }, (_, shard) => `${CREATED_PARTITION_PREFIX}${day}-${shard}`);
}

/** True for an open-work entry's key: in an `open-*` partition, or the entry range of a creation day. */
export function isOpenEntryKey(key: { partition: string; rowKey: string }): boolean {
  return key.partition.startsWith(OPEN_PARTITION_PREFIX) || key.rowKey.startsWith(OPEN_MARKER_PREFIX);
}

/** `yyyy-mm-dd` (UTC) of an instant. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** The `final-*` partition of a day's closed records. */
export function finalPartitionOf(epochMs: number): string {
  return `${FINAL_PARTITION_PREFIX}${utcDay(epochMs)}`;
}

/** The retention entry of a record closed (last written) at `closedAtEpochMs`. */
export function finalEntryOf(trackingId: string, closedAtEpochMs: number): IndexEntry {
  return { partition: finalPartitionOf(closedAtEpochMs), rowKey: trackingId, atEpochMs: closedAtEpochMs };
}

/** Midnight UTC at or before `epochMs`. */
export function startOfUtcDay(epochMs: number): number {
  return Math.floor(epochMs / DAY_MS) * DAY_MS;
}
