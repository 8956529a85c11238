/**
 * The contract of a change to an existing referral: a JSON merge patch (RFC 7396) of the fields in
 * {@link CHANGEABLE_FIELDS}, validated like a create (keys in any case, enum values in any case, "did you
 * mean" for unknown fields, the same limits) plus the change rules that need no I/O: read-only fields,
 * the substatus of the status, team members identified by e-mail, no removal (Partner Center's PATCH
 * knows `replace` and `add` only). The rules that need what Partner Center holds (status moves, terminal
 * states, sharing) are applied by the update use case with the same table (changeRules.ts).
 *
 * Never throws: any input gives a result.
 */
import { z } from 'zod';
import { REFERRAL_LIMITS, ReferralQualification, ReferralStatus, ReferralSubstatus, ReferralType } from './constants';
import { ALLOWED_SUBSTATUS_BY_STATUS } from './statusLifecycle';
import { READ_ONLY_FIELDS, READ_ONLY_MESSAGE } from './changeRules';
import { fieldShapeOf, type FieldShape } from './fieldShape';
import { CURRENCY_CODES } from './isoCodes';
import { problem, toJsonPointer, type ProblemDetails, type ProblemFieldError } from './problem';
import { customerProfileSchema, memberSchema } from './referralSchema';
import { inputPathOf, parseShapedInput } from './validationProblem';

const L = REFERRAL_LIMITS;
const VISIBLE_CHARACTER = /[^\s\p{Cc}\p{Cf}]/u;
const settable = <T extends readonly string[]>(values: T) => z.enum(values as unknown as [T[number], ...T[number][]]);
const readOnly = z.unknown().optional();

/** A partner team member to add: the e-mail identifies them (a member already on the team is not added again). */
export const changeMemberSchema = memberSchema.extend({ email: z.email().max(L.emailLength) });

/** The changeable deal details. */
export const changeDetailsSchema = z.strictObject({
  notes: z.string().max(L.notesLength).optional(),
  dealValue: z.number().nonnegative().optional(),
  currency: z.enum(CURRENCY_CODES).describe('ISO 4217 currency code').optional(),
  closingDateTime: z.iso.datetime().describe('ISO 8601 UTC date-time, e.g. 2024-11-23T18:30:00Z').optional(),
});

/** Statuses and substatuses a change may set (`None` is never set). */
const STATUSES = [ReferralStatus.New, ReferralStatus.Active, ReferralStatus.Closed] as const;
const SUBSTATUSES: readonly string[] = Object.values(ReferralSubstatus).filter(
  (value) => value !== ReferralSubstatus.None,
);

/** The fields a change may set (what the connector's "Update a referral" action shows). */
export const changeFieldsSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(L.shortTextLength)
    .refine((value) => VISIBLE_CHARACTER.test(value), {
      message: 'Must contain a visible character, not only spaces.',
      params: { code: 'blank' },
    })
    .optional(),
  status: settable(STATUSES).optional(),
  substatus: settable(SUBSTATUSES).optional(),
  statusReason: z.string().max(L.mediumTextLength).optional(),
  qualification: z.enum(ReferralQualification).optional(),
  salesStage: z.string().max(L.shortTextLength).optional(),
  details: changeDetailsSchema.optional(),
  /** Members to add to the partner team. */
  team: z.array(changeMemberSchema).max(L.teamMembers).optional(),
  type: z.enum(ReferralType).optional(),
  consent: z.strictObject({ consentToShareReferralWithMicrosoftSellers: z.boolean().optional() }).optional(),
});

/**
 * A change body in normalised form: {@link changeFieldsSchema} plus the read-only fields, known so they are
 * refused as read-only, with a pointer, instead of as unknown; `type` and the share flag may only repeat
 * what Partner Center holds.
 */
export const referralChangesSchema = changeFieldsSchema
  .extend({
    consent: z
      .strictObject({
        consentToToShareInfoWithOthers: readOnly,
        consentToContact: readOnly,
        consentToMicrosoftToContactSpecificPartners: readOnly,
        consentToShareReferralWithMicrosoftSellers: z.boolean().optional(),
      })
      .optional(),
    customerProfile: z
      .strictObject(Object.fromEntries(Object.keys(customerProfileSchema.shape).map((key) => [key, readOnly])))
      .optional(),
    mpnId: readOnly,
    target: readOnly,
    id: readOnly,
    engagementId: readOnly,
    organizationId: readOnly,
    organizationName: readOnly,
    createdDateTime: readOnly,
    updatedDateTime: readOnly,
    acceptedDateTime: readOnly,
    closedDateTime: readOnly,
    eTag: readOnly,
    links: readOnly,
    direction: readOnly,
  })
  .superRefine((value, ctx) => checkChangeRules(value, ctx), { when: () => true });

/** A validated change (normalised merge patch). */
export type ReferralChanges = z.infer<typeof referralChangesSchema>;

/** What a valid change gives: the normalised change, and the caller's pointer for a canonical path. */
export type ChangeValidation =
  | { ok: true; value: ReferralChanges; pointerOf: (path: readonly (string | number)[]) => string }
  | { ok: false; problem: ProblemDetails };

