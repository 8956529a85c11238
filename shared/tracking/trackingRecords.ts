import type { NewTrackingRecord, TrackingChanges, TrackingRecord } from './trackingRecord';

/** Result of {@link TrackingRecords.create}. */
export type CreateResult = { created: true; record: TrackingRecord } | { created: false; existing: TrackingRecord };

/** Options of {@link TrackingRecords.listOpen}. */
export interface ListOpenOptions {
  /** Only records not updated since this instant. @default every record with open work */
  updatedBeforeEpochMs?: number;
}

/** Options of {@link TrackingRecords.purgeClosedBefore}. */
export interface PurgeOptions {
  /** Records at most this many. @default 5000 */
  maxRecords?: number;
  /** Called after each record is deleted (a decorator's own index entries of it go here). */
  onDeleted?: (record: TrackingRecord) => Promise<void>;
}

/** What one {@link TrackingRecords.purgeClosedBefore} did. */
export interface PurgeReport {
  /** Records deleted (each with every row of its partition). */
  deleted: number;
  /** Entries moved to a later day: their record was written again after it was closed. */
  refiled: number;
  /** Entries dropped: their record is gone already, or has open work again. */
  dropped: number;
  /** Days whose retention entries are all handled (the cursor moved past them). */
  daysFinished: number;
  /** True when `maxRecords` stopped the run before the cutoff. */
  truncated: boolean;
}

/**
 * The port the workflow and the sweeper use to keep tracking records: what they need, nothing of the
 * storage behind it. Two implementations with the same semantics (one contract test suite runs against
 * both): {@link TrackingStore} (Table Storage) and {@link InMemoryTrackingRecords} (unit tests, benchmarks).
 *
 * Semantics every implementation keeps:
 * - `create` is a conditional insert: exactly one of concurrent creates of a trackingId wins; the others get
 *   the stored record (`created: false`). An insert whose answer was lost and was retried is still ours.
 * - `update` is a conditional replace with `record.etag` (never "any ETag"): a stale ETag fails with
 *   `TrackingConflictError` (HTTP 412) and changes nothing; a write whose answer was lost and was retried is
 *   recognised by its `writeId` and succeeds. A transition the state machine forbids fails with
 *   `InvalidTransitionError` before anything is written.
 * - Every returned record carries the ETag its next conditional write must pass; a key set to `undefined` in
 *   `changes` removes the field.
 * - Storage faults are `TrackingStorageError` (retryable).
 * - Every record with open work ({@link isOpenWork}: non-final, callback pending, or outbox non-empty) has
 *   an entry in the open-work index, written before the write that made it open work (a create's in its
 *   creation day's partition, with the rows a decorator asked for in the same entity-group transaction);
 *   `listOpen` reads only that index and the records it names, and removes the entries of records that no
 *   longer have open work.
 *   Closed records get a retention entry by day; `purgeClosedBefore` reads only expired days.
 */
export interface TrackingRecords {
  /** Inserts a new record; when the trackingId exists already, returns the existing one instead. */
  create(record: NewTrackingRecord): Promise<CreateResult>;
  /** Reads a record, or undefined when there is none. */
  read(trackingId: string): Promise<TrackingRecord | undefined>;
  /** Applies `changes` if the record still has `record.etag`; returns the record as written. */
  update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord>;
  /**
   * Every record with open work, each once, read by key from the open-work index (no table scan); with
   * `updatedBeforeEpochMs`, only those not updated since. Tidies the index on the way (an entry of a record
   * that is gone or closed is removed; a closed record is filed for retention).
   */
  listOpen(options?: ListOpenOptions): AsyncIterable<TrackingRecord>;
  /**
   * Deletes closed records last written before `cutoffEpochMs` (each with every row of its partition),
   * reading only the retention entries of the expired days; never a record with open work.
   */
  purgeClosedBefore(cutoffEpochMs: number, options?: PurgeOptions): Promise<PurgeReport>;
  /**
   * Remembers which record a Partner Center referral id belongs to (insert or replace: the create's
   * answer is the authority). Written before the record itself records the id (shared/sync/ownership.ts).
   */
  rememberReferral(referralId: string, trackingId: string): Promise<void>;
  /** The trackingId {@link TrackingRecords.rememberReferral} stored for a referral id, if any. */
  findReferral(referralId: string): Promise<string | undefined>;
}

/**
 * A row a decorator keeps beside a record and wants written in the same entity-group transaction as the
 * create's open-work entry (e.g. the list's entry): merged (upsert), in the creation day's partition
 * (`creationPartitionOf(record.createdAtEpochMs)`; a row of another partition is written just before).
 */
