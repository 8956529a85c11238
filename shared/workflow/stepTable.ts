/**
 * The workflow's steps as one table. A row names where a record waits for the step, the state it is in
 * while a worker holds the step's lease, the queue whose `{ trackingId }` messages carry the step, and the
 * step that may follow. The step's work is one function (stepFunctions.ts). Claims, leases, failure
 * mapping, queue hand-overs, the sweeper's re-enqueue and the resume of parked records are all read
 * from this table (docs/architecture.md, "Where a new step goes").
 *
 * ```
 *  waiting ──claim (conditional write, lease)──► running ──step function──► done: final state, or the next
 *     ▲                                            │                           step's waiting state (its queue),
 *     │                                            │                           or its running state (inline)
 *     └──── AwaitingReauthorization ◄── parked ────┤── retry: lease released, error recorded, stays running
 *                                                  └── rejected: Rejected (final)
 * ```
 */
import { deterministicRequestId } from '../partner-center/requestId';
import { TrackingState } from '../tracking/states';
import { TrackingStep } from '../tracking/trackingRecord';
import { LINK_QUEUE_NAME, SUBMIT_QUEUE_NAME } from './constants';

/** The steps of the workflow. */
export const StepName = { Partner: 'partner', Microsoft: 'microsoft' } as const;
export type StepName = (typeof StepName)[keyof typeof StepName];

/** The queues that carry steps. */
export type StepQueueName = typeof SUBMIT_QUEUE_NAME | typeof LINK_QUEUE_NAME;

/** One row of {@link STEPS}. */
export interface StepRow {
  /** Where a record waits for this step (a queue message, the sweeper or a resume brings it here). */
  readonly waiting: TrackingState;
  /** The state while a worker holds the step's lease (also where a transient failure leaves it). */
  readonly running: TrackingState;
  /** The queue whose `{ trackingId }` messages run this step. */
  readonly queue: StepQueueName;
  /** The step the done write may hand the record on to (its waiting state, or its running state inline). */
  readonly next?: StepName;
  /** What a recorded error names as its step. */
  readonly errorStep: TrackingStep;
}

/** The step table. Add a row (and a step function) for a new step; nothing else names states or queues. */
export const STEPS = {
  partner: {
    waiting: TrackingState.Received,
    running: TrackingState.CreatingPartner,
    queue: SUBMIT_QUEUE_NAME,
    next: StepName.Microsoft,
    errorStep: TrackingStep.Partner,
  },
  microsoft: {
    waiting: TrackingState.LinkQueued,
    running: TrackingState.CreatingMicrosoft,
    queue: LINK_QUEUE_NAME,
    errorStep: TrackingStep.Microsoft,
  },
} as const satisfies Record<StepName, StepRow>;

/** The step names in table order. */
export const STEP_NAMES = Object.keys(STEPS) as StepName[];

/** The row of `step`. */
export function rowOf(step: StepName): StepRow {
  return STEPS[step];
}

/** States in which a record's work may have stopped (each row's waiting and running state, in table order). */
export const OPEN_STATES: readonly TrackingState[] = STEP_NAMES.flatMap((step) => [
  STEPS[step].waiting,
  STEPS[step].running,
]);

/** The step a record in `state` waits for or runs, if any. */
export function stepOfState(state: TrackingState): StepName | undefined {
  return STEP_NAMES.find((step) => STEPS[step].waiting === state || STEPS[step].running === state);
}

/** The step whose waiting state is `state`, if any (where a parked record resumes). */
export function stepWaitingIn(state: TrackingState | undefined): StepName | undefined {
  return STEP_NAMES.find((step) => STEPS[step].waiting === state);
}

/**
 * The MS-RequestId of a step's create: derived from trackingId, step and the record's generation, the same on
 * every retry, so Partner Center treats a retry after a lost answer as the same call. Generation 0 keeps the
 * derivation records made before resends carry (`trackingId:step`); a resend (generation n ≥ 1) gets
 * `trackingId:step:n`, since a create retried with the same MS-RequestId gets Partner Center's earlier answer.
 */
export function stepRequestId(trackingId: string, step: StepName, generation = 0): string {
  return deterministicRequestId(generation === 0 ? `${trackingId}:${step}` : `${trackingId}:${step}:${generation}`);
}
