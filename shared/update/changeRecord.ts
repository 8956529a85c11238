/**
 * A change to a referral as the bridge tracks it: one entity per change, in the partition of its tracking
 * record (PartitionKey = trackingId, RowKey = `change-<changeId>`), so a change and its record share a
 * partition. The insert is the idempotency claim; the entity holds the change's lease, its base (what the
 * 3-way merge compares with) and, once final, the answer a replay returns.
 *
 * ```
 * Received ──claim (conditional write, lease)──► Applying ──► Applied   (200, the record holds the answer)
 *    ▲                                              │      ├─► Refused   (400 / 409 terminal / 422: final)
 *    └──────── lease released, error kept ◄─────────┘      └─► Conflict  (409 #conflict: final)
 * ```
 */
import type { ReferralChanges } from '../referral/changeSchema';
import type { ProblemDetails } from '../referral/problem';

/** States of a change; the last three are final. */
export const ChangeState = {
  Received: 'Received',
  Applying: 'Applying',
  Applied: 'Applied',
  Refused: 'Refused',
  Conflict: 'Conflict',
} as const;
export type ChangeState = (typeof ChangeState)[keyof typeof ChangeState];

/** States a change never leaves. */
export const FINAL_CHANGE_STATES: readonly ChangeState[] = [
  ChangeState.Applied,
  ChangeState.Refused,
  ChangeState.Conflict,
];

/** States in which a change's work may have stopped (the sweeper's query). */
export const OPEN_CHANGE_STATES: readonly ChangeState[] = [ChangeState.Received, ChangeState.Applying];

/** True when the change will not run again. */
export function isFinalChange(state: ChangeState): boolean {
  return FINAL_CHANGE_STATES.includes(state);
}

/** The answer a final change replays: 200 (the tracking view of the record) or a problem body. */
export interface ChangeAnswer {
  status: number;
  problem?: ProblemDetails;
}

/**
 * What the change was based on, per changed field (canonical pointer → value): the record's last known
 * Partner Center snapshot where it keeps the field, else what Partner Center held when the change first
 * ran. A field conflicts when Partner Center now holds neither this nor the change's value.
 */
export type ChangeBase = Record<string, unknown>;

/** One change entity. */
export interface ChangeRecord {
  trackingId: string;
  /** 32 hex characters: a hash of the idempotency key (the RowKey is `change-<changeId>`). */
  changeId: string;
  /** Where the key came from: the caller's `Idempotency-Key`/envelope key, a queue message's content, or none given. */
  keySource: 'caller' | 'message' | 'generated';
  /** SHA-256 of the canonical change: same key + another hash = 422. */
  requestHash: string;
  source: 'http' | 'queue';
  state: ChangeState;
  /** The normalised merge patch, until the change is final (team members' contact data is purged then). */
  changes?: ReferralChanges;
  base?: ChangeBase;
  /** The canonical pointers the change touches (kept after the purge, for the history). */
  fields: string[];
  leaseOwner?: string;
  leaseUntilEpochMs?: number;
  /** Partner Center PATCHes attempted. */
  attempts: number;
  answer?: ChangeAnswer;
  /** Why the last try stopped (codes only). */
  lastError?: { code: string; message: string };
  traceparent?: string;
  createdAtEpochMs: number;
  updatedAtEpochMs: number;
  /** Set by the store on every read; the next conditional write must pass it. */
  etag: string;
}

/** A change as inserted: the store adds the timestamps and the ETag. */
export type NewChangeRecord = Omit<ChangeRecord, 'etag' | 'createdAtEpochMs' | 'updatedAtEpochMs'>;

/** Fields one conditional write may change. */
export type ChangeRecordChanges = Partial<
  Omit<ChangeRecord, 'trackingId' | 'changeId' | 'etag' | 'createdAtEpochMs' | 'keySource' | 'requestHash' | 'source'>
>;

/** RowKey of a change entity. */
export function changeRowKey(changeId: string): string {
  return `change-${changeId}`;
}
