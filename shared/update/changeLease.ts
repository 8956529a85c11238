/**
 * The lease on a change record: whoever holds it applies the change; an expired (or released) lease may be
 * taken over by a conditional write.
 * ```
 * read change (etag E1, lease free or expired) ──► update(Applying, owner=me, leaseUntil=now+lease, etag=E1)
 *   ├─ ok  ──► this instance applies the change
 *   └─ 412 ──► another worker moved first ──► leave it to them
 * ```
 */
import type { LeaseHolder } from '../workflow/lease';
import { ChangeState, type ChangeRecord } from './changeRecord';
import type { ChangeStore } from './changeStore';
import { ChangeConflictError } from './errors';

/** Takes a change's lease (conditional write); undefined when another worker moved first. */
export async function claimChange(
  change: ChangeRecord,
  options: { changes: ChangeStore; lease: LeaseHolder },
): Promise<ChangeRecord | undefined> {
  const { lease } = options;
  try {
    return await options.changes.update(change, {
      state: ChangeState.Applying,
      leaseOwner: lease.instanceId,
      leaseUntilEpochMs: lease.nowMs() + lease.leaseDurationMs,
    });
  } catch (error) {
    if (error instanceof ChangeConflictError) return undefined;
    throw error;
  }
}

/**
 * True while anyone holds the change's lease, this instance included: concurrent requests in one process
 * share the instance id, so only an expired (or released) lease may be taken over.
 */
export function isChangeLeaseLive(change: ChangeRecord, lease: LeaseHolder): boolean {
  return change.leaseOwner !== undefined && (change.leaseUntilEpochMs ?? 0) > lease.nowMs();
}
