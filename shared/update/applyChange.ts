/**
 * Runs one change under the lease of its change entity: read what Partner Center holds, plan, send the
 * JSON Patch with `If-Match`, and on a 412 read again and plan again on the new eTag (a field someone
 * else changed since the base is a conflict, never a blind overwrite). Records the outcome: Partner
 * Center's answer on the tracking record (the one apply function, recordAnswer.ts), the final answer on
 * the change entity.
 *
 * ```
 * GET (eTag E1) ─► plan ─► PATCH If-Match E1 ─┬─ 200 ─► record: snapshot + history `update` ─► change Applied
 *                   ▲                          ├─ 412 ─► GET (eTag E2) ─► plan again (conflict? refused?) ─┘
 *                   │                          └─ lost answer: the client resends (same MS-RequestId) ─► 412 ─┘
 *                   └─ nothing left to send (our values are held, members on the team) ─► Applied
 * ```
 * A retry after a crash finds the change `Applying` with an expired lease (the sweeper re-enqueues it) and
 * runs this again: the values it sent are then held already, so nothing is sent twice.
 */
import { deterministicRequestId } from '../partner-center/requestId';
import {
  PartnerCenterError,
  type ReferralPatchOperation,
  type PartnerCenterReferral,
  type PatchOptions,
} from '../partner-center';
import { ensureError } from '../platform/errors';
import type { Logger } from '../platform/logging';
import { TrackingConflictError } from '../tracking/errors';
import { HistorySource, withHistory, type TrackingChanges, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { ChangeState, type ChangeAnswer, type ChangeRecord } from './changeRecord';
import type { ChangeStore } from './changeStore';
import {
  conflictProblem,
  partnerRefusedProblem,
  refusedProblem,
  terminalProblem,
  type PointerOf,
} from './changeProblems';
import { ChangeConflictError, ReferralKeptChangingError } from './errors';
import { captureBase, planChange } from './planChange';
import { partnerAnswerChanges } from './recordAnswer';
import { describe } from '../workflow/stepFailure';

/** The Partner Center calls a change makes. */
export interface ReferralChangeApi {
  getReferral(
    id: string,
    options?: { deadlineEpochMs?: number; logFields?: Record<string, unknown> },
  ): Promise<PartnerCenterReferral>;
  patchReferral(
    id: string,
    operations: readonly ReferralPatchOperation[],
    options?: PatchOptions,
  ): Promise<PartnerCenterReferral | undefined>;
}

/** What running a change under its lease ended with. */
export type AppliedOutcome =
  | { kind: 'final'; change: ChangeRecord; record: TrackingRecord }
  /** Not finished here: the lease is released (or was taken over); `error` when a retry could finish it. */
  | { kind: 'pending'; change: ChangeRecord; record: TrackingRecord; error?: Error };

/** What {@link applyChange} needs. */
export interface ApplyContext {
  records: TrackingRecords;
  changes: ChangeStore;
  partnerCenter: ReferralChangeApi;
  logger: Logger;
  nowMs: () => number;
  /** PATCHes on new eTags after a 412 before the change goes back to its queue. */
  maxPreconditionRetries: number;
  deadlineEpochMs?: number;
  pointerOf: PointerOf;
}

/** Runs `claimed` (its lease held by this instance) on `record`; see the module comment. */
export async function applyChange(
  claimed: ChangeRecord,
  record: TrackingRecord,
  context: ApplyContext,
): Promise<AppliedOutcome> {
  let change = claimed;
  const referralId = record.partnerReferralId!;
  const changes = change.changes!;
  const logFields = { trackingId: record.trackingId, changeId: change.changeId, step: 'update' };
  const call = { deadlineEpochMs: context.deadlineEpochMs, logFields };
  try {
    let held = await context.partnerCenter.getReferral(referralId, call);
    if (!change.base) {
      change = await context.changes.update(change, { base: captureBase(changes, record.partnerCenter, held) });
    }
    const base = change.base!;
    for (let attempt = 0; ; attempt++) {
      const plan = planChange(changes, held, base);
      if (plan.kind === 'terminal')
        return finish(
          context,
          change,
          record,
          ChangeState.Refused,
          terminalProblem(plan.state, record.trackingId),
          held,
        );
      if (plan.kind === 'refused')
        return finish(context, change, record, ChangeState.Refused, refusedProblem(plan.errors, context.pointerOf));
      if (plan.kind === 'conflict')
        return finish(
          context,
          change,
          record,
          ChangeState.Conflict,
          conflictProblem(plan.conflicts, context.pointerOf, record.trackingId),
          held,
        );
      if (plan.operations.length === 0) return applied(context, change, record, held);
      if (attempt > context.maxPreconditionRetries) throw new ReferralKeptChangingError(record.trackingId);
      try {
        const answer = await context.partnerCenter.patchReferral(referralId, plan.operations, {
          ...call,
          ifMatch: held.eTag,
          requestId: deterministicRequestId(`${record.trackingId}:change:${change.changeId}:${held.eTag ?? ''}`),
        });
        change = { ...change, attempts: change.attempts + 1 };
        return await applied(
          context,
          change,
          record,
          answer ?? (await context.partnerCenter.getReferral(referralId, call)),
        );
      } catch (error) {
        if (!isPreconditionFailed(error)) throw error;
        context.logger.info('Partner Center holds a newer referral: planning the change again', logFields);
        held = await context.partnerCenter.getReferral(referralId, call);
      }
    }
  } catch (thrown) {
    return failed(context, change, record, ensureError(thrown));
  }
}

/** True for Partner Center's answer to a stale `If-Match` (412 `preconditionFailed`, or `resourceModified`). */
export function isPreconditionFailed(error: unknown): boolean {
  return (
    error instanceof PartnerCenterError &&
    (error.status === 412 || error.code === 'preconditionFailed' || error.code === 'resourceModified')
  );
}

async function applied(
  context: ApplyContext,
  change: ChangeRecord,
  record: TrackingRecord,
  answer: PartnerCenterReferral,
): Promise<AppliedOutcome> {
  const at = new Date(context.nowMs()).toISOString();
  const written = await writeRecord(context.records, record, (current) =>
    partnerAnswerChanges(current, answer, at, { kind: 'update', note: change.fields.join(', ') }),
  );
  return settle(context, change, written, ChangeState.Applied, { status: 200 });
}

async function finish(
  context: ApplyContext,
  change: ChangeRecord,
  record: TrackingRecord,
  state: typeof ChangeState.Refused | typeof ChangeState.Conflict,
  problem: NonNullable<ChangeAnswer['problem']>,
  held?: PartnerCenterReferral,
): Promise<AppliedOutcome> {
  const at = new Date(context.nowMs()).toISOString();
  const codes = (problem.errors ?? []).map((error) => `${error.pointer ?? error.header ?? ''} ${error.code}`);
  const note = [problem.type.split('#')[1], ...codes].join('; ').slice(0, 500);
  const conflict = state === ChangeState.Conflict;
  // A conflict teaches the record what Partner Center holds (so a re-sent change is based on it); a refusal
  // is noted in the history when nobody got the answer (the change came from a queue).
  const noted = conflict || change.source === 'queue';
  let written = record;
  if (held || noted) {
    written = await writeRecord(context.records, record, (current): TrackingChanges => {
      const entry = noted ? { kind: conflict ? 'conflict' : 'refused', note } : undefined;
      return conflict && held
        ? partnerAnswerChanges(current, held, at, entry)
        : entry
          ? historyOnly(current, at, entry)
          : {};
    });
  }
  return settle(context, change, written, state, { status: problem.status, problem });
}

function historyOnly(record: TrackingRecord, at: string, entry: { kind: string; note: string }): TrackingChanges {
  return { history: withHistory(record.history, { at, source: HistorySource.Us, ...entry }) };
}

/** The change's final write: state, answer, lease released, the change's contents purged. */
async function settle(
  context: ApplyContext,
  change: ChangeRecord,
  record: TrackingRecord,
  state: ChangeState,
  answer: ChangeAnswer,
): Promise<AppliedOutcome> {
  const final = await context.changes.update(change, {
    state,
    answer,
    leaseOwner: undefined,
    leaseUntilEpochMs: undefined,
    changes: undefined,
    base: undefined,
    lastError: undefined,
  });
  return { kind: 'final', change: final, record };
}

async function failed(
  context: ApplyContext,
  change: ChangeRecord,
  record: TrackingRecord,
  error: Error,
): Promise<AppliedOutcome> {
  const log = context.logger.child({ trackingId: record.trackingId, changeId: change.changeId });
  if (error instanceof ChangeConflictError || error instanceof TrackingConflictError) {
    log.info('Another worker took the change over');
    return { kind: 'pending', change, record };
  }
  if (error instanceof PartnerCenterError && !error.retryable && !isPreconditionFailed(error)) {
    log.warn('Partner Center rejected the change', { status: error.status, code: error.code });
    return finish(
      context,
      change,
      record,
      ChangeState.Refused,
      partnerRefusedProblem(record.trackingId, error.status, error.code, error.message),
    );
  }
  log.warn('The change will be retried', { reason: describe(error) });
  const released = await context.changes
    .update(change, {
      state: ChangeState.Received,
      leaseOwner: undefined,
      leaseUntilEpochMs: undefined,
      lastError: { code: error instanceof PartnerCenterError ? error.code : error.name, message: describe(error) },
    })
    .catch(() => change);
  return { kind: 'pending', change: released, record, error };
}

/** One conditional write of the record, planned again on a fresh read when someone else wrote first. */
async function writeRecord(
  records: TrackingRecords,
  record: TrackingRecord,
  plan: (current: TrackingRecord) => TrackingChanges,
): Promise<TrackingRecord> {
  let current = record;
  for (let attempt = 0; attempt < 5; attempt++) {
    const changes = plan(current);
    if (Object.keys(changes).length === 0) return current;
    try {
      return await records.update(current, changes);
    } catch (error) {
      if (!(error instanceof TrackingConflictError)) throw error;
      const reread = await records.read(record.trackingId);
      if (!reread) throw error;
      current = reread;
    }
  }
  throw new TrackingConflictError(record.trackingId);
}
