import type { Logger } from '../platform/logging';
import { FINAL_STATES, TrackingState, isFinalState } from '../tracking/states';
import { CallbackState, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { CallbackDelivery } from './callbacks';
import { stepMessage } from './messages';
import type { QueueSender } from './ports';
import { OPEN_STATES, STEPS, StepName, stepOfState, stepWaitingIn, type StepQueueName } from './stepTable';

/** What one sweep did. */
export interface SweepReport {
  requeued: number;
  resumed: number;
  callbacksRetried: number;
  parkedRemaining: number;
  /** Records whose unpublished CloudEvents were published again (a crash between write and publish). */
  outboxesFlushed: number;
  /** Work found by {@link SweeperOptions.openWork} and pushed forward (stuck referral changes). */
  openWorkRequeued: number;
}

/** Work kept outside the step table that the sweeper pushes forward too (e.g. referral changes). */
export interface OpenWork {
  /** Re-enqueues up to `max` items not written since `updatedBeforeEpochMs`; returns how many. */
  sweep(updatedBeforeEpochMs: number, max: number): Promise<number>;
}

/** Options for {@link Sweeper}. */
export interface SweeperOptions {
  records: TrackingRecords;
  /** A sender per queue of the step table. */
  queues: Readonly<Record<StepQueueName, QueueSender>>;
  /** Delivers pending callbacks (the workflow's {@link CallbackDelivery}). */
  callbacks: Pick<CallbackDelivery, 'deliver'>;
  /** Republishes a record's pending CloudEvents with their own ids (shared/sync SnapshotApplier.flush). */
  outbox?: { flush(record: TrackingRecord): Promise<unknown> };
  /** Asked before resuming parked records: resolves when a token can be had again. */
  tokens?: { getAccessToken(): Promise<string> };
  /** Records untouched for this long are pushed forward. */
  staleAfterMs: number;
  logger: Logger;
  nowMs?: () => number;
  /** Records handled per sweep at most (the next sweep takes the rest). @default 500 */
  maxRecordsPerSweep?: number;
  /** Other open work to push forward (the update capability's {@link OpenWork}). */
  openWork?: readonly OpenWork[];
}

/**
 * The recovery timer, and the recovery operations only it runs: finds records stuck in a step's waiting
 * or running state (crash between writes, lost queue message) and re-enqueues the step (a live lease is
 * left alone), resumes parked records once the token broker can get a token again, and retries
 * undelivered callbacks. States and queues come from the step table.
 */
export class Sweeper {
  readonly #o: SweeperOptions;
  readonly #nowMs: () => number;

  constructor(options: SweeperOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Runs one sweep. */
  async sweep(): Promise<SweepReport> {
    const now = this.#nowMs();
    const max = this.#o.maxRecordsPerSweep ?? 500;
    const report: SweepReport = {
      requeued: 0,
      resumed: 0,
      callbacksRetried: 0,
      parkedRemaining: 0,
      outboxesFlushed: 0,
      openWorkRequeued: 0,
    };
    let handled = 0;
    for await (const record of this.#o.records.listStale(OPEN_STATES, now - this.#o.staleAfterMs)) {
      if (handled++ >= max) break;
      if (await this.requeue(record)) report.requeued++;
    }
    const parked: TrackingRecord[] = [];
    for await (const record of this.#o.records.listStale([TrackingState.AwaitingReauthorization], now + 1)) {
      if (parked.length >= max) break;
      parked.push(record);
    }
    if (parked.length > 0 && (await this.#tokensAvailable())) {
      for (const record of parked) {
        await this.resumeParked(record).then(
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
    for await (const record of this.#o.records.listStale([...FINAL_STATES], now - this.#o.staleAfterMs, {
      callbackPendingOnly: true,
    })) {
      if (report.callbacksRetried >= max) break;
      await this.deliverPendingCallback(record);
      report.callbacksRetried++;
    }
    if (this.#o.outbox) report.outboxesFlushed = await this.flushOutboxes(now, max);
    for (const work of this.#o.openWork ?? [])
      report.openWorkRequeued += await work.sweep(now - this.#o.staleAfterMs, max);
    if (
      report.requeued ||
      report.resumed ||
      report.callbacksRetried ||
      report.outboxesFlushed ||
      report.openWorkRequeued
    )
      this.#o.logger.info('Sweep pushed records forward', { ...report });
    return report;
  }

  /** Re-enqueues the step of a record whose work stopped (no live lease); false when there is nothing to do. */
  async requeue(record: TrackingRecord): Promise<boolean> {
    if ((record.leaseUntilEpochMs ?? 0) > this.#nowMs()) return false;
    const step = stepOfState(record.state);
    if (!step) return false;
    await this.#send(STEPS[step].queue, record);
    return true;
  }

  /**
   * Moves a parked (`AwaitingReauthorization`) record back to the waiting state of the step it stopped in
   * (`parkedFrom`; the partner step when unknown) and enqueues that step.
   */
  async resumeParked(record: TrackingRecord): Promise<TrackingRecord> {
    if (record.state !== TrackingState.AwaitingReauthorization) return record;
    const row = STEPS[stepWaitingIn(record.parkedFrom) ?? StepName.Partner];
    const resumed = await this.#o.records.update(record, { state: row.waiting, parkedFrom: undefined });
    await this.#send(row.queue, record);
    return resumed;
  }

  /** Delivers a pending callback of a final record (a retry after a crash or a failed delivery). */
  async deliverPendingCallback(record: TrackingRecord): Promise<void> {
    if (isFinalState(record.state) && record.callbackState === CallbackState.Pending)
      await this.#o.callbacks.deliver(record);
  }

  /** Republishes the outboxes left pending for longer than the stale age (any state); returns how many. */
  async flushOutboxes(now: number, max: number): Promise<number> {
    const outbox = this.#o.outbox;
    if (!outbox) return 0;
    let flushed = 0;
    const states = Object.values(TrackingState);
    for await (const record of this.#o.records.listStale(states, now - this.#o.staleAfterMs, {
      outboxPendingOnly: true,
    })) {
      if (flushed >= max) break;
      await outbox.flush(record).then(
        () => flushed++,
        (error: unknown) =>
          this.#o.logger.warn('Could not republish an outbox', {
            trackingId: record.trackingId,
            reason: String(error),
          }),
      );
    }
    return flushed;
  }

  async #send(queue: StepQueueName, record: TrackingRecord): Promise<void> {
    await this.#o.queues[queue].send(stepMessage(record.trackingId, record.traceparent));
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
