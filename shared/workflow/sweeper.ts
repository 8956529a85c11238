import type { Logger } from '../platform/logging';
import { isParked } from '../tracking/openWork';
import { TrackingState, isFinalState } from '../tracking/states';
import { CallbackState, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { CallbackDelivery } from './callbacks';
import { stepMessage } from './messages';
import type { QueueSender } from './ports';
import { STEPS, StepName, stepOfState, stepWaitingIn, type StepQueueName } from './stepTable';

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
  /** Records handled per sweep at most, per kind of work (the next sweep takes the rest). @default 500 */
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

  /**
   * Runs one sweep: one pass over the store's open-work index (`listOpen`: the index partitions and the
   * records they name, never a table scan). Stale steps are re-enqueued, parked records resumed (whatever
   * their age) when a token can be had, stale pending callbacks delivered.
   */
  async sweep(): Promise<SweepReport> {
    const now = this.#nowMs();
    const max = this.#o.maxRecordsPerSweep ?? 500;
    const staleBefore = now - this.#o.staleAfterMs;
    const report: SweepReport = {
      requeued: 0,
      resumed: 0,
      callbacksRetried: 0,
      parkedRemaining: 0,
      outboxesFlushed: 0,
      openWorkRequeued: 0,
    };
    const parked: TrackingRecord[] = [];
    const callbacks: TrackingRecord[] = [];
    const outboxes: TrackingRecord[] = [];
    let stale = 0;
    for await (const record of this.#o.records.listOpen()) {
      if (record.outboxPending === true && record.updatedAtEpochMs < staleBefore && outboxes.length < max)
        outboxes.push(record); // CloudEvents written but not published (a crash between write and publish)
      if (isParked(record)) {
        if (parked.length < max) parked.push(record);
      } else if (record.updatedAtEpochMs >= staleBefore) {
        continue;
      } else if (!isFinalState(record.state)) {
        if (stale++ < max && (await this.requeue(record))) report.requeued++;
      } else if (record.callbackState === CallbackState.Pending && callbacks.length < max) {
        callbacks.push(record);
      }
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
    for (const record of callbacks) {
      await this.deliverPendingCallback(record);
      report.callbacksRetried++;
    }
    report.outboxesFlushed = await this.flushOutboxes(outboxes);
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

  /** Republishes the outboxes of `records` (left pending past the stale age); returns how many. */
  async flushOutboxes(records: readonly TrackingRecord[]): Promise<number> {
    const outbox = this.#o.outbox;
    if (!outbox) return 0;
    let flushed = 0;
    for (const record of records) {
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
