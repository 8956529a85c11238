/** The problem bodies of a change that is not applied (docs/contract.md, "Changing a referral"). */
import { problem, type ProblemDetails, type ProblemFieldError } from '../referral/problem';
import type { ChangeRuleError } from '../referral/changeRules';
import { changeProblem } from '../referral/changeSchema';
import type { FieldConflict } from './planChange';

/** Maps a canonical path to the caller's JSON pointer. */
export type PointerOf = (path: readonly (string | number)[]) => string;

/** 400: the change breaks a rule of the table (status move, sharing), a pointer per field. */
export function refusedProblem(errors: readonly ChangeRuleError[], pointerOf: PointerOf): ProblemDetails {
  return changeProblem(
    errors.map((error): ProblemFieldError => ({
      pointer: pointerOf(error.path),
      code: error.code,
      message: error.message,
    })),
  );
}

/** 409 `#terminal-state`: the referral is Won, Lost, Declined or Expired; nothing may change. */
export function terminalProblem(state: string, trackingId: string): ProblemDetails {
  return problem(
    409,
    'terminal-state',
    'The referral can no longer be changed',
    `The referral is ${state}: a referral in a terminal state (Won, Lost, Declined, Expired) refuses every change.`,
    { trackingId, state },
  );
}

/** 409 `#conflict`: someone else changed a field this change sets, since the change's base. */
export function conflictProblem(
  conflicts: readonly FieldConflict[],
  pointerOf: PointerOf,
  trackingId: string,
): ProblemDetails {
  return problem(
    409,
    'conflict',
    'The referral was changed by someone else',
    'Partner Center holds another value than the one this change was based on, for each field listed. Nothing was sent. ' +
      'The tracking record now knows the new values: send the change again (with a new Idempotency-Key) to overwrite them.',
    {
      trackingId,
      conflicts: conflicts.map((conflict) => ({
        pointer: pointerOf(conflict.path),
        base: conflict.base,
        theirs: conflict.theirs,
        ours: conflict.ours,
      })),
    },
  );
}

/** 409 `#not-created`: the partner referral does not exist (yet, or never: the record was rejected). */
export function notCreatedProblem(trackingId: string, state: string): ProblemDetails {
  return problem(
    409,
    'not-created',
    'The referral does not exist in Partner Center',
    `The tracking record is ${state}: there is no partner referral to change yet.`,
    {
      trackingId,
      state,
    },
  );
}

/** 404: no tracking record. */
export function notFoundProblem(): ProblemDetails {
  return problem(404, 'not-found', 'No such referral request', 'No tracking record has this id.');
}

/** 422 `#idempotency-key-reused`: the key was used for another change. */
export function changeKeyReusedProblem(trackingId: string): ProblemDetails {
  return problem(
    422,
    'idempotency-key-reused',
    'The idempotency key was used for another change',
    'A change with this idempotency key was already received with a different body. Use a new key for a new change.',
    { trackingId },
  );
}

/** 422 `#partner-center-rejected`: Partner Center refused the JSON Patch (its error code, no message echo of values). */
export function partnerRefusedProblem(
  trackingId: string,
  status: number | undefined,
  code: string,
  message: string,
): ProblemDetails {
  return problem(422, 'partner-center-rejected', 'Partner Center rejected the change', message.slice(0, 1024), {
    trackingId,
    partnerCenterError: { status, code },
  });
}

/** 400 for an unusable Idempotency-Key (header) or envelope key. */
export function invalidChangeKeyProblem(source: 'http' | 'queue'): ProblemDetails {
  const rule = '1 to 255 visible ASCII characters';
  return problem(400, 'validation', 'The change is not valid', `The idempotency key must be ${rule}.`, {
    errors: [
      source === 'http'
        ? { header: 'Idempotency-Key', code: 'invalid_idempotency_key', message: `Must be ${rule}.` }
        : { pointer: '/idempotencyKey', code: 'invalid_idempotency_key', message: `Must be ${rule}.` },
    ],
  });
}