const CHANGES_SHAPE: FieldShape = fieldShapeOf(referralChangesSchema);

/** The problem `type` slug and title of an invalid change (same slug as an invalid create). */
export const CHANGE_PROBLEM_TITLE = 'The change is not valid';

/** Validates a change body (see the module comment); never throws. */
export function validateReferralChanges(input: unknown): ChangeValidation {
  try {
    return validate(input);
  } catch {
    return invalid([{ pointer: '', code: 'unreadable', message: 'The body could not be read as a change.' }]);
  }
}

function validate(input: unknown): ChangeValidation {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return invalid([
      { pointer: '', code: 'invalid_type', message: 'Must be a JSON object (a merge patch of the fields to change).' },
    ]);
  }
  const removals = removalErrors(input as Record<string, unknown>, [], 0);
  const { errors, data, context } = parseShapedInput(input, CHANGES_SHAPE, referralChangesSchema, {
    allowUnknownFields: false,
  });
  errors.unshift(...removals);
  if (errors.length > 0 || data === undefined || context === undefined) return invalid(errors);
  if (!hasChange(data)) {
    return invalid([{ pointer: '', code: 'empty_change', message: 'The change sets no field.' }]);
  }
  return { ok: true, value: data, pointerOf: (path) => toJsonPointer(inputPathOf(path, context)) };
}

/** The 400 body of an invalid change: `type` …#validation, a pointer per field. */
export function changeProblem(errors: readonly ProblemFieldError[]): ProblemDetails {
  const shown = errors.slice(0, L.maxErrors);
  const count = errors.length === 1 ? '1 problem was found' : `${errors.length} problems were found`;
  return problem(
    400,
    'validation',
    CHANGE_PROBLEM_TITLE,
    `${count} in the change. Each entry of errors points at a field with a JSON pointer.`,
    { errors: shown },
  );
}

function invalid(errors: readonly ProblemFieldError[]): ChangeValidation {
  return { ok: false, problem: changeProblem(errors) };
}

/** A merge patch's `null` (and an empty string) asks to remove a value: Partner Center cannot. */
function removalErrors(node: Record<string, unknown>, path: string[], depth: number): ProblemFieldError[] {
  if (depth > L.maxDepth) return [];
  const errors: ProblemFieldError[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (errors.length >= L.maxErrors) break;
    if (value === null || value === '') {
      errors.push({
        pointer: toJsonPointer([...path, key]),
        code: 'cannot_remove',
        message: "Partner Center cannot remove a value (its PATCH knows only 'replace' and 'add'): send a value.",
      });
    } else if (typeof value === 'object' && !Array.isArray(value)) {
      errors.push(...removalErrors(value as Record<string, unknown>, [...path, key], depth + 1));
    }
  }
  return errors;
}

function hasChange(changes: ReferralChanges): boolean {
  const { details, consent, customerProfile: _profile, ...top } = changes;
  return (
    Object.values(top).some((value) => value !== undefined) ||
    Object.values(details ?? {}).some((value) => value !== undefined) ||
    consent?.consentToShareReferralWithMicrosoftSellers !== undefined
  );
}

type Sink = Pick<z.core.$RefinementCtx, 'addIssue'>;

function report(ctx: Sink, path: readonly (string | number)[], code: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [...path], message, params: { code } });
}

/** The change rules that need no I/O: read-only fields, substatus of status, one entry per team e-mail. */
function checkChangeRules(input: unknown, ctx: Sink): void {
  if (!isRecord(input)) return;
  const value = input;
  for (const path of READ_ONLY_FIELDS) {
    const [head, leaf] = path;
    const held = value[head];
    if (head === 'customerProfile' && isRecord(held)) {
      for (const key of Object.keys(held)) report(ctx, [head, key], 'read_only', READ_ONLY_MESSAGE);
    } else if (leaf === undefined ? held !== undefined : isRecord(held) && held[leaf] !== undefined) {
      report(ctx, path, 'read_only', READ_ONLY_MESSAGE);
    }
  }
  const { status, substatus } = value;
  if (
    typeof status === 'string' &&
    typeof substatus === 'string' &&
    Object.hasOwn(ALLOWED_SUBSTATUS_BY_STATUS, status)
  ) {
    const allowed: readonly string[] = ALLOWED_SUBSTATUS_BY_STATUS[status as ReferralStatus];
    if (SUBSTATUSES.includes(substatus) && !allowed.includes(substatus)) {
      report(
        ctx,
        ['substatus'],
        'invalid_substatus',
        `With status ${status} the substatus must be one of: ${allowed.join(', ')}.`,
      );
    }
  }
  if (Array.isArray(value.team)) {
    const seen = new Set<string>();
    value.team.forEach((member: unknown, index) => {
      const email = isRecord(member) && typeof member.email === 'string' ? member.email.toLowerCase() : undefined;
      if (email === undefined) return;
      if (seen.has(email)) report(ctx, ['team', index, 'email'], 'duplicate_member', 'This member is given twice.');
      seen.add(email);
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
