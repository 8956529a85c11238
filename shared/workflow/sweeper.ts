import type { Logger } from '../platform/logging';
import { TrackingState } from '../tracking/states';
import type { TrackingStore } from '../tracking/trackingStore';
import type { ReferralWorkflow } from './referralWorkflow';

/** What one sweep did. */
export interface SweepReport {
  requeued: number;
  resumed: number;
  callbacksRetried: number;
  parkedRemaining: number;
}

/** Options for {@link Sweeper}. */
export interface SweeperOptions {
  workflow: ReferralWorkflow;
  store: TrackingStore;
  /** Asked before resuming parked records: resolves when a token can be had again. */
  tokens?: { getAccessToken(): Promise<string> };
  /** Records untouched for this long are pushed forward. */
  staleAfterMs: number;
  logger: Logger;
  nowMs?: () => number;
  /** Records handled per sweep at most (the next sweep takes the rest). @default 500 */
  maxRecordsPerSweep?: number;
}

/** States whose work may have stopped (crash between writes, lost queue message). */
const INTERMEDIATE_STATES = [
  TrackingState.Received,
  TrackingState.CreatingPartner,
  TrackingState.LinkQueued,
  TrackingState.CreatingMicrosoft,
] as const;

/**
 * The recovery timer: finds records stuck in an intermediate state and pushes them forward
 * (re-enqueues their step; a live lease is left alone), resumes parked records once the token broker
 * can get a token again, and retries undelivered callbacks.
 */
export class Sweeper {
  readonly #o: SweeperOptions;

  constructor(options: SweeperOptions) {
    this.#o = options;
  }

  /** Runs one sweep. */
  async sweep(): Promise<SweepReport> {
    const now = (this.#o.nowMs ?? Date.now)();
    const max = this.#o.maxRecordsPerSweep ?? 500;
    const report: SweepReport = { requeued: 0, resumed: 0, callbacksRetried: 0, parkedRemaining: 0 };
    let handled = 0;
    for await (const record of this.#o.store.listStale(INTERMEDIATE_STATES, now - this.#o.staleAfterMs)) {
      if (handled++ >= max) break;
      if (await this.#o.workflow.requeue(record)) report.requeued++;
    }
    const parked: Awaited<ReturnType<TrackingStore['read']>>[] = [];
    for await (const record of this.#o.store.listStale([TrackingState.AwaitingReauthorization], now + 1)) {
      if (parked.length >= max) break;
      parked.push(record);
    }
    if (parked.length > 0 && (await this.#tokensAvailable())) {
      for (const record of parked) {
        if (!record) continue;
        await this.#o.workflow.resumeParked(record).then(
          () => report.resumed++,
          (error: unknown) =>
            this.#o.logger.warn('Could not resume a parked record', {
              trackingId: record.trackingId,
              reason: String(error),
            }),
        );
      }
    }
    report.parkedRemaining = parked.length - report.resumed;
    const finalStates = [TrackingState.Completed, TrackingState.Linked, TrackingState.Rejected];
    for await (const record of this.#o.store.listStale(finalStates, now - this.#o.staleAfterMs, {
      callbackPendingOnly: true,
    })) {
      if (report.callbacksRetried >= max) break;
      await this.#o.workflow.deliverPendingCallback(record);
      report.callbacksRetried++;
    }
    if (report.requeued || report.resumed || report.callbacksRetried)
      this.#o.logger.info('Sweep pushed records forward', { ...report });
    return report;
  }

  async #tokensAvailable(): Promise<boolean> {
    if (!this.#o.tokens) return true;
    try {
      await this.#o.tokens.getAccessToken();
      return true;
    } catch {
      return false;
    }
  }
}
