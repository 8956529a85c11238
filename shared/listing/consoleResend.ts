/**
 * The console's "resend a refused deal after it was fixed" (docs/console.md): whether a record can take a
 * corrected request, and the resend itself through the workflow's fix-and-resend (shared/workflow/submit.ts:
 * same record, same key, next generation, the refusal kept in history).
 *
 * A refused record keeps no request (customer contacts are purged), so the operator pastes the corrected body,
 * exactly what POST /api/referrals takes. Before anything is written the body is validated with the contract
 * and its key is checked to lead to this very record: a body that would land on another record (another
 * externalReferenceId, another Idempotency-Key) or that is the refused one unchanged is refused here, with no
 * side effect. Nothing of the body is logged or returned: answers carry codes, pointers and the tracking view.
 */
import { problem, type ProblemDetails } from '../referral/problem';
import type { ValidationResult } from '../referral/validateReferralRequest';
import { TrackingState } from '../tracking/states';
import { Direction, KeySource, type TrackingRecord } from '../tracking/trackingRecord';
import { identifyRequest, isValidIdempotencyKey } from '../workflow/idempotency';
import { isResendable } from '../workflow/resend';
import type { SubmitInput, SubmitOutcome } from '../workflow/submit';

/** Why a record cannot be resent from the console. */
export const ResendBlock = {
  /** Not refused (in flight, created, parked): nothing to resend. */
  NotRefused: 'not-refused',
  /** Refused after the partner referral was made (the Microsoft step): it exists; change it with PATCH. */
  CreatedInPartnerCenter: 'created-in-partner-center',
  /** An intake message that was not a valid request: keyed by its text, a corrected message is a new one. */
  InvalidQueueMessage: 'invalid-queue-message',
  /** Keyed by its content (no key, no externalReferenceId): a corrected request is a new request. */
  ContentKeyed: 'content-keyed',
  /** Someone else created it in Partner Center. */
  Inbound: 'inbound',
} as const;
export type ResendBlock = (typeof ResendBlock)[keyof typeof ResendBlock];

/** What the deal page needs to offer (or explain the absence of) the resend form. */
export interface ResendEligibility {
  trackingId: string;
  state: TrackingState;
  resendable: boolean;
  /** Where the record's key came from (decides what the corrected body must keep). */
  keySource: KeySource;
  /**
   * The deal was keyed by an Idempotency-Key (or a queue envelope's idempotencyKey): the key is not stored, so
   * the operator gives it again (sent as the `Idempotency-Key` header).
   */
  keyRequired: boolean;
  /** For an externalReferenceId-keyed deal: the corrected body must keep the same `externalReferenceId`. */
  keepsExternalReferenceId: boolean;
  /** Why not, when not resendable. */
  blocked?: { code: ResendBlock; message: string };
}

const BLOCK_MESSAGES: Record<ResendBlock, string> = {
  [ResendBlock.NotRefused]:
    'Only a refused deal can be resent. A deal in flight finishes by itself; a created one changes with PATCH /api/referrals/{trackingId}.',
  [ResendBlock.CreatedInPartnerCenter]:
    'The partner referral was already created in Partner Center before the refusal, so the deal cannot be sent again under its key: change it with PATCH /api/referrals/{trackingId}, or upgrade it with POST /api/referrals/{trackingId}/co-sell.',
  [ResendBlock.InvalidQueueMessage]:
    'This was an intake message that was not a valid request; it is keyed by its text, so a corrected message is a new request: send it to the referral-intake queue or POST /api/referrals. This record stays as the refused one.',
  [ResendBlock.ContentKeyed]:
    'This deal was sent without an Idempotency-Key or externalReferenceId, so its key is its content and a corrected deal is a new request: POST it to /api/referrals. This record stays as the refused one.',
  [ResendBlock.Inbound]: 'This deal was created in Partner Center by someone else: there is nothing of ours to resend.',
};

/** Whether `record` can take a corrected request from the console, and what the operator must give. */
export function resendEligibility(record: TrackingRecord): ResendEligibility {
  const keyRequired = record.keySource === KeySource.Header || record.keySource === KeySource.Envelope;
  const code = blockOf(record);
  return {
    trackingId: record.trackingId,
    state: record.state,
    resendable: code === undefined,
    keySource: record.keySource,
    keyRequired,
    keepsExternalReferenceId: record.keySource === KeySource.ExternalReferenceId,
    ...(code === undefined ? {} : { blocked: { code, message: BLOCK_MESSAGES[code] } }),
  };
}

function blockOf(record: TrackingRecord): ResendBlock | undefined {
  if (record.direction === Direction.Inbound || record.keySource === KeySource.PartnerCenter)
    return ResendBlock.Inbound;
  if (record.state !== TrackingState.Rejected) return ResendBlock.NotRefused;
  if (record.keySource === KeySource.QueueMessage) return ResendBlock.InvalidQueueMessage;
  if (record.keySource === KeySource.Hash) return ResendBlock.ContentKeyed;
  return isResendable(record) ? undefined : ResendBlock.CreatedInPartnerCenter;
}

/** The workflow's use cases a resend calls (ReferralWorkflow has them). */
export interface ResendPorts {
  get(trackingId: string): Promise<TrackingRecord | undefined>;
  validate(body: unknown): ValidationResult;
  submit(input: SubmitInput): Promise<SubmitOutcome>;
}