export interface CompanionRow {
  partition: string;
  rowKey: string;
  /** Scalar properties (strings, numbers as Double, booleans); no `PartitionKey`/`RowKey`. */
  properties: Readonly<Record<string, string | number | boolean>>;
}

/** A stored row: the record and the id of the write that produced it. */
export interface StoredRow {
  record: TrackingRecord;
  writeId: string;
}

/** A record's partition as read by {@link RecordRows.readPartition}. */
export interface RecordPartition {
  record?: TrackingRecord;
  /** Every row of the partition, the record's included. */
  keys: IndexKey[];
}

/** What a storage primitive's conditional write answered. */
export type RowWrite = { ok: true; etag: string } | { ok: false; reason: 'exists' | 'stale' };

/** The key of an index row (open-work, retention, cursor): not a record. */
export interface IndexKey {
  partition: string;
  rowKey: string;
}

/** An index row: its key and one instant (written at, closed at, or the cursor's day). */
export interface IndexEntry extends IndexKey {
  atEpochMs: number;
  /** Open entries written by an update: the record ETag that update was conditional on ('' for a create). */
  afterEtag?: string;
}

/** An index row as read, with its ETag. */
export interface StoredIndexEntry extends IndexEntry {
  etag: string;
}

/** Counts of storage operations a {@link RecordRows} made (the Table store's and the in-memory twin's alike). */
export interface RecordRowStats {
  reads: number;
  writes: number;
  queries: number;
  /** Requests on index rows (open-work and retention entries, the cursor) and partition deletes. */
  indexRequests: number;
}

/**
 * Storage primitives under {@link ConditionalTrackingRecords}: one implementation per storage (Table,
 * memory). They never retry on their own; a transport may (the Azure SDK does). Faults other than the two
 * conditional outcomes are thrown as `TrackingStorageError`.
 */
export interface RecordRows {
  /** Inserts `record` stamped with `writeId`; `exists` when the trackingId is taken (409). */
  insert(record: TrackingRecord, writeId: string): Promise<RowWrite>;
  /** Replaces the row if its ETag is still `ifMatch`; `stale` when it is not (412) or the row is gone (404). */
  replace(record: TrackingRecord, writeId: string, ifMatch: string): Promise<RowWrite>;
  /** Reads a row, or undefined. */
  get(trackingId: string): Promise<StoredRow | undefined>;
  /** Inserts or replaces the index row of `referralId` (lower-cased). */
  putReferralIndex(referralId: string, trackingId: string): Promise<void>;
  /** The index row of `referralId` (lower-cased), if any. */
  getReferralIndex(referralId: string): Promise<string | undefined>;
  /** Inserts an index row; `exists` when its key is taken (409). */
  insertIndex(entry: IndexEntry): Promise<RowWrite>;
  /**
   * Inserts an index row and merges `companions` of its partition in one entity-group transaction (all or
   * nothing); `exists` when the entry's key is taken (409: nothing written). Without companions: `insertIndex`.
   */
  insertIndexWith(entry: IndexEntry, companions: readonly CompanionRow[]): Promise<RowWrite>;
  /** Merges companion rows of one partition whatever is there (one entity-group transaction). */
  mergeCompanions(rows: readonly CompanionRow[]): Promise<void>;
  /** Writes index rows whatever is there (entity-group batches of up to 100 per partition). */
  upsertIndex(entries: readonly IndexEntry[]): Promise<void>;
  /** Deletes rows whatever their ETag; a row already gone is fine (entity-group batches per partition). */
  deleteRows(keys: readonly IndexKey[]): Promise<void>;
  /** Deletes a row if its ETag is still `ifMatch`; false when it is not, or the row is gone. */
  deleteRowIfMatch(key: IndexKey, ifMatch: string): Promise<boolean>;
  /** Reads an index row, or undefined. */
  getIndex(key: IndexKey): Promise<StoredIndexEntry | undefined>;
  /** Every row of one index partition (one query that pins the PartitionKey), in row key order. */
  listIndex(partition: string): AsyncIterable<StoredIndexEntry>;
  /** The rows of one partition with `from <= RowKey < to` (one query, PartitionKey pinned, RowKey range). */
  listIndexRange(partition: string, range: { from: string; to: string }): AsyncIterable<StoredIndexEntry>;
  /**
   * Every tracking record of the table: a TABLE SCAN (continuation pages over every entity). Only for the
   * operator's one-off index rebuild (`npm run index:rebuild`), never on a timer or a request path.
   */
  scanRecords(): AsyncIterable<TrackingRecord>;
  /** A record's partition (one query that pins it): the record, if any, and the keys of every row. */
  readPartition(trackingId: string): Promise<RecordPartition>;
}
