/**
 * The body of `POST /api/referrals/{trackingId}/co-sell`: `{ coSell: { notes, assistanceRequestCode,
 * contacts? }, shareWithMicrosoft? }`, keys in any letter case like a create, validated into a 400 problem.
 */
import { z } from 'zod';
import { fieldShapeOf } from '../referral/fieldShape';
import { problem, type ProblemDetails, type ProblemFieldError } from '../referral/problem';
import { coSellSchema } from '../referral/referralSchema';
import type { CoSellRequest } from '../referral/validateReferralRequest';
import { parseShapedInput } from '../referral/validationProblem';

/** The body of an upgrade. */
export interface UpgradeBody {
  coSell: CoSellRequest;
  shareWithMicrosoft?: boolean;
}

const upgradeBodySchema = z.strictObject({ coSell: coSellSchema, shareWithMicrosoft: z.boolean().optional() });
const UPGRADE_SHAPE = fieldShapeOf(upgradeBodySchema, { closedFields: ['coSell'] });

/**
 * Validates an upgrade body (keys in any letter case, like a create): 400 problem with JSON pointers as
 * the caller sent them. Never throws.
 */
export function parseUpgradeBody(
  input: unknown,
): { ok: true; value: UpgradeBody } | { ok: false; problem: ProblemDetails } {
  try {
    const { errors, data } = parseShapedInput(input, UPGRADE_SHAPE, upgradeBodySchema, { allowUnknownFields: false });
    if (data !== undefined && errors.length === 0) return { ok: true, value: data };
    return { ok: false, problem: upgradeValidationProblem(errors) };
  } catch {
    return {
      ok: false,
      problem: upgradeValidationProblem([{ pointer: '', code: 'unreadable', message: 'The body could not be read.' }]),
    };
  }
}

function upgradeValidationProblem(errors: readonly ProblemFieldError[]): ProblemDetails {
  const count = errors.length === 1 ? '1 problem was found' : `${errors.length} problems were found`;
  return problem(
    400,
    'validation',
    'The co-sell upgrade is not valid',
    `${count} in the request body ({ "coSell": { "notes", "assistanceRequestCode", "contacts"? }, "shareWithMicrosoft"? }).`,
    { errors: errors.slice(0, 50) },
  );
}