/** A resend request from the console. */
export interface ResendInput {
  trackingId: string;
  /** The corrected request body as parsed JSON: exactly what POST /api/referrals takes. */
  body: unknown;
  /** The `Idempotency-Key` header of the resend: the deal's original key, for a key-keyed deal. */
  idempotencyKey?: string;
  timeBudgetMs?: number;
  traceparent?: string;
  baseUrl?: string;
}

/** What a resend did: the record moved on (it may be refused again), or a problem and nothing written. */
export type ResendOutcome =
  { kind: 'resent'; record: TrackingRecord; replayed: boolean } | { kind: 'refused'; problem: ProblemDetails };

const refused = (details: ProblemDetails): ResendOutcome => ({ kind: 'refused', problem: details });

/**
 * Resends the corrected `body` of the refused record `trackingId` under its key. Refuses, writing nothing:
 * 404 no such record; 409 `#not-resendable` (with `reason`, a {@link ResendBlock}); 400 a missing, unusable or
 * unexpected Idempotency-Key (`errors[].header`) or a body the contract refuses (`errors[].pointer`, the
 * contract's own messages); 422 `#resend-key-mismatch` when the body's key leads to another record, 422
 * `#resend-unchanged` for the refused body itself.
 */
export async function resendFixedDeal(ports: ResendPorts, input: ResendInput): Promise<ResendOutcome> {
  const record = await ports.get(input.trackingId);
  if (!record) return refused(problem(404, 'not-found', 'No such referral request', 'No tracking record has this id.'));
  const eligibility = resendEligibility(record);
  if (!eligibility.resendable) return refused(notResendable(eligibility));
  const key = checkKey(eligibility, input.idempotencyKey);
  if (!key.ok) return refused(key.problem);
  const validation = ports.validate(input.body);
  if (!validation.ok) return refused(validation.problem);
  const identity = identifyRequest(
    validation.value,
    key.value === undefined ? undefined : { key: key.value, source: KeySource.Header },
  );
  if (identity.trackingId !== record.trackingId) return refused(keyMismatch(eligibility));
  if (identity.requestHash === record.requestHash) {
    return refused(
      problem(
        422,
        'resend-unchanged',
        'This is the request that was refused',
        'The body is the one Partner Center refused: correct it as the refusal says, then resend.',
        { trackingId: record.trackingId, errors: [{ pointer: '', code: 'unchanged', message: 'Nothing was changed' }] },
      ),
    );
  }
  const outcome = await ports.submit({
    body: input.body,
    ...(key.value === undefined ? {} : { idempotencyKey: key.value }),
    source: 'http',
    ...(input.timeBudgetMs === undefined ? {} : { timeBudgetMs: input.timeBudgetMs }),
    ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    ...(input.baseUrl ? { baseUrl: input.baseUrl } : {}),
  });
  if (outcome.kind === 'invalid') return refused(outcome.problem);
  if (outcome.kind === 'keyReused') {
    // Another writer moved the record on between our read and the claim: it is not refused any more.
    return refused(notResendable(resendEligibility(outcome.record), outcome.problem.detail));
  }
  return { kind: 'resent', record: outcome.record, replayed: outcome.replayed };
}

function notResendable(eligibility: ResendEligibility, detail?: string): ProblemDetails {
  const code = eligibility.blocked?.code ?? ResendBlock.NotRefused;
  return problem(409, 'not-resendable', 'This deal cannot be resent', detail ?? BLOCK_MESSAGES[code], {
    trackingId: eligibility.trackingId,
    state: eligibility.state,
    reason: code,
  });
}

const KEY_HEADER = 'Idempotency-Key';

function checkKey(
  eligibility: ResendEligibility,
  key: string | undefined,
): { ok: true; value: string | undefined } | { ok: false; problem: ProblemDetails } {
  const invalidKey = (code: string, message: string) => ({
    ok: false as const,
    problem: problem(400, 'validation', 'The resend is not valid', message, {
      errors: [{ header: KEY_HEADER, code, message }],
    }),
  });
  if (!eligibility.keyRequired) {
    if (key === undefined || key === '') return { ok: true, value: undefined };
    return invalidKey(
      'unexpected_idempotency_key',
      'This deal was keyed by its externalReferenceId, not by an Idempotency-Key: send no key (a key would make another deal).',
    );
  }
  if (key === undefined || key === '') {
    return invalidKey(
      'idempotency_key_required',
      'This deal was sent with an Idempotency-Key (or a queue envelope’s idempotencyKey), which the bridge does not keep: give the same key.',
    );
  }
  if (!isValidIdempotencyKey(key))
    return invalidKey('invalid_idempotency_key', 'An Idempotency-Key is 1 to 255 visible ASCII characters.');
  return { ok: true, value: key };
}

function keyMismatch(eligibility: ResendEligibility): ProblemDetails {
  const where = eligibility.keyRequired
    ? {
        header: KEY_HEADER,
        code: 'key_mismatch',
        message: 'This is not the Idempotency-Key the deal was sent with.',
      }
    : {
        pointer: '/externalReferenceId',
        code: 'key_mismatch',
        message: 'Keep the refused deal’s externalReferenceId: it is the deal’s key.',
      };
  return problem(
    422,
    'resend-key-mismatch',
    'The corrected request is not this deal',
    `${where.message} Another key would make another deal, not resend this one.`,
    { trackingId: eligibility.trackingId, keySource: eligibility.keySource, errors: [where] },
  );
}
