import { randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logging';
import { validateReferralRequest } from '../referral/validateReferralRequest';
import type { ProblemDetails } from '../referral/problem';
import type { TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { CallbackDelivery, type CallbackSender, type StatusUrlFor } from './callbacks';
import { LINK_QUEUE_NAME, SUBMIT_QUEUE_NAME } from './constants';
import type { LeaseHolder } from './lease';
import { LinkAdoptLookup, LinkMode, type QueueSender, type ReferralsApi } from './ports';
import type { RunResult } from './stepResult';
import { StepRunner, type RunOptions } from './stepRunner';
import { StepName } from './stepTable';
import { Intake, type SubmitInput, type SubmitOutcome } from './submit';

export { LinkAdoptLookup, LinkMode, type QueueSender, type ReferralsApi } from './ports';
export type { SubmitInput, SubmitOutcome } from './submit';
export type { RunResult, StepResult } from './stepResult';
export { stepMessage } from './messages';
export { isReauthorizationRequired } from './stepFailure';

/** Options for {@link ReferralWorkflow}. */
export interface ReferralWorkflowOptions {
  /** The tracking records (the Table store, or the in-memory one in tests). */
  store: TrackingRecords;
  partnerCenter: ReferralsApi;
  submitQueue: QueueSender;
  linkQueue: QueueSender;
  logger: Logger;
  callbacks?: CallbackSender;
  /** Builds the absolute status URL of a record (for callbacks). @default `{requestBaseUrl}/api/referrals/{trackingId}` */
  statusUrlFor?: StatusUrlFor;
  /** Let unknown referral fields pass through. @default false */
  allowUnknownFields?: boolean;
  /** Accept http callback URLs (the sandbox). @default false */
  allowInsecureCallback?: boolean;
  /** Accept callback URLs whose literal address is not public (the sandbox). @default false */
  allowPrivateCallbackTargets?: boolean;
  /** How long a step's lease lasts; must outlast the Partner Center call with its retries. @default 180000 */
  leaseDurationMs?: number;
  /** @default 'on-retry' (see docs/architecture.md) */
  linkAdoptLookup?: LinkAdoptLookup;
  /** @default 'inline' (see {@link LinkMode} and docs/architecture.md) */
  linkMode?: LinkMode;
  instanceId?: string;
  nowMs?: () => number;
}

/** What a queue edge gets from a step: the record, and whether the work continues elsewhere. */
export type StepOutcome = { record: TrackingRecord; deferred?: boolean };

/**
 * The use cases: submit a referral request, and push a record one step forward from a queue message.
 * Wiring over {@link Intake} (submit/intake), {@link StepRunner} (the step table) and {@link CallbackDelivery}.
 *
 * Guarantees, with at-least-once queues and crashes anywhere:
 * - one tracking record per idempotency key (conditional insert), same key + other payload = 422;
 * - every state change is a conditional write with the ETag that decided it;
 * - each create carries an MS-RequestId derived from trackingId and step, so a retry after a lost
 *   response is the same call to Partner Center;
 * - a step runs under a lease on the record; a crashed holder's lease expires and the sweeper resumes it;
 * - permanent failures (invalid input, Partner Center 4xx) end the record as `Rejected` and are never
 *   retried; transient ones are thrown (`retryable`) for the queue to retry.
 */
export class ReferralWorkflow {
  /** Callback delivery (the sweeper retries pending callbacks with it). */
  readonly callbacks: CallbackDelivery;
  /** The step runner (value results; the sweeper and tests use it). */
  readonly steps: StepRunner;
  readonly #records: TrackingRecords;
  readonly #intake: Intake;
  readonly #validateOptions: {
    allowUnknownFields: boolean;
    allowInsecureCallback: boolean;
    allowPrivateCallbackTargets: boolean;
  };

  constructor(options: ReferralWorkflowOptions) {
    const lease: LeaseHolder = {
      instanceId: options.instanceId ?? randomUUID(),
      leaseDurationMs: options.leaseDurationMs ?? 180_000,
      nowMs: options.nowMs ?? Date.now,
    };
    this.#records = options.store;
    this.#validateOptions = {
      allowUnknownFields: options.allowUnknownFields ?? false,
      allowInsecureCallback: options.allowInsecureCallback ?? false,
      allowPrivateCallbackTargets: options.allowPrivateCallbackTargets ?? false,
    };
    this.callbacks = new CallbackDelivery({
      records: options.store,
      logger: options.logger,
      callbacks: options.callbacks,
      statusUrlFor: options.statusUrlFor ?? ((id, base) => `${base ?? ''}/api/referrals/${id}`),
    });
    this.steps = new StepRunner({
      records: options.store,
      partnerCenter: options.partnerCenter,
      queues: { [SUBMIT_QUEUE_NAME]: options.submitQueue, [LINK_QUEUE_NAME]: options.linkQueue },
      callbacks: this.callbacks,
      logger: options.logger,
      lease,
      linkAdoptLookup: options.linkAdoptLookup ?? LinkAdoptLookup.OnRetry,
      inlineSteps: new Set((options.linkMode ?? LinkMode.Inline) === LinkMode.Inline ? [StepName.Microsoft] : []),
    });
    this.#intake = new Intake({
      records: options.store,
      runner: this.steps,
      logger: options.logger,
      lease,
      validate: (body) => this.validate(body),
    });
  }

  /** Validates a request without side effects (the dry run behind POST /api/referrals/validate). */
  validate(body: unknown) {
    return validateReferralRequest(body, this.#validateOptions);
  }

  /** Reads a record (GET /api/referrals/{trackingId}). */
  async get(trackingId: string): Promise<TrackingRecord | undefined> {
    return this.#records.read(trackingId);
  }

  /** See {@link Intake.submit}. */
  submit(input: SubmitInput): Promise<SubmitOutcome> {
    return this.#intake.submit(input);
  }

  /** See {@link Intake.rejectInvalidMessage}. */
  rejectInvalidMessage(payload: unknown, invalid: ProblemDetails): Promise<TrackingRecord> {
    return this.#intake.rejectInvalidMessage(payload, invalid);
  }

  /** The `referral-submit` queue: claims a record waiting for (or stuck in) the partner step and runs it. */
  advancePartner(trackingId: string, options: RunOptions = {}): Promise<StepOutcome> {
    return this.#advanceFromQueue(StepName.Partner, trackingId, options);
  }

  /** The `referral-link` queue: claims a co-sell record waiting for (or stuck in) the Microsoft step and runs it. */
  advanceLink(trackingId: string): Promise<StepOutcome> {
    return this.#advanceFromQueue(StepName.Microsoft, trackingId, {});
  }

  /** A queue message's step: a `retry` the runner did not hand to a queue is thrown for the queue's own retry. */
  async #advanceFromQueue(step: StepName, trackingId: string, options: RunOptions): Promise<StepOutcome> {
    const result: RunResult = await this.steps.advance(step, trackingId, options);
    if (result.kind === 'retry' && !result.queued) throw result.error;
    const deferred = result.kind === 'retry' || (result.kind === 'skipped' && result.deferred);
    return deferred ? { record: result.record, deferred: true } : { record: result.record };
  }
}
