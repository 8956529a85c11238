import type { Logger } from '../platform/logging';
import { OPEN_CHANGE_STATES } from './changeRecord';
import type { ChangeStore } from './changeStore';
import type { ChangeQueue } from './referralUpdates';

/**
 * The sweeper's part for changes: finds changes whose work stopped (`Received` or `Applying`, not written for
 * `staleAfterMs`, no live lease: a crash, a lost resume message) and sends their resume message again.
 * Plugged into the Sweeper as open work (sweeper.ts); a duplicate resume is harmless (the lease decides).
 */
export class ChangeSweep {
  constructor(readonly options: { changes: ChangeStore; queue: ChangeQueue; logger: Logger; nowMs?: () => number }) {}

  /** Re-enqueues up to `max` stuck changes not written since `updatedBeforeEpochMs`; returns how many. */
  async sweep(updatedBeforeEpochMs: number, max: number): Promise<number> {
    const now = (this.options.nowMs ?? Date.now)();
    let requeued = 0;
    for await (const change of this.options.changes.listOpen(OPEN_CHANGE_STATES, updatedBeforeEpochMs)) {
      if (requeued >= max) break;
      if (change.leaseOwner !== undefined && (change.leaseUntilEpochMs ?? 0) > now) continue;
      await this.options.queue.send({
        trackingId: change.trackingId,
        changeId: change.changeId,
        ...(change.traceparent ? { traceparent: change.traceparent } : {}),
      });
      requeued++;
    }
    if (requeued > 0) this.options.logger.info('Stuck referral changes re-enqueued', { requeued });
    return requeued;
  }
}
