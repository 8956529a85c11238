/**
 * The update use case: change an existing referral from the HTTP edge (`PATCH /api/referrals/{trackingId}`),
 * the `referral-update` queue, or a resume (a deferred change, the sweeper).
 *
 * ```
 * body ──► validate (no I/O: 400) ──► record (404; 409 #not-created) ──► dryRun? GET, plan ──► 200 JSON Patch
 *      └─► claim: insert change-<hash(key)> as Applying under this instance's lease
 *            ├─ exists, other body ──► 422            ├─ exists, final ──► its answer again (replay)
 *            ├─ exists, leased by another ──► wait for its answer within the budget, else 202
 *            └─ ours ──► applyChange (applyChange.ts) ──► 200 / 400 / 409 / 422, or 202 + the resume on the queue
 * ```
 * Exactly once: the change entity's insert is the idempotency claim (same key + same body = the same
 * change, whichever edge it came through); a retry after a lost answer plans against what Partner Center
 * holds, so a value is not sent twice and a team member already on the team is not added again.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logging';
import { validateReferralChanges, type ReferralChanges } from '../referral/changeSchema';
import { toJsonPointer, type ProblemDetails } from '../referral/problem';
import type { TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { canonicalJson } from '../workflow/canonicalJson';
import { identifyRequest, isValidIdempotencyKey } from '../workflow/idempotency';
import type { LeaseHolder } from '../workflow/lease';
import { applyChange, type AppliedOutcome, type ReferralChangeApi } from './applyChange';
import {
  changeKeyReusedProblem,
  invalidChangeKeyProblem,
  notCreatedProblem,
  notFoundProblem,
  refusedProblem,
  terminalProblem,
  conflictProblem,
  type PointerOf,
} from './changeProblems';
import { ChangeState, isFinalChange, type ChangeRecord } from './changeRecord';
import type { ChangeStore } from './changeStore';
import { claimChange, isChangeLeaseLive } from './changeLease';
import { captureBase, changedPointers, planChange } from './planChange';
import { noteRefusal } from './refusalNote';
import type { ReferralPatchOperation } from '../partner-center/types';

/** Sends a resume message (`{ trackingId, changeId }`) to `referral-update`. */
export interface ChangeQueue {
  send(message: { trackingId: string; changeId: string; traceparent?: string }): Promise<void>;
}

/** Options for {@link ReferralUpdates}. */
export interface ReferralUpdatesOptions {
  records: TrackingRecords;
  changes: ChangeStore;
  partnerCenter: ReferralChangeApi;
  queue: ChangeQueue;
  lease: LeaseHolder;
  logger: Logger;
  /** PATCHes on new eTags after a 412 before the change goes back to its queue. @default 3 */
  maxPreconditionRetries?: number;
  /** How often a request waits for another worker's answer to the same change. @default 100 */
  pollIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** One change request. */
export interface ChangeInput {
  trackingId?: string;
  /** Finds a record that was keyed by its externalReferenceId (created without an Idempotency-Key). */
  externalReferenceId?: string;
  body: unknown;
  idempotencyKey?: string;
  /** For a queue message without a key: its canonical content, so a redelivery is the same change. */
  messageKey?: string;
  source: 'http' | 'queue';
  /** Plan and answer the JSON Patch; send and store nothing. */
  dryRun?: boolean;
  /** Stop waiting for Partner Center after this long and leave the rest to the queue. */
  timeBudgetMs?: number;
  traceparent?: string;
}

/**
 * What a change came to. `answered`: a final answer (`status` 200: applied, the record as it stands;
 * else `problem`). `pending`: not finished yet (202): `error` when a retry could finish it (the queue edge
 * throws it); the HTTP edge's change was handed to `referral-update` already.
 */
export type ChangeOutcome =
  | { kind: 'problem'; problem: ProblemDetails; record?: TrackingRecord }
  | { kind: 'dryRun'; record: TrackingRecord; operations: ReferralPatchOperation[]; ifMatch?: string }
  | { kind: 'answered'; record: TrackingRecord; status: number; problem?: ProblemDetails; replayed: boolean }
  | { kind: 'pending'; record: TrackingRecord; changeId: string; error?: Error; replayed: boolean };

/** See the module comment. */
export class ReferralUpdates {
  readonly #o: ReferralUpdatesOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #noteOptions: { records: TrackingRecords; nowMs: () => number };

