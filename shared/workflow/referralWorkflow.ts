import { randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logging';
import { isRetryable } from '../platform/errors';
import { validateReferralRequest, type ReferralRequest } from '../referral';
import type { ProblemDetails } from '../referral/problem';
import { problem } from '../referral/problem';
import { odataEquals, deterministicRequestId, PartnerCenterError, type PartnerCenterReferral } from '../partner-center';
import { TrackingState, isFinalState } from '../tracking/states';
import { TrackingConflictError } from '../tracking/errors';
import type { TrackingStore } from '../tracking/trackingStore';
import {
  CallbackState,
  KeySource,
  TrackingStep,
  type TrackingChanges,
  type TrackingError,
  type TrackingRecord,
} from '../tracking/trackingRecord';
import { identifyRequest, isValidIdempotencyKey, trackingIdForInvalidMessage } from './idempotency';
import { buildMicrosoftReferral, isMicrosoftReferral, type CoSellBlock } from './microsoftReferral';
import type { StepMessage } from './messages';
import type { CallbackNotifier } from './callbackNotifier';
import { toTrackingView } from './trackingView';
import { TrackingRecordNotFoundError } from './errors';

/** Sends one step message to a queue (the `referral-submit` or `referral-link` queue). */
export interface QueueSender {
  send(message: StepMessage): Promise<void>;
}

/** The Partner Center calls the workflow makes. */
export interface ReferralsApi {
  createReferral(
    body: unknown,
    options?: { requestId?: string; deadlineEpochMs?: number; logFields?: Record<string, unknown> },
  ): Promise<PartnerCenterReferral>;
  listReferrals(
    query: { filter?: string; maxItems?: number },
    options?: { deadlineEpochMs?: number; logFields?: Record<string, unknown> },
  ): Promise<PartnerCenterReferral[]>;
}

/** When the link step looks for an existing Microsoft referral in the engagement before creating one. */
export const LinkAdoptLookup = { Always: 'always', OnRetry: 'on-retry' } as const;
export type LinkAdoptLookup = (typeof LinkAdoptLookup)[keyof typeof LinkAdoptLookup];

/**
 * Where a co-sell deal's Microsoft referral is created.
 * - `inline`: right after the partner referral, in the same invocation (HTTP or queue), under the same
 *   lease; a transient failure or an exhausted time budget hands the step to `referral-link`.
 * - `queue`: always through `referral-link` (the design card's shape; one more read, two more writes and
 *   three queue operations per co-sell deal).
 */
export const LinkMode = { Inline: 'inline', Queue: 'queue' } as const;
export type LinkMode = (typeof LinkMode)[keyof typeof LinkMode];

/** Options for {@link ReferralWorkflow}. */
export interface ReferralWorkflowOptions {
  store: TrackingStore;
  partnerCenter: ReferralsApi;
  submitQueue: QueueSender;
  linkQueue: QueueSender;
  logger: Logger;
  callbacks?: CallbackNotifier;
  /** Builds the status URL of a record (for callbacks). @default `/api/referrals/{trackingId}` */
  statusUrlFor?: (trackingId: string) => string;
  /** Let unknown referral fields pass through. @default false */
  allowUnknownFields?: boolean;
  /** Accept http callback URLs (the sandbox). @default false */
  allowInsecureCallback?: boolean;
  /** How long a step's lease lasts; must outlast the Partner Center call with its retries. @default 180000 */
  leaseDurationMs?: number;
  /** @default 'on-retry' (see docs/architecture.md) */
  linkAdoptLookup?: LinkAdoptLookup;
  /** @default 'inline' (see {@link LinkMode} and docs/architecture.md) */
  linkMode?: LinkMode;
  instanceId?: string;
  nowMs?: () => number;
}

/** Input of {@link ReferralWorkflow.submit}. */
export interface SubmitInput {
  /** The parsed JSON body (POST) or queue payload body. */
  body: unknown;
  /** `Idempotency-Key` header or queue envelope key. */
  idempotencyKey?: string;
  source: 'http' | 'queue';
  /** Stop waiting for Partner Center after this long and leave the rest to the queue. */
  timeBudgetMs?: number;
  traceparent?: string;
}

/** Result of {@link ReferralWorkflow.submit}. */
export type SubmitOutcome =
  | { kind: 'invalid'; problem: ProblemDetails }
  | { kind: 'keyReused'; problem: ProblemDetails; record: TrackingRecord }
  | { kind: 'tracked'; record: TrackingRecord; replayed: boolean };

/** Result of pushing a record one step forward. */
export type StepOutcome = { record: TrackingRecord; deferred?: boolean };

/**
 * The use cases: submit a referral request, create the partner referral, link the Microsoft referral.
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
  readonly #o: Required<Omit<ReferralWorkflowOptions, 'callbacks'>> & Pick<ReferralWorkflowOptions, 'callbacks'>;

  constructor(options: ReferralWorkflowOptions) {
    this.#o = {
      statusUrlFor: (id) => `/api/referrals/${id}`,
      allowUnknownFields: false,
      allowInsecureCallback: false,
      leaseDurationMs: 180_000,
      linkAdoptLookup: LinkAdoptLookup.OnRetry,
      linkMode: LinkMode.Inline,
      instanceId: randomUUID(),
      nowMs: Date.now,
      ...options,
    };
  }

  /** Validates a request without side effects (the dry run behind POST /api/referrals/validate). */
  validate(body: unknown) {
    return validateReferralRequest(body, {
      allowUnknownFields: this.#o.allowUnknownFields,
      allowInsecureCallback: this.#o.allowInsecureCallback,
    });
  }

  /** Reads a record (GET /api/referrals/{trackingId}). */
  async get(trackingId: string): Promise<TrackingRecord | undefined> {
    return this.#o.store.read(trackingId);
  }

  /**
   * Validates, claims the idempotency key and creates the partner referral within `timeBudgetMs`.
   * Invalid input has no side effect. A transient failure after the claim leaves the record for the
   * `referral-submit` queue (HTTP: 202), or throws for the queue's retry (intake).
   */
  async submit(input: SubmitInput): Promise<SubmitOutcome> {
    if (input.idempotencyKey !== undefined && !isValidIdempotencyKey(input.idempotencyKey)) {
      return {
        kind: 'invalid',
        problem: problem(
          400,
          'validation',
          'The referral is not valid',
          'The idempotency key must be 1 to 255 visible ASCII characters.',
          {
            errors: [
              {
                pointer: '',
                code: 'invalid_idempotency_key',
                message: 'Idempotency key must be 1 to 255 visible ASCII characters',
              },
            ],
          },
        ),
      };
    }
    const validation = this.validate(input.body);
    if (!validation.ok) return { kind: 'invalid', problem: validation.problem };
    const request = validation.value;
    const identity = identifyRequest(
      request,
      input.idempotencyKey === undefined
        ? undefined
        : {
            key: input.idempotencyKey,
            source: input.source === 'http' ? KeySource.Header : KeySource.Envelope,
          },
    );
    // Inserted already holding the partner step's lease: the claim costs no write of its own.
    const created = await this.#o.store.create({
      trackingId: identity.trackingId,
      state: TrackingState.CreatingPartner,
      leaseOwner: this.#o.instanceId,
      leaseUntilEpochMs: this.#o.nowMs() + this.#o.leaseDurationMs,
      dealType: request.dealType,
      source: input.source,
      keySource: identity.keySource,
      requestHash: identity.requestHash,
      request,
      attempts: 1,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
      ...(request.callbackUrl ? { callbackUrl: request.callbackUrl, callbackState: CallbackState.Pending } : {}),
    });
    if (!created.created) {
      const existing = created.existing;
      if (existing.requestHash !== identity.requestHash) {
        return {
          kind: 'keyReused',
          record: existing,
          problem: problem(
            422,
            'idempotency-key-reused',
            'The idempotency key was used for another request',
            'A request with this idempotency key (or externalReferenceId) was already received with a different payload. Use a new key for a new referral.',
            { trackingId: existing.trackingId },
          ),
        };
      }
      return { kind: 'tracked', record: existing, replayed: true };
    }
    const log = this.#o.logger.child({ trackingId: identity.trackingId });
    log.info('Referral request received', {
      dealType: request.dealType,
      source: input.source,
      keySource: identity.keySource,
    });
    const deadlineEpochMs = input.timeBudgetMs === undefined ? undefined : this.#o.nowMs() + input.timeBudgetMs;
    try {
      const { record } = await this.#createPartnerReferral(created.record, deadlineEpochMs);
      return { kind: 'tracked', record, replayed: false };
    } catch (error) {
      if (!isRetryable(error)) throw error;
      log.warn('Partner step deferred to the queue', { reason: describe(error) });
      if (input.source === 'queue') throw error;
      return {
        kind: 'tracked',
        record: await this.#handOver(created.record, this.#o.submitQueue, 'partner'),
        replayed: false,
      };
    }
  }

  /**
   * Records an intake message that failed validation as `Rejected` (idempotent per message text),
   * so a bad message is visible and is not retried five times.
   */
  async rejectInvalidMessage(payload: unknown, invalid: ProblemDetails): Promise<TrackingRecord> {
    const trackingId = trackingIdForInvalidMessage(payload);
    const lastError: TrackingError = {
      step: TrackingStep.Validation,
      status: invalid.status,
      code: 'validation',
      message: invalid.detail ?? invalid.title,
      ...(Array.isArray(invalid.errors) ? { errors: invalid.errors.slice(0, 50) } : {}),
    };
    const created = await this.#o.store.create({
      trackingId,
      state: TrackingState.Rejected,
      dealType: 'Unknown',
      source: 'queue',
      keySource: KeySource.QueueMessage,
      requestHash: trackingId,
      attempts: 0,
      lastError,
    });
    return created.created ? created.record : created.existing;
  }

  /**
   * Step 1 (the `referral-submit` queue, the sweeper's resumes): claims a record in `Received` or
   * `CreatingPartner`, creates the partner referral and records its engagementId together with the next
   * state (see {@link ReferralWorkflow.submit} for new requests, which skip the claim).
   */
  async advancePartner(trackingId: string, options: { deadlineEpochMs?: number } = {}): Promise<StepOutcome> {
    const record = await this.#mustRead(trackingId);
    if (record.state === TrackingState.LinkQueued) {
      await this.#o.linkQueue.send(stepMessage(trackingId, record.traceparent));
      return { record };
    }
    if (record.state !== TrackingState.Received && record.state !== TrackingState.CreatingPartner) return { record };
    const claimed = await this.#claim(record, TrackingState.CreatingPartner);
    if (!claimed) return { record: (await this.#o.store.read(trackingId)) ?? record, deferred: true };
    return this.#createPartnerReferral(claimed, options.deadlineEpochMs);
  }

  /**
   * The partner step under a lease this instance holds: creates the partner referral and records it
   * with the next state in one conditional write: `Completed`; for co-sell `CreatingMicrosoft` (linked
   * inline, the lease renewed) or `LinkQueued` + a link message.
   */
  async #createPartnerReferral(claimed: TrackingRecord, deadlineEpochMs: number | undefined): Promise<StepOutcome> {
    const trackingId = claimed.trackingId;
    const log = this.#o.logger.child({ trackingId });
    let record = claimed;
    const request = record.request as ReferralRequest;
    let created: PartnerCenterReferral;
    try {
      created = await this.#o.partnerCenter.createReferral(request.referral, {
        requestId: deterministicRequestId(`${trackingId}:partner`),
        deadlineEpochMs,
        logFields: { trackingId, step: 'partner' },
      });
    } catch (error) {
      return this.#handleStepFailure(record, error, TrackingStep.Partner, TrackingState.Received);
    }
    const isCoSell = request.dealType === 'CoSell';
    const now = this.#o.nowMs();
    const linkInline =
      isCoSell && this.#o.linkMode === LinkMode.Inline && (deadlineEpochMs === undefined || now < deadlineEpochMs);
    const changes: TrackingChanges = {
      state: isCoSell
        ? linkInline
          ? TrackingState.CreatingMicrosoft
          : TrackingState.LinkQueued
        : TrackingState.Completed,
      partnerReferralId: created.id,
      engagementId: created.engagementId,
      partnerOrganizationId: created.organizationId,
      partnerOrganizationName: created.organizationName,
      lastError: undefined,
      ...(linkInline
        ? {
            leaseOwner: this.#o.instanceId,
            leaseUntilEpochMs: now + this.#o.leaseDurationMs,
            attempts: record.attempts + 1,
          }
        : { leaseOwner: undefined, leaseUntilEpochMs: undefined }),
      ...(isCoSell ? {} : { request: undefined }),
    };
    record = await this.#o.store.update(record, changes);
    log.info('Partner referral created', {
      partnerReferralId: created.id,
      engagementId: created.engagementId,
      state: record.state,
    });
    if (linkInline) return this.#linkInline(record, deadlineEpochMs);
    if (isCoSell) {
      await this.#enqueueStep(record, this.#o.linkQueue, 'link');
    } else {
      this.#notifyInBackground(record);
    }
    return { record };
  }

  /** The link step right after the partner step; what a retry could fix goes to `referral-link`. */
  async #linkInline(record: TrackingRecord, deadlineEpochMs: number | undefined): Promise<StepOutcome> {
    try {
      return await this.#createMicrosoftReferral(record, { earlierAttempt: false, deadlineEpochMs });
    } catch (error) {
      if (!isRetryable(error)) throw error;
      this.#o.logger.warn('Link step deferred to the queue', {
        trackingId: record.trackingId,
        reason: describe(error),
      });
      return { record: await this.#handOver(record, this.#o.linkQueue, 'link'), deferred: true };
    }
  }

  /** Enqueues a step; a lost send is covered by the sweeper (the record is its own outbox). */
  async #enqueueStep(record: TrackingRecord, queue: QueueSender, step: 'partner' | 'link'): Promise<void> {
    await queue.send(stepMessage(record.trackingId, record.traceparent)).catch((error: unknown) => {
      this.#o.logger.warn(`Could not enqueue the ${step} step; the sweeper will resume it`, {
        trackingId: record.trackingId,
        reason: describe(error),
      });
    });
  }

  /**
   * Hands a step this invocation could not finish to its queue and returns the record as stored now
   * (with the error the failed attempt recorded), or `record` when it cannot be read.
   */
  async #handOver(record: TrackingRecord, queue: QueueSender, step: 'partner' | 'link'): Promise<TrackingRecord> {
    await this.#enqueueStep(record, queue, step);
    return (await this.#o.store.read(record.trackingId).catch(() => undefined)) ?? record;
  }

  /**
   * Step 2 (co-sell): creates the Microsoft referral in the partner referral's engagement, adopting one
   * that an earlier attempt created, and records it: `Linked`.
   */
  async advanceLink(trackingId: string): Promise<StepOutcome> {
    const log = this.#o.logger.child({ trackingId });
    const record = await this.#mustRead(trackingId);
    if (record.state !== TrackingState.LinkQueued && record.state !== TrackingState.CreatingMicrosoft)
      return { record };
    const earlierAttempt = record.state === TrackingState.CreatingMicrosoft;
    const claimed = await this.#claim(record, TrackingState.CreatingMicrosoft);
    if (!claimed) return { record: (await this.#o.store.read(trackingId)) ?? record, deferred: true };
    return this.#createMicrosoftReferral(claimed, { earlierAttempt });
  }

  /**
   * The link step under a lease this instance holds: adopts the Microsoft referral of an earlier
   * attempt (or, with `LINK_ADOPT_LOOKUP=always`, any in the engagement), else creates it; then `Linked`.
   */
  async #createMicrosoftReferral(
    claimed: TrackingRecord,
    options: { earlierAttempt: boolean; deadlineEpochMs?: number },
  ): Promise<StepOutcome> {
    const trackingId = claimed.trackingId;
    const log = this.#o.logger.child({ trackingId });
    let record = claimed;
    const request = record.request as ReferralRequest & { coSell: CoSellBlock };
    const engagementId = record.engagementId!;
    const deadlineEpochMs = options.deadlineEpochMs;
    let microsoftReferral: PartnerCenterReferral | undefined;
    try {
      if (options.earlierAttempt || this.#o.linkAdoptLookup === LinkAdoptLookup.Always) {
        const related = await this.#o.partnerCenter.listReferrals(
          { filter: odataEquals('engagementId', engagementId), maxItems: 500 },
          { deadlineEpochMs, logFields: { trackingId, step: 'microsoft-lookup' } },
        );
        microsoftReferral = related.find((r) => r.id !== record.partnerReferralId && isMicrosoftReferral(r));
        if (microsoftReferral)
          log.info('Adopted the Microsoft referral of an earlier attempt', {
            microsoftReferralId: microsoftReferral.id,
          });
      }
      microsoftReferral ??= await this.#o.partnerCenter.createReferral(
        buildMicrosoftReferral(request.referral, request.coSell, {
          engagementId,
          organizationId: record.partnerOrganizationId,
          organizationName: record.partnerOrganizationName,
        }),
        {
          requestId: deterministicRequestId(`${trackingId}:microsoft`),
          deadlineEpochMs,
          logFields: { trackingId, step: 'microsoft' },
        },
      );
    } catch (error) {
      return this.#handleStepFailure(record, error, TrackingStep.Microsoft, TrackingState.LinkQueued);
    }
    record = await this.#o.store.update(record, {
      state: TrackingState.Linked,
      microsoftReferralId: microsoftReferral.id,
      leaseOwner: undefined,
      leaseUntilEpochMs: undefined,
      lastError: undefined,
      request: undefined,
    });
    log.info('Microsoft referral linked', { microsoftReferralId: microsoftReferral.id, engagementId });
    this.#notifyInBackground(record);
    return { record };
  }

  /**
   * Moves a parked (`AwaitingReauthorization`) record back to where it stopped and enqueues its step.
   * Called by the sweeper once the token broker is healthy again.
   */
  async resumeParked(record: TrackingRecord): Promise<TrackingRecord> {
    if (record.state !== TrackingState.AwaitingReauthorization) return record;
    const resumeTo = record.parkedFrom === TrackingState.LinkQueued ? TrackingState.LinkQueued : TrackingState.Received;
    const resumed = await this.#o.store.update(record, { state: resumeTo, parkedFrom: undefined });
    const queue = resumeTo === TrackingState.LinkQueued ? this.#o.linkQueue : this.#o.submitQueue;
    await queue.send(stepMessage(record.trackingId, record.traceparent));
    return resumed;
  }

  /** Re-enqueues the step of a record whose work stopped (crash, lost message); used by the sweeper. */
  async requeue(record: TrackingRecord): Promise<boolean> {
    if (record.leaseUntilEpochMs !== undefined && record.leaseUntilEpochMs > this.#o.nowMs()) return false;
    if (record.state === TrackingState.Received || record.state === TrackingState.CreatingPartner) {
      await this.#o.submitQueue.send(stepMessage(record.trackingId, record.traceparent));
      return true;
    }
    if (record.state === TrackingState.LinkQueued || record.state === TrackingState.CreatingMicrosoft) {
      await this.#o.linkQueue.send(stepMessage(record.trackingId, record.traceparent));
      return true;
    }
    return false;
  }

  /** Delivers a pending callback of a final record (sweeper retry after a crash). */
  async deliverPendingCallback(record: TrackingRecord): Promise<void> {
    if (isFinalState(record.state) && record.callbackState === CallbackState.Pending) await this.#notify(record);
  }

  /**
   * Takes the step lease: a conditional write of `state` with this instance as owner.
   * ```
   * read (etag E1, lease free or expired) ──► update(state, owner=me, leaseUntil=now+lease, etag=E1)
   *   ├─ ok  ──► this instance runs the step
   *   └─ 412 ──► someone else moved first ──► re-read: live lease of another → leave it to them
   * ```
   * Returns undefined when another instance holds a live lease or the record moved on.
   */
  async #claim(record: TrackingRecord, state: TrackingState): Promise<TrackingRecord | undefined> {
    let current = record;
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.#o.nowMs();
      const heldByOther =
        current.state === state &&
        current.leaseOwner !== undefined &&
        current.leaseOwner !== this.#o.instanceId &&
        (current.leaseUntilEpochMs ?? 0) > now;
      if (heldByOther) return undefined;
      try {
        return await this.#o.store.update(current, {
          state,
          leaseOwner: this.#o.instanceId,
          leaseUntilEpochMs: now + this.#o.leaseDurationMs,
          attempts: current.attempts + 1,
        });
      } catch (error) {
        if (!(error instanceof TrackingConflictError)) throw error;
        const reread = await this.#o.store.read(current.trackingId);
        if (!reread) return undefined;
        const stillEligible =
          reread.state === state ||
          (state === TrackingState.CreatingPartner && reread.state === TrackingState.Received) ||
          (state === TrackingState.CreatingMicrosoft && reread.state === TrackingState.LinkQueued);
        if (!stillEligible) return undefined;
        current = reread;
      }
    }
    return undefined;
  }

  /**
   * Maps a failed step: reauthorisation parks the record, a permanent Partner Center refusal ends it as
   * `Rejected`, anything transient releases the lease, records the error and is rethrown.
   */
  async #handleStepFailure(
    record: TrackingRecord,
    error: unknown,
    step: TrackingStep,
    parkAs: TrackingState,
  ): Promise<StepOutcome> {
    const log = this.#o.logger.child({ trackingId: record.trackingId });
    const lastError = toTrackingError(error, step);
    if (isReauthorizationRequired(error)) {
      log.warn('Parked until a new refresh token is stored', { step });
      const parked = await this.#o.store.update(record, {
        state: TrackingState.AwaitingReauthorization,
        parkedFrom: parkAs,
        leaseOwner: undefined,
        leaseUntilEpochMs: undefined,
        lastError,
      });
      return { record: parked };
    }
    if (error instanceof PartnerCenterError && !error.retryable) {
      log.warn('Partner Center rejected the referral', { step, status: error.status, code: error.code });
      const rejected = await this.#o.store.update(record, {
        state: TrackingState.Rejected,
        leaseOwner: undefined,
        leaseUntilEpochMs: undefined,
        lastError,
        request: undefined,
      });
      this.#notifyInBackground(rejected);
      return { record: rejected };
    }
    await this.#o.store
      .update(record, { leaseOwner: undefined, leaseUntilEpochMs: undefined, lastError })
      .catch(() => undefined); // the lease expires by itself if this write fails
    throw error;
  }

  /**
   * Delivers the callback without holding up the step. If the process stops first, the record stays
   * `callbackState: pending` and the sweeper delivers it.
   */
  #notifyInBackground(record: TrackingRecord): void {
    this.#notify(record).catch((error: unknown) => {
      this.#o.logger.warn('Callback delivery failed; the sweeper retries it', {
        trackingId: record.trackingId,
        reason: describe(error),
      });
    });
  }

  async #notify(record: TrackingRecord): Promise<void> {
    const callbacks = this.#o.callbacks;
    if (!callbacks || !record.callbackUrl || record.callbackState !== CallbackState.Pending) return;
    const outcome = await callbacks.notify(
      record.callbackUrl,
      toTrackingView(record, this.#o.statusUrlFor(record.trackingId)),
    );
    await this.#o.store
      .update(record, { callbackState: outcome.state === 'delivered' ? CallbackState.Delivered : CallbackState.Failed })
      .catch(() => undefined);
  }

  async #mustRead(trackingId: string): Promise<TrackingRecord> {
    const record = await this.#o.store.read(trackingId);
    if (!record) throw new TrackingRecordNotFoundError(trackingId);
    return record;
  }
}

/** A step message for `trackingId`, carrying the trace to continue. */
export function stepMessage(trackingId: string, traceparent?: string): StepMessage {
  return traceparent ? { trackingId, traceparent } : { trackingId };
}

/** True for the token broker's reauthorisation error (checked by name: holds across module copies). */
export function isReauthorizationRequired(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReauthorizationRequiredError';
}

function toTrackingError(error: unknown, step: TrackingStep): TrackingError {
  if (error instanceof PartnerCenterError) {
    return {
      step,
      ...(error.status ? { status: error.status } : {}),
      code: error.code,
      message: error.message.slice(0, 1024),
    };
  }
  if (isReauthorizationRequired(error)) {
    return {
      step,
      code: 'reauthorizationRequired',
      message: 'The refresh token was refused: store a new one (npm run auth:consent).',
    };
  }
  const name = error instanceof Error ? error.name : 'Error';
  return { step, code: name, message: describe(error) };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : String(error).slice(0, 500);
}
