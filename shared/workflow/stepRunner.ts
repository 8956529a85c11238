import { isRetryable } from '../platform/errors';
import type { Logger } from '../platform/logging';
import { isFinalState } from '../tracking/states';
import type { TrackingChanges, TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { CallbackDelivery } from './callbacks';
import { TrackingRecordNotFoundError } from './errors';
import { RELEASED_LEASE, claimStep, leaseChanges, type LeaseHolder } from './lease';
import { stepMessage } from './messages';
import type { LinkAdoptLookup, QueueSender, ReferralsApi } from './ports';
import { STEP_FUNCTIONS } from './stepFunctions';
import { describe, recordStepFailure } from './stepFailure';
import type { RunResult, StepContext, StepResult } from './stepResult';
import { STEPS, type StepName, type StepQueueName, type StepRow } from './stepTable';

/** Options for {@link StepRunner}. */
export interface StepRunnerOptions {
  records: TrackingRecords;
  partnerCenter: ReferralsApi;
  /** A sender per queue of the step table. */
  queues: Readonly<Record<StepQueueName, QueueSender>>;
  callbacks: CallbackDelivery;
  logger: Logger;
  lease: LeaseHolder;
  linkAdoptLookup: LinkAdoptLookup;
  /** Steps run in the same invocation as the step before them, while time is left (LINK_MODE=inline: microsoft). */
  inlineSteps: ReadonlySet<StepName>;
}

/** How one run goes. */
export interface RunOptions {
  /** Stop waiting for Partner Center at this instant; a next step is not started inline after it. */
  deadlineEpochMs?: number;
}

/**
 * Runs the steps of the table: claim, step function, failure mapping, then what follows a done step
 * (the next step inline, or its queue message; the callback of a final record). Returns values; the
 * callers (submit, the queue edges) decide between deferring a `retry` to its queue and throwing it.
 */
export class StepRunner {
  readonly #o: StepRunnerOptions;

  constructor(options: StepRunnerOptions) {
    this.#o = options;
  }

  /**
   * Reads the record, claims `step` and runs it. A record that does not wait for `step` is left as it is;
   * when it waits for the step after it, that step's message is sent again (an earlier send may be lost).
   */
  async advance(step: StepName, trackingId: string, options: RunOptions = {}): Promise<RunResult> {
    const record = await this.#o.records.read(trackingId);
    if (!record) throw new TrackingRecordNotFoundError(trackingId);
    const row: StepRow = STEPS[step];
    if (record.state !== row.waiting && record.state !== row.running) {
      const next = row.next;
      if (next && record.state === STEPS[next].waiting) await this.send(next, record);
      return { kind: 'skipped', record, deferred: false };
    }
    const claim = await claimStep(this.#o.records, record, row, this.#o.lease);
    if (!claim.claimed) return { kind: 'skipped', record: claim.record, deferred: true };
    return this.runClaimed(step, claim.record, { ...options, earlierAttempt: record.state === row.running });
  }

  /** Runs `step` on a record this instance already holds the lease of (the insert, or the step before). */
  async runClaimed(
    step: StepName,
    claimed: TrackingRecord,
    options: RunOptions & { earlierAttempt: boolean },
  ): Promise<RunResult> {
    let result: RunResult;
    try {
      result = await STEP_FUNCTIONS[step](claimed, this.#context(options));
    } catch (error) {
      result = await recordStepFailure(this.#o.records, this.#o.logger, claimed, step, error);
    }
    if (result.kind === 'rejected') this.#o.callbacks.inBackground(result.record);
    if (result.kind !== 'done') return result;
    return this.#afterDone(step, result, options);
  }

  /** Hands a `retry` to its step's queue (the record is its own outbox: a lost send is the sweeper's). */
  async defer(result: Extract<RunResult, { kind: 'retry' }>): Promise<TrackingRecord> {
    await this.#enqueue(result.step, result.record);
    return result.record;
  }

  /** Sends `step`'s message for `record` (throws when the queue refuses). */
  async send(step: StepName, record: TrackingRecord): Promise<void> {
    await this.#o.queues[STEPS[step].queue].send(stepMessage(record.trackingId, record.traceparent));
  }

  async #afterDone(step: StepName, done: StepResult & { kind: 'done' }, options: RunOptions): Promise<RunResult> {
    const { record } = done;
    const row: StepRow = STEPS[step];
    const next = row.next;
    if (next && record.state === STEPS[next].running && record.leaseOwner === this.#o.lease.instanceId) {
      const chained = await this.runClaimed(next, record, { ...options, earlierAttempt: false });
      if (chained.kind !== 'retry' || !isRetryable(chained.error)) return chained;
      this.#o.logger.warn(`The ${next} step is handed to its queue`, {
        trackingId: record.trackingId,
        reason: describe(chained.error),
      });
      await this.#enqueue(next, chained.record);
      return { ...chained, queued: true };
    }
    if (next && record.state === STEPS[next].waiting) await this.#enqueue(next, record);
    else if (isFinalState(record.state)) this.#o.callbacks.inBackground(record);
    return done;
  }

  /** Best-effort send: the sweeper re-enqueues a record whose message was lost. */
  async #enqueue(step: StepName, record: TrackingRecord): Promise<void> {
    await this.send(step, record).catch((error: unknown) => {
      this.#o.logger.warn(`Could not enqueue the ${step} step; the sweeper will resume it`, {
        trackingId: record.trackingId,
        reason: describe(error),
      });
    });
  }

  #context(options: RunOptions & { earlierAttempt: boolean }): StepContext {
    const { lease, inlineSteps } = this.#o;
    const { deadlineEpochMs } = options;
    return {
      records: this.#o.records,
      partnerCenter: this.#o.partnerCenter,
      logger: this.#o.logger,
      deadlineEpochMs,
      earlierAttempt: options.earlierAttempt,
      linkAdoptLookup: this.#o.linkAdoptLookup,
      handOn(record: TrackingRecord, next: StepName): TrackingChanges {
        const inline = inlineSteps.has(next) && (deadlineEpochMs === undefined || lease.nowMs() < deadlineEpochMs);
        return inline
          ? { state: STEPS[next].running, ...leaseChanges(lease, record) }
          : { state: STEPS[next].waiting, ...RELEASED_LEASE };
      },
    };
  }
}
