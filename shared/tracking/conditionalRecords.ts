import { randomUUID } from 'node:crypto';
import { recordTransition } from '../platform/metrics';
import { InvalidTransitionError, TrackingConflictError, TrackingStorageError } from './errors';
import { canTransition, type TrackingState } from './states';
import type { NewTrackingRecord, TrackingChanges, TrackingRecord } from './trackingRecord';
import type { CreateResult, ListStaleOptions, RecordRows, TrackingRecords } from './trackingRecords';

/** Options for {@link ConditionalTrackingRecords}. */
export interface ConditionalTrackingRecordsOptions {
  /** The storage primitives. */
  rows: RecordRows;
  /** Clock for timestamps. @default Date.now */
  nowMs?: () => number;
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

  constructor(options: ConditionalTrackingRecordsOptions) {
    this.#rows = options.rows;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Inserts a new record; when the trackingId exists already, returns the existing one instead. */
  async create(record: NewTrackingRecord): Promise<CreateResult> {
    const now = this.#nowMs();
    const writeId = randomUUID();
    const draft: TrackingRecord = { ...record, createdAtEpochMs: now, updatedAtEpochMs: now, etag: '' };
    const written = await this.#rows.insert(draft, writeId);
    if (written.ok) {
      recordTransition(record.state, record.dealType);
      return { created: true, record: { ...draft, etag: written.etag } };
    }
    const existing = await this.#rows.get(record.trackingId);
    if (!existing) throw new TrackingStorageError(`Tracking record ${record.trackingId} vanished after a conflict`);
    // Our own insert whose answer was lost: the transport retried it and got 409.
    if (existing.writeId === writeId) return { created: true, record: existing.record };
    return { created: false, existing: existing.record };
  }

  /** Reads a record, or undefined when there is none. */
  async read(trackingId: string): Promise<TrackingRecord | undefined> {
    return (await this.#rows.get(trackingId))?.record;
  }

  /**
   * Applies `changes` if the record still has `record.etag`; checks the state transition first.
   * Throws {@link TrackingConflictError} when someone else wrote in between.
   */
  async update(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    const moves = changes.state !== undefined && changes.state !== record.state;
    if (moves && !canTransition(record.state, changes.state!)) {
      throw new InvalidTransitionError(record.trackingId, record.state, changes.state!);
    }
    const next: TrackingRecord = { ...record, ...changes, updatedAtEpochMs: this.#nowMs() };
    const writeId = randomUUID();
    const written = await this.#rows.replace(next, writeId, record.etag);
    if (written.ok) {
      if (moves) recordTransition(changes.state!, record.dealType);
      return { ...next, etag: written.etag };
    }
    const current = await this.#rows.get(record.trackingId);
    if (current && current.writeId === writeId) return current.record;
    throw new TrackingConflictError(record.trackingId);
  }

  /** Records in one of `states` not updated since `updatedBeforeEpochMs` (the sweeper's query). */
  listStale(
    states: readonly TrackingState[],
    updatedBeforeEpochMs: number,
    options: ListStaleOptions = {},
  ): AsyncIterable<TrackingRecord> {
    return this.#rows.query({
      states,
      updatedBeforeEpochMs,
      callbackPendingOnly: options.callbackPendingOnly ?? false,
      outboxPendingOnly: options.outboxPendingOnly ?? false,
    });
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
