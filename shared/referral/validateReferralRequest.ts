/**
 * Validates a referral request body: the one entry point the HTTP and queue edges use.
 *
 * ```
 * caller JSON ──► normaliseInput (keys any case → camelCase, enum values → documented spelling,
 *                 null/"" on optional fields dropped, unknown/duplicate/hostile keys, size limits)
 *            ──► referralRequestSchema (zod: types, formats, bounds, status, Services co-sell, deal type)
 *            ──► errors mapped back to the caller's keys ──► 400 problem+json
 *            └─► deal type applied (flags and type filled), request-level fields split off ──► ReferralRequest
 * ```
 * Never throws: any input, JSON or not, gives a result.
 */
import { isIP } from 'node:net';
import { isPublicAddress } from '../platform/addressPolicy';
import { DealType, type AssistanceRequestCode } from './constants';
import { defaultReferralType, resolveDealType } from './dealTypeRules';
import { fieldShapeOf, type FieldShape } from './fieldShape';
import type { PassThroughField } from './normaliseInput';
import { toJsonPointer, type ProblemDetails, type ProblemFieldError } from './problem';
import { referralRequestSchema, type Member, type ParsedReferralRequest, type Referral } from './referralSchema';
import { inputPathOf, parseShapedInput, validationProblem, type IssueContext } from './validationProblem';

/** The `coSell` block of a CoSell request: what the Microsoft referral needs. */
export interface CoSellRequest {
  notes: string;
  assistanceRequestCode: AssistanceRequestCode;
  /** Microsoft-facing contacts (the Microsoft referral's team). */
  contacts?: Member[];
}

/** A validated referral request. */
export interface ReferralRequest {
  dealType: DealType;
  /** Normalised camelCase, deal-type flags filled in, request-level fields removed: what is sent to Partner Center. */
  referral: Referral;
  /** Present iff dealType is CoSell. */
  coSell?: CoSellRequest;
  callbackUrl?: string;
}

/** Options of {@link validateReferralRequest}. */
export interface ValidateOptions {
  /** Let unknown fields pass through unchanged (REFERRAL_ALLOW_UNKNOWN_FIELDS). @default false */
  allowUnknownFields?: boolean;
  /** Accept an http (not https) callbackUrl (CALLBACK_ALLOW_PRIVATE_TARGETS; the sandbox). @default false */
  allowInsecureCallback?: boolean;
  /**
   * Accept a callbackUrl whose host is a loopback, private, link-local or other non-public IP literal
   * (or `localhost`) (CALLBACK_ALLOW_PRIVATE_TARGETS; the sandbox). Names are not resolved here: the
   * callback notifier checks what they resolve to at delivery.
   * @default allowInsecureCallback (both follow the same setting), so false when neither is given
   */
  allowPrivateCallbackTargets?: boolean;
}

/** The outcome of {@link validateReferralRequest}. */
export type ValidationResult = { ok: true; value: ReferralRequest } | { ok: false; problem: ProblemDetails };

/** The request shape, read once from the schema. */
const REQUEST_SHAPE: FieldShape = fieldShapeOf(referralRequestSchema, { closedFields: ['coSell'] });

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates and normalises a referral request (see the module comment). On success the referral is
 * ready for Partner Center; on failure the problem is a 400 `application/problem+json` body whose
 * `errors[].pointer` use the keys as the caller sent them.
 */
export function validateReferralRequest(input: unknown, options: ValidateOptions = {}): ValidationResult {
  try {
    return validate(input, options);
  } catch {
    return {
      ok: false,
      problem: validationProblem([
        { pointer: '', code: 'unreadable', message: 'The body could not be read as a referral request.' },
      ]),
    };
  }
}

function validate(input: unknown, options: ValidateOptions): ValidationResult {
  const { errors, data, normalised, context } = parseShapedInput(input, REQUEST_SHAPE, referralRequestSchema, {
    allowUnknownFields: options.allowUnknownFields ?? false,
  });
  if (context === undefined) return { ok: false, problem: validationProblem(errors) };
  const callbackError = callbackTargetError(normalised.value, options, context);
  if (callbackError) errors.push(callbackError);

  if (errors.length > 0 || data === undefined) return { ok: false, problem: validationProblem(errors) };
  attachPassThrough(data, normalised.passThrough);
  return { ok: true, value: toReferralRequest(data) };
}

/** The one error of a well-formed callbackUrl the options refuse: http first, then a non-public host. */
function callbackTargetError(
  canonical: unknown,
  options: ValidateOptions,
  context: IssueContext,
): ProblemFieldError | undefined {
  if (!isRecord(canonical) || typeof canonical.callbackUrl !== 'string') return undefined;
  const pointer = toJsonPointer(inputPathOf(['callbackUrl'], context));
  if (!options.allowInsecureCallback && /^http:/i.test(canonical.callbackUrl)) {
    return { pointer, code: 'insecure_callback', message: 'Must use https (http is allowed only in the sandbox).' };
  }
  const allowPrivate = options.allowPrivateCallbackTargets ?? options.allowInsecureCallback ?? false;
  if (allowPrivate || !isNonPublicHost(canonical.callbackUrl)) return undefined;
  return {
    pointer,
    code: 'callback_target_not_public',
    message:
      'Must not point at a loopback, private, link-local or other non-public address (allowed only in the sandbox).',
  };
}

/** True when the URL's host is a non-public IP literal (any spelling the URL parser accepts) or localhost. */
function isNonPublicHost(value: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(value).hostname
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '')
      .toLowerCase();
  } catch {
    return false; // the schema reports a malformed URL
  }
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true; // RFC 6761: always loopback
  return isIP(hostname) !== 0 && !isPublicAddress(hostname);
}

/** Puts unknown fields (allowUnknownFields) back on the parsed output, where they were sent. */
function attachPassThrough(parsed: unknown, fields: readonly PassThroughField[]): void {
  for (const field of fields) {
    if (FORBIDDEN_KEYS.has(field.key)) continue;
    let node: unknown = parsed;
    for (const segment of field.parentPath) {
      node =
        Array.isArray(node) && typeof segment === 'number'
          ? node[segment]
          : isRecord(node) && typeof segment === 'string'
            ? node[segment]
            : undefined;
    }
    if (isRecord(node)) node[field.key] = field.value;
  }
}

/** Applies the deal type (fills the share flag and type) and splits off the request-level fields. */
function toReferralRequest(parsed: ParsedReferralRequest): ReferralRequest {
  const { dealType: _given, coSell, callbackUrl, ...fields } = parsed;
  const { dealType } = resolveDealType(parsed);
  const shareFlag = fields.consent.consentToShareReferralWithMicrosoftSellers ?? dealType !== DealType.Private;
  const referral: Referral = {
    ...fields,
    type: fields.type ?? defaultReferralType(dealType),
    consent: { ...fields.consent, consentToShareReferralWithMicrosoftSellers: shareFlag },
  };
  return {
    dealType,
    referral,
    ...(coSell === undefined ? {} : { coSell }),
    ...(callbackUrl === undefined ? {} : { callbackUrl }),
  };
}