  constructor(options: ReferralUpdatesOptions) {
    this.#o = options;
    this.#noteOptions = { records: options.records, nowMs: () => options.lease.nowMs() };
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Validates, claims and applies a change within `timeBudgetMs` (see the module comment). */
  async change(input: ChangeInput): Promise<ChangeOutcome> {
    const { lease } = this.#o;
    if (input.idempotencyKey !== undefined && !isValidIdempotencyKey(input.idempotencyKey))
      return { kind: 'problem', problem: invalidChangeKeyProblem(input.source) };
    const trackingId =
      input.trackingId ??
      identifyRequest({ referral: { externalReferenceId: input.externalReferenceId } }, undefined).trackingId;
    const record = await this.#o.records.read(trackingId);
    if (!record) return { kind: 'problem', problem: notFoundProblem() };
    const validation = validateReferralChanges(input.body);
    if (!validation.ok) {
      if (input.source === 'queue') await noteRefusal(record, validation.problem, this.#noteOptions);
      return { kind: 'problem', problem: validation.problem, record };
    }
    if (!record.partnerReferralId)
      return { kind: 'problem', problem: notCreatedProblem(trackingId, record.state), record };
    const changes = validation.value;
    const deadlineEpochMs = input.timeBudgetMs === undefined ? undefined : lease.nowMs() + input.timeBudgetMs;
    if (input.dryRun) return this.#dryRun(record, changes, validation.pointerOf, deadlineEpochMs);

    const keySource =
      input.idempotencyKey !== undefined ? 'caller' : input.messageKey !== undefined ? 'message' : 'generated';
    const key = input.idempotencyKey ?? input.messageKey ?? randomUUID();
    const changeId = sha256(`${keySource === 'message' ? 'message' : 'key'}\u0000${key}`).slice(0, 32);
    const requestHash = sha256(canonicalJson(changes));
    const created = await this.#o.changes.create({
      trackingId,
      changeId,
      keySource,
      requestHash,
      source: input.source,
      state: ChangeState.Applying,
      changes,
      fields: changedPointers(changes),
      leaseOwner: lease.instanceId,
      leaseUntilEpochMs: lease.nowMs() + lease.leaseDurationMs,
      attempts: 0,
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    });
    if (created.created) {
      this.#o.logger.info('Referral change received', {
        trackingId,
        changeId,
        source: input.source,
        fields: created.change.fields,
      });
      return this.#run(created.change, record, validation.pointerOf, deadlineEpochMs, false);
    }
    if (created.existing.requestHash !== requestHash)
      return { kind: 'problem', problem: changeKeyReusedProblem(trackingId), record };
    return this.#rejoin(created.existing, record, validation.pointerOf, deadlineEpochMs);
  }

  /**
   * Runs a change from its resume message (a deferred change, the sweeper): claims it unless it is final or
   * another worker holds its live lease. `pending` with `error` asks the queue to retry.
   */
  async resume(trackingId: string, changeId: string): Promise<ChangeOutcome | undefined> {
    const [change, record] = await Promise.all([
      this.#o.changes.read(trackingId, changeId),
      this.#o.records.read(trackingId),
    ]);
    if (!change || !record || isFinalChange(change.state) || isChangeLeaseLive(change, this.#o.lease)) return undefined;
    const claimed = await claimChange(change, this.#o);
    if (!claimed) return undefined;
    return this.#run(claimed, record, (path) => toJsonPointer(path), undefined, false);
  }

  /**
   * Notes a `referral-update` message that could not be read as a change on the record's history (the
   * reason is then visible through the GET); undefined when the record is not found.
   */
  async noteInvalidMessage(
    target: { trackingId?: string; externalReferenceId?: string },
    invalid: ProblemDetails,
  ): Promise<TrackingRecord | undefined> {
    const trackingId =
      target.trackingId ??
      (target.externalReferenceId === undefined
        ? undefined
        : identifyRequest({ referral: { externalReferenceId: target.externalReferenceId } }, undefined).trackingId);
    const record = trackingId ? await this.#o.records.read(trackingId) : undefined;
    return record ? noteRefusal(record, invalid, this.#noteOptions) : undefined;
  }

  async #dryRun(
    record: TrackingRecord,
    changes: ReferralChanges,
    pointerOf: PointerOf,
    deadlineEpochMs: number | undefined,
  ): Promise<ChangeOutcome> {
    const held = await this.#o.partnerCenter.getReferral(record.partnerReferralId!, {
      deadlineEpochMs,
      logFields: { trackingId: record.trackingId, step: 'update-dry-run' },
    });
    const plan = planChange(changes, held, captureBase(changes, record.partnerCenter, held));
    const { trackingId } = record;
    if (plan.kind === 'terminal') return { kind: 'problem', problem: terminalProblem(plan.state, trackingId), record };
    if (plan.kind === 'refused') return { kind: 'problem', problem: refusedProblem(plan.errors, pointerOf), record };
    if (plan.kind === 'conflict')
      return { kind: 'problem', problem: conflictProblem(plan.conflicts, pointerOf, trackingId), record };
    return { kind: 'dryRun', record, operations: plan.operations, ...(held.eTag ? { ifMatch: held.eTag } : {}) };
  }

  /** The same change again: its answer when final, else take it over (lease expired) or wait for its worker. */
  async #rejoin(
    existing: ChangeRecord,
    record: TrackingRecord,
    pointerOf: PointerOf,
    deadlineEpochMs: number | undefined,
  ): Promise<ChangeOutcome> {
    let change = existing;
    for (;;) {
      if (isFinalChange(change.state)) return this.#replay(change, true);
      if (!isChangeLeaseLive(change, this.#o.lease)) {
        const claimed = await claimChange(change, this.#o);
        if (claimed) return this.#run(claimed, record, pointerOf, deadlineEpochMs, true);
      } else if (deadlineEpochMs === undefined || this.#o.lease.nowMs() >= deadlineEpochMs) {
        return { kind: 'pending', record, changeId: change.changeId, replayed: true };
      }
      await this.#sleep(this.#o.pollIntervalMs ?? 100);
      const reread = await this.#o.changes.read(change.trackingId, change.changeId);
      if (!reread) return { kind: 'pending', record, changeId: change.changeId, replayed: true };
      change = reread;
    }
  }

  async #run(
    claimed: ChangeRecord,
    record: TrackingRecord,
    pointerOf: PointerOf,
    deadlineEpochMs: number | undefined,
    replayed: boolean,
  ): Promise<ChangeOutcome> {
    const outcome: AppliedOutcome = await applyChange(claimed, record, {
      records: this.#o.records,
      changes: this.#o.changes,
      partnerCenter: this.#o.partnerCenter,
      logger: this.#o.logger,
      nowMs: this.#o.lease.nowMs,
      maxPreconditionRetries: this.#o.maxPreconditionRetries ?? 3,
      deadlineEpochMs,
      pointerOf,
    });
    if (outcome.kind === 'final') return this.#replay(outcome.change, replayed, outcome.record);
    const { change } = outcome;
    if (outcome.error && change.source === 'http' && deadlineEpochMs !== undefined) {
      // The HTTP edge answers 202: the change continues from the queue (the sweeper resends a lost message).
      await this.#o.queue
        .send({
          trackingId: change.trackingId,
          changeId: change.changeId,
          ...(change.traceparent ? { traceparent: change.traceparent } : {}),
        })
        .catch((error: unknown) =>
          this.#o.logger.warn('Could not enqueue the change; the sweeper will resume it', {
            trackingId: change.trackingId,
            reason: String(error),
          }),
        );
      return { kind: 'pending', record: outcome.record, changeId: change.changeId, replayed };
    }
    return { kind: 'pending', record: outcome.record, changeId: change.changeId, error: outcome.error, replayed };
  }

  async #replay(change: ChangeRecord, replayed: boolean, known?: TrackingRecord): Promise<ChangeOutcome> {
    const record = known ?? (await this.#o.records.read(change.trackingId));
    if (!record) return { kind: 'problem', problem: notFoundProblem() };
    const answer = change.answer ?? { status: 200 };
    return {
      kind: 'answered',
      record,
      status: answer.status,
      ...(answer.problem ? { problem: answer.problem } : {}),
      replayed,
    };
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
