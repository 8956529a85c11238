import type { TrackingState } from './states';
import type { NewTrackingRecord, TrackingChanges, TrackingRecord } from './trackingRecord';

/** Result of {@link TrackingRecords.create}. */
export type CreateResult = { created: true; record: TrackingRecord } | { created: false; existing: TrackingRecord };

/** Options of {@link TrackingRecords.listStale}. */
export interface ListStaleOptions {
  /** Only records whose callback is still to be delivered. */
  callbackPendingOnly?: boolean;
  /** Only records whose outbox holds CloudEvents not published yet (`outboxPending`). */
  outboxPendingOnly?: boolean;
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
 */
export interface TrackingRecords {
  /** Inserts a new record; when the trackingId exists already, returns the existing one instead. */
  create(record: NewTrackingRecord): Promise<CreateResult>;
  /** Reads a record, or undefined when there is none. */
  read(trackingId: string): Promise<TrackingRecord | undefined>;
  /** Applies `changes` if the record still has `record.etag`; returns the record as written. */
  update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord>;
  /** Records in one of `states` not updated since `updatedBeforeEpochMs` (the sweeper's query). */
  listStale(
    states: readonly TrackingState[],
    updatedBeforeEpochMs: number,
    options?: ListStaleOptions,
  ): AsyncIterable<TrackingRecord>;
  /**
   * Remembers which record a Partner Center referral id belongs to (insert or replace: the create's
   * answer is the authority). Written before the record itself records the id (shared/sync/ownership.ts).
   */
  rememberReferral(referralId: string, trackingId: string): Promise<void>;
  /** The trackingId {@link TrackingRecords.rememberReferral} stored for a referral id, if any. */
  findReferral(referralId: string): Promise<string | undefined>;
}

/** A stored row: the record and the id of the write that produced it. */
export interface StoredRow {
  record: TrackingRecord;
  writeId: string;
}

/** What a storage primitive's conditional write answered. */
export type RowWrite = { ok: true; etag: string } | { ok: false; reason: 'exists' | 'stale' };

/** The sweeper's query, in storage terms. */
export interface StaleQuery {
  states: readonly TrackingState[];
  updatedBeforeEpochMs: number;
  callbackPendingOnly: boolean;
  outboxPendingOnly: boolean;
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
  /** Rows matching `query`, in trackingId order. */
  query(query: StaleQuery): AsyncIterable<TrackingRecord>;
  /** Inserts or replaces the index row of `referralId` (lower-cased). */
  putReferralIndex(referralId: string, trackingId: string): Promise<void>;
  /** The index row of `referralId` (lower-cased), if any. */
  getReferralIndex(referralId: string): Promise<string | undefined>;
}
