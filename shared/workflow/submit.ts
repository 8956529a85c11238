import { isRetryable } from '../platform/errors';
import type { Logger } from '../platform/logging';
import type { ReferralRequest, ValidationResult } from '../referral/validateReferralRequest';
import type { ProblemDetails } from '../referral/problem';
import { TrackingConflictError } from '../tracking/errors';
import { TrackingState } from '../tracking/states';
import { KeySource, TrackingStep, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import {
  identifyRequest,
  isValidIdempotencyKey,
  trackingIdForInvalidMessage,
  type RequestIdentity,
} from './idempotency';
import type { LeaseHolder } from './lease';
import { callbackFields, isResendable, resendChanges } from './resend';
import { describe } from './stepFailure';
import type { StepRunner } from './stepRunner';
import { STEPS, StepName } from './stepTable';
import { invalidKeyProblem, keyReusedProblem } from './submitProblems';

/** Tries of a resend's claim when another writer changes the record in between. */
const RESEND_CLAIM_TRIES = 3;

/** Input of a submission. */
export interface SubmitInput {
  /** The parsed JSON body (POST) or queue payload body. */
  body: unknown;
  /** `Idempotency-Key` header or queue envelope key. */
  idempotencyKey?: string;
  source: 'http' | 'queue';
  /** Stop waiting for Partner Center after this long and leave the rest to the queue. */
  timeBudgetMs?: number;
  traceparent?: string;
  /**
   * Origin of the HTTP request (PUBLIC_BASE_URL when set): the callback's links are built from it, so
   * they are absolute like the answer's `Location`.
   */
  baseUrl?: string;
}

/**
 * Result of a submission. `rejected`: Partner Center refused the referral (now, or in the earlier
 * request this one replays); the record says why. `tracked`: the record and where its work stands.
 */
export type SubmitOutcome =
  | { kind: 'invalid'; problem: ProblemDetails }
  | { kind: 'keyReused'; problem: ProblemDetails; record: TrackingRecord }
  | { kind: 'rejected'; record: TrackingRecord; replayed: boolean }
  | { kind: 'tracked'; record: TrackingRecord; replayed: boolean };

/** Options for {@link Intake}. */
export interface IntakeOptions {
  records: TrackingRecords;
  runner: StepRunner;
  logger: Logger;
  lease: LeaseHolder;
  validate: (body: unknown) => ValidationResult;
}

/**
 * Submission and intake: validates, claims the idempotency key with the insert (which also holds the
 * partner step's lease) and runs the partner step; records refused intake messages.
 */
export class Intake {
  readonly #o: IntakeOptions;

  constructor(options: IntakeOptions) {
    this.#o = options;
  }

  /**
   * Validates, claims the idempotency key and creates the partner referral within `timeBudgetMs`.
   * Invalid input has no side effect. A transient failure after the claim leaves the record for the
   * `referral-submit` queue (HTTP: tracked, 202), or throws for the queue's retry (intake).
   */
  async submit(input: SubmitInput): Promise<SubmitOutcome> {
    if (input.idempotencyKey !== undefined && !isValidIdempotencyKey(input.idempotencyKey)) {
      return { kind: 'invalid', problem: invalidKeyProblem(input.source) };
    }
    const validation = this.#o.validate(input.body);
    if (!validation.ok) return { kind: 'invalid', problem: validation.problem };
    const request = validation.value;
    const identity = identifyRequest(
      request,
      input.idempotencyKey === undefined
        ? undefined
        : { key: input.idempotencyKey, source: input.source === 'http' ? KeySource.Header : KeySource.Envelope },
    );
    const claim = await this.#claim(identity, request, input);
    if (claim.kind !== 'claimed') return claim.outcome;
    const { lease } = this.#o;
    const claimed = claim.record;
    const log = this.#o.logger.child({ trackingId: identity.trackingId });
    log.info(claim.resent ? 'Refused referral resent with a corrected payload' : 'Referral request received', {
      dealType: request.dealType,
      source: input.source,
      keySource: identity.keySource,
      ...(claim.resent ? { generation: claimed.generation } : {}),
    });
    const deadlineEpochMs = input.timeBudgetMs === undefined ? undefined : lease.nowMs() + input.timeBudgetMs;
    const result = await this.#o.runner.runClaimed(StepName.Partner, claimed, {
      deadlineEpochMs,
      earlierAttempt: false,
    });
    if (result.kind !== 'retry' || result.queued) return tracked(result.record, false);
    if (!isRetryable(result.error)) throw result.error;
    log.warn('Partner step deferred to the queue', { reason: describe(result.error) });
    if (input.source === 'queue') throw result.error;
    return tracked(await this.#o.runner.defer(result), false);
  }

  /**
   * Claims the key: the insert of a new record holding the partner step's lease, or, when the key's record
   * exists, a replay (same payload), a resend (Rejected before anything was created in Partner Center, other
   * payload: the same record back to the partner step, conditional on its ETag) or a 422 (other payload).
   * Concurrent resends of one corrected payload make one claim; the others replay it.
   */
  async #claim(
    identity: RequestIdentity,
    request: ReferralRequest,
    input: SubmitInput,
  ): Promise<
    { kind: 'claimed'; record: TrackingRecord; resent: boolean } | { kind: 'answer'; outcome: SubmitOutcome }
  > {
    const { lease, records } = this.#o;
    // Inserted already holding the partner step's lease: the claim costs no write of its own.
    const created = await records.create({
      trackingId: identity.trackingId,
      state: STEPS.partner.running,
      leaseOwner: lease.instanceId,
      leaseUntilEpochMs: lease.nowMs() + lease.leaseDurationMs,
      dealType: request.dealType,
      source: input.source,
      keySource: identity.keySource,
      requestHash: identity.requestHash,
      request,
      attempts: 1,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
      ...callbackFields(request, input.baseUrl),
    });
    if (created.created) return { kind: 'claimed', record: created.record, resent: false };
    let existing: TrackingRecord | undefined = created.existing;
    for (let attempt = 0; existing && attempt < RESEND_CLAIM_TRIES; attempt++) {
      if (existing.requestHash === identity.requestHash) return { kind: 'answer', outcome: tracked(existing, true) };
      if (!isResendable(existing)) break;
      try {
        const record = await records.update(existing, resendChanges(existing, identity, request, input, lease));
        return { kind: 'claimed', record, resent: true };
      } catch (error) {
        if (!(error instanceof TrackingConflictError)) throw error;
        existing = await records.read(identity.trackingId);
      }
    }
    if (existing && isResendable(existing)) throw new TrackingConflictError(identity.trackingId); // retryable: try again
    const current = existing ?? created.existing;
    return {
      kind: 'answer',
      outcome: { kind: 'keyReused', record: current, problem: keyReusedProblem(current, identity.keySource) },
    };
  }

  /**
   * Records an intake message that failed validation as `Rejected` (idempotent per message text),
   * so a bad message is visible and is not retried five times.
   */
  async rejectInvalidMessage(payload: unknown, invalid: ProblemDetails): Promise<TrackingRecord> {
    const trackingId = trackingIdForInvalidMessage(payload);
    const created = await this.#o.records.create({
      trackingId,
      state: TrackingState.Rejected,
      dealType: 'Unknown',
      source: 'queue',
      keySource: KeySource.QueueMessage,
      requestHash: trackingId,
      attempts: 0,
      lastError: {
        step: TrackingStep.Validation,
        status: invalid.status,
        code: 'validation',
        message: invalid.detail ?? invalid.title,
        ...(Array.isArray(invalid.errors) ? { errors: invalid.errors.slice(0, 50) } : {}),
      },
    });
    return created.created ? created.record : created.existing;
  }
}

/** `rejected` for a record Partner Center refused, else `tracked`. */
function tracked(record: TrackingRecord, replayed: boolean): SubmitOutcome {
  return record.state === TrackingState.Rejected
    ? { kind: 'rejected', record, replayed }
    : { kind: 'tracked', record, replayed };
}
