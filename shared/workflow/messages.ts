import { problem, type ProblemDetails } from '../referral/problem';

/**
 * Queue message contracts. Messages are plain JSON text (host.json `messageEncoding: none`); the
 * intake queue also accepts base64-encoded JSON, what SDK senders put by default.
 */

/** `referral-link` and `referral-submit`: which record to push forward, and the trace to continue. */
export interface StepMessage {
  trackingId: string;
  traceparent?: string;
}

/**
 * Checks a `referral-link` / `referral-submit` message: exactly `trackingId` (our own id format) and an
 * optional `traceparent`. Hand-written rather than zod so queue functions load without the schema library.
 */
export function parseStepMessage(value: unknown): StepMessage | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (!Object.keys(record).every((key) => key === 'trackingId' || key === 'traceparent')) return undefined;
  if (typeof record.trackingId !== 'string' || !/^r[0-9a-f]{31}$/.test(record.trackingId)) return undefined;
  if (record.traceparent !== undefined && (typeof record.traceparent !== 'string' || record.traceparent.length > 100))
    return undefined;
  return record.traceparent === undefined
    ? { trackingId: record.trackingId }
    : { trackingId: record.trackingId, traceparent: record.traceparent };
}

/** The optional envelope on `referral-intake`: `{ idempotencyKey, referral: <the POST body> }`. */
export interface IntakeMessage {
  body: unknown;
  idempotencyKey?: string;
  traceparent?: string;
}

/** Parses a queue payload into JSON: accepts an already-parsed value, JSON text, or base64 JSON. */
export function decodeQueuePayload(
  payload: unknown,
): { ok: true; value: unknown; text: string } | { ok: false; problem: ProblemDetails; text: string } {
  if (typeof payload !== 'string') {
    // The Functions host hands over JSON messages already parsed.
    return { ok: true, value: payload, text: safeStringify(payload) };
  }
  const text = payload.trim();
  const direct = tryParse(text);
  if (direct.ok) return { ok: true, value: direct.value, text };
  if (/^[A-Za-z0-9+/=\s]+$/.test(text) && text.length % 4 === 0) {
    const decoded = Buffer.from(text, 'base64').toString('utf8');
    const parsed = tryParse(decoded.trim());
    if (parsed.ok) return { ok: true, value: parsed.value, text };
  }
  return {
    ok: false,
    text,
    problem: problem(
      400,
      'invalid-json',
      'The message is not JSON',
      'A queue message must be JSON text, or base64-encoded JSON.',
    ),
  };
}

/** Splits an intake payload into body and envelope fields. */
export function parseIntakeMessage(value: unknown): IntakeMessage {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const envelopeKeys = Object.keys(record);
    const isEnvelope =
      'referral' in record &&
      record.referral !== null &&
      typeof record.referral === 'object' &&
      envelopeKeys.every((k) => k === 'referral' || k === 'idempotencyKey' || k === 'traceparent');
    if (isEnvelope) {
      return {
        body: record.referral,
        idempotencyKey: typeof record.idempotencyKey === 'string' ? record.idempotencyKey : undefined,
        traceparent: typeof record.traceparent === 'string' ? record.traceparent : undefined,
      };
    }
  }
  return { body: value };
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A step message for `trackingId`, carrying the trace to continue. */
export function stepMessage(trackingId: string, traceparent?: string): StepMessage {
  return traceparent ? { trackingId, traceparent } : { trackingId };
}
