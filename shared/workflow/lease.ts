import { TrackingConflictError } from '../tracking/errors';
import type { TrackingChanges, TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { StepRow } from './stepTable';

/** Who takes leases, for how long, on which clock. */
export interface LeaseHolder {
  instanceId: string;
  /** How long a step's lease lasts; must outlast the Partner Center call with its retries. */
  leaseDurationMs: number;
  nowMs: () => number;
}

/** Changes that release a step's lease. */
export const RELEASED_LEASE = {
  leaseOwner: undefined,
  leaseUntilEpochMs: undefined,
} as const satisfies TrackingChanges;

/** Changes that (re)take the lease for one more attempt. */
export function leaseChanges(holder: LeaseHolder, record: TrackingRecord): TrackingChanges {
  return {
    leaseOwner: holder.instanceId,
    leaseUntilEpochMs: holder.nowMs() + holder.leaseDurationMs,
    attempts: record.attempts + 1,
  };
}

/** True when another instance holds a lease on `record` that has not expired. */
export function isLeasedByOther(record: TrackingRecord, holder: LeaseHolder): boolean {
  return (
    record.leaseOwner !== undefined &&
    record.leaseOwner !== holder.instanceId &&
    (record.leaseUntilEpochMs ?? 0) > holder.nowMs()
  );
}

/** What {@link claimStep} got: the record under our lease, or the record as it stands (not ours). */
export type Claim = { claimed: true; record: TrackingRecord } | { claimed: false; record: TrackingRecord };

/**
 * Takes a step's lease: a conditional write of the row's running state with this instance as owner.
 * ```
 * read (etag E1, lease free or expired) ──► update(running, owner=me, leaseUntil=now+lease, etag=E1)
 *   ├─ ok  ──► this instance runs the step
 *   └─ 412 ──► someone else moved first ──► re-read: live lease of another, or moved on → leave it to them
 *                                                  still waiting/running, lease free → try again (3 at most)
 * ```
 */
export async function claimStep(
  records: TrackingRecords,
  record: TrackingRecord,
  row: StepRow,
  holder: LeaseHolder,
): Promise<Claim> {
  let current = record;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (current.state === row.running && isLeasedByOther(current, holder)) return { claimed: false, record: current };
    try {
      return {
        claimed: true,
        record: await records.update(current, { state: row.running, ...leaseChanges(holder, current) }),
      };
    } catch (error) {
      if (!(error instanceof TrackingConflictError)) throw error;
      const reread = await records.read(current.trackingId);
      if (!reread) return { claimed: false, record: current };
      if (reread.state !== row.running && reread.state !== row.waiting) return { claimed: false, record: reread };
      current = reread;
    }
  }
  return { claimed: false, record: current };
}
