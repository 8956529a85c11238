import type { Logger } from '../platform/logging';
import type { TrackingChanges, TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import type { LinkAdoptLookup, ReferralsApi } from './ports';
import type { StepName } from './stepTable';

/**
 * What running a step did, with the record as written (never re-read):
 * - `done`: the step's work is recorded: the record is final, or waits in the next step's waiting state, or
 *   is already in the next step's running state under this instance's lease (the runner goes on inline);
 * - `retry`: a transient failure: the lease is released and the error recorded; the step must run again.
 *   `queued` says whether the runner already handed it to its queue (a step run inline after another);
 *   otherwise the caller decides: defer it to the step's queue, or throw `error` for the queue's own retry;
 * - `parked`: the refresh token was refused: `AwaitingReauthorization` until the sweeper resumes it;
 * - `rejected`: Partner Center refused: `Rejected` (final), `error` says why.
 */
export type StepResult =
  | { kind: 'done'; record: TrackingRecord }
  | { kind: 'retry'; record: TrackingRecord; error: Error; step: StepName; queued: boolean }
  | { kind: 'parked'; record: TrackingRecord }
  | { kind: 'rejected'; record: TrackingRecord; error: Error };

/**
 * A step that did not run here: another worker holds its live lease or took it over (`deferred`), or the
 * record does not wait for it (already past it, final).
 */
export type SkippedStep = { kind: 'skipped'; record: TrackingRecord; deferred: boolean };

/** What the runner answers for a step it was asked to run. */
export type RunResult = StepResult | SkippedStep;

/** What a step function gets besides the claimed record. */
export interface StepContext {
  records: TrackingRecords;
  partnerCenter: ReferralsApi;
  logger: Logger;
  /** Stop waiting for Partner Center at this instant (the caller's time budget). */
  deadlineEpochMs?: number;
  /** The step ran before on this record (found in its running state): an earlier attempt may have made its referral. */
  earlierAttempt: boolean;
  linkAdoptLookup: LinkAdoptLookup;
  /**
   * The changes of a done write that hand the record on to `next`: its running state under a renewed lease
   * of this instance when it runs inline (the runner then runs it), else its waiting state, lease released.
   */
  handOn(record: TrackingRecord, next: StepName): TrackingChanges;
}

/**
 * A step's work under a lease this instance holds: the Partner Center calls and the one conditional write
 * that records them (returning `{ kind: 'done', record }`). What fails is thrown; the runner maps it to
 * `retry`, `parked` or `rejected` (stepFailure.ts).
 */
export type StepFunction = (claimed: TrackingRecord, context: StepContext) => Promise<StepResult>;
