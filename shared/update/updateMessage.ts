/**
 * The `referral-update` queue's messages, plain JSON text or base64 JSON (Power Automate, upstream systems):
 * - a change: `{ "trackingId" | "externalReferenceId", "idempotencyKey"?, "changes": { … } }` (keys in any case);
 * - a resume (the bridge's own, from a deferred PATCH or the sweeper): `{ "trackingId", "changeId" }`.
 * Hand-written rather than zod so the queue function loads without the schema library.
 */
import { problem, type ProblemDetails } from '../referral/problem';

/** A parsed `referral-update` message. */
export type UpdateMessage =
  | {
      kind: 'change';
      trackingId?: string;
      externalReferenceId?: string;
      idempotencyKey?: string;
      changes: unknown;
      traceparent?: string;
    }
  | { kind: 'resume'; trackingId: string; changeId: string; traceparent?: string }
  | { kind: 'invalid'; problem: ProblemDetails; trackingId?: string; externalReferenceId?: string };

const KEYS = ['trackingId', 'externalReferenceId', 'idempotencyKey', 'changes', 'changeId', 'traceparent'] as const;
const TRACKING_ID = /^r[0-9a-f]{31}$/;

/** The resume message of a change. */
export function resumeMessage(trackingId: string, changeId: string, traceparent?: string) {
  return traceparent ? { trackingId, changeId, traceparent } : { trackingId, changeId };
}

/** Parses a decoded `referral-update` payload; never throws. */
export function parseUpdateMessage(value: unknown): UpdateMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return invalid('', 'invalid_type', 'The message must be a JSON object.');
  const fields: Partial<Record<(typeof KEYS)[number], unknown>> = {};
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const name = KEYS.find((known) => known.toLowerCase() === key.toLowerCase());
    if (!name) return invalid(`/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'unknown_field', 'Unknown field.');
    fields[name] = field;
  }
  const text = (field: unknown) => (typeof field === 'string' && field.trim() !== '' ? field : undefined);
  const trackingId = text(fields.trackingId);
  const externalReferenceId = text(fields.externalReferenceId);
  const traceparent =
    typeof fields.traceparent === 'string' && fields.traceparent.length <= 100 ? fields.traceparent : undefined;
  const where = { ...(trackingId ? { trackingId } : {}), ...(externalReferenceId ? { externalReferenceId } : {}) };
  if (trackingId !== undefined && !TRACKING_ID.test(trackingId))
    return { ...invalid('/trackingId', 'invalid_format', 'Must be a trackingId such as r0123… (32 characters).') };
  if (fields.changeId !== undefined) {
    const changeId = text(fields.changeId);
    if (!trackingId || !changeId || !/^[0-9a-f]{32}$/.test(changeId))
      return invalid('/changeId', 'invalid_format', 'A resume names a trackingId and a changeId of 32 hex characters.');
    return { kind: 'resume', trackingId, changeId, ...(traceparent ? { traceparent } : {}) };
  }
  if ((trackingId === undefined) === (externalReferenceId === undefined))
    return { ...invalid('', 'target_required', 'Give exactly one of trackingId and externalReferenceId.'), ...where };
  if (fields.idempotencyKey !== undefined && typeof fields.idempotencyKey !== 'string')
    return { ...invalid('/idempotencyKey', 'invalid_type', 'Must be a string.'), ...where };
  if (fields.changes === undefined) return { ...invalid('/changes', 'required', 'Required.'), ...where };
  return {
    kind: 'change',
    ...where,
    ...(typeof fields.idempotencyKey === 'string' ? { idempotencyKey: fields.idempotencyKey } : {}),
    changes: fields.changes,
    ...(traceparent ? { traceparent } : {}),
  };
}

function invalid(pointer: string, code: string, message: string): Extract<UpdateMessage, { kind: 'invalid' }> {
  return {
    kind: 'invalid',
    problem: problem(400, 'validation', 'The update message is not valid', message, {
      errors: [{ pointer, code, message }],
    }),
  };
}
