import { isRetryable } from '../platform/errors';
import type { Logger } from '../platform/logging';
import type { ReferralRequest, ValidationResult } from '../referral/validateReferralRequest';
import { problem, type ProblemDetails } from '../referral/problem';
import { TrackingState } from '../tracking/states';
import { CallbackState, KeySource, TrackingStep, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { identifyRequest, isValidIdempotencyKey, trackingIdForInvalidMessage } from './idempotency';
import type { LeaseHolder } from './lease';
import { describe } from './stepFailure';
import type { StepRunner } from './stepRunner';
import { STEPS, StepName } from './stepTable';

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
    const { lease } = this.#o;
    // Inserted already holding the partner step's lease: the claim costs no write of its own.
    const created = await this.#o.records.create({
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
    if (!created.created) {
      const existing = created.existing;
      if (existing.requestHash !== identity.requestHash) {
        return { kind: 'keyReused', record: existing, problem: keyReusedProblem(existing.trackingId) };
      }
      return tracked(existing, true);
    }
    const log = this.#o.logger.child({ trackingId: identity.trackingId });
    log.info('Referral request received', {
      dealType: request.dealType,
      source: input.source,
      keySource: identity.keySource,
    });
    const deadlineEpochMs = input.timeBudgetMs === undefined ? undefined : lease.nowMs() + input.timeBudgetMs;
    const result = await this.#o.runner.runClaimed(StepName.Partner, created.record, {
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

function callbackFields(request: ReferralRequest, baseUrl: string | undefined): Partial<TrackingRecord> {
  if (!request.callbackUrl) return {};
  return {
    callbackUrl: request.callbackUrl,
    callbackState: CallbackState.Pending,
    ...(baseUrl ? { callbackBaseUrl: baseUrl } : {}),
  };
}

/**
 * 400 for an unusable idempotency key, naming where it was: the `Idempotency-Key` header (RFC 9457 style
 * `header` member, no body pointer), or the queue envelope's `/idempotencyKey`.
 */
function invalidKeyProblem(source: SubmitInput['source']): ProblemDetails {
  const rule = '1 to 255 visible ASCII characters';
  const where =
    source === 'http'
      ? { header: 'Idempotency-Key', message: `The Idempotency-Key header must be ${rule}` }
      : { pointer: '/idempotencyKey', message: `The envelope's idempotencyKey must be ${rule}` };
  return problem(
    400,
    'validation',
    'The referral is not valid',
    source === 'http'
      ? `The Idempotency-Key header must be ${rule}.`
      : `The idempotencyKey of the queue envelope must be ${rule}.`,
    { errors: [{ ...where, code: 'invalid_idempotency_key' }] },
  );
}

function keyReusedProblem(trackingId: string): ProblemDetails {
  return problem(
    422,
    'idempotency-key-reused',
    'The idempotency key was used for another request',
    'A request with this idempotency key (or externalReferenceId) was already received with a different payload. Use a new key for a new referral.',
    { trackingId },
  );
}
