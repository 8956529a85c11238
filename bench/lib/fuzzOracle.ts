/**
 * What the app should do with a fuzz case, computed in-process from the app's own pure functions
 * (the validator, the queue payload decoder, the idempotency derivation), mirroring each edge:
 *
 * - HTTP (functions/edge/http.ts readJsonBody): JSON media type or 415, at most 256 KiB or 413, UTF-8
 *   or 400, JSON or 400; then the validator (and, on submit, the Idempotency-Key rule).
 * - Queue: the local host hands the function the parsed JSON when the text is JSON, else the text
 *   (sandbox/host/queueMessages.ts toTriggerData + the library's fromRpcTypedData); the function then
 *   runs decodeQueuePayload → parseIntakeMessage → submit, and records a refused message as `Rejected`
 *   under trackingIdForInvalidMessage(what it received).
 *
 * The runner compares the app's answers with this verdict and reports any difference.
 */
import { validateReferralRequest } from '../../shared/referral';
import { decodeQueuePayload, parseIntakeMessage } from '../../shared/workflow/messages';
import { identifyRequest, isValidIdempotencyKey, trackingIdForInvalidMessage } from '../../shared/workflow/idempotency';
import { KeySource } from '../../shared/tracking/trackingRecord';
import type { FuzzCase } from './fuzzCases';

/** Largest HTTP body the edge reads (functions/edge/http.ts MAX_BODY_BYTES). */
export const HTTP_MAX_BODY_BYTES = 256 * 1024;

/** Validator options of the sandbox's app settings. */
const VALIDATE_OPTIONS = { allowUnknownFields: false, allowInsecureCallback: true } as const;

/** The verdict on one case. */
export type FuzzVerdict =
  | {
      accepted: false;
      reason: string;
      /** Queue: where the Rejected record must appear. */ rejectedTrackingId?: string;
    }
  | { accepted: true; trackingId: string; requestHash: string; dealType: string };

/** The expected outcome of `fuzzCase` (see the module comment). */
export function expectedVerdict(fuzzCase: FuzzCase): FuzzVerdict {
  return fuzzCase.channel === 'validate' || fuzzCase.channel === 'submit'
    ? httpVerdict(fuzzCase)
    : queueVerdict(queueMessageText(fuzzCase));
}

function httpVerdict(fuzzCase: FuzzCase): FuzzVerdict {
  const mediaType = (fuzzCase.contentType ?? 'application/json').toLowerCase().split(';')[0].trim();
  if (!(mediaType === 'application/json' || mediaType.endsWith('+json'))) return { accepted: false, reason: '415' };
  if (fuzzCase.body.length > HTTP_MAX_BODY_BYTES) return { accepted: false, reason: '413' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(fuzzCase.body);
  } catch {
    return { accepted: false, reason: 'utf8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { accepted: false, reason: 'json' };
  }
  if (
    fuzzCase.channel === 'submit' &&
    fuzzCase.idempotencyKey !== undefined &&
    !isValidIdempotencyKey(fuzzCase.idempotencyKey)
  ) {
    return { accepted: false, reason: 'idempotencyKey' };
  }
  const result = validateReferralRequest(value, VALIDATE_OPTIONS);
  if (!result.ok) return { accepted: false, reason: 'validation' };
  const identity = identifyRequest(
    result.value,
    fuzzCase.idempotencyKey === undefined ? undefined : { key: fuzzCase.idempotencyKey, source: KeySource.Header },
  );
  return {
    accepted: true,
    trackingId: identity.trackingId,
    requestHash: identity.requestHash,
    dealType: result.value.dealType,
  };
}

/** What the queue function receives for message text `text` (parsed JSON, or the text itself). */
export function queueInputOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function queueVerdict(text: string): FuzzVerdict {
  const input = queueInputOf(text);
  const rejected = (reason: string): FuzzVerdict => {
    try {
      return { accepted: false, reason, rejectedTrackingId: trackingIdForInvalidMessage(input) };
    } catch (error) {
      // The app cannot derive an id either (e.g. nesting deeper than the stack): it can record nothing.
      return { accepted: false, reason: `${reason}; no trackingId: ${(error as Error).message}` };
    }
  };
  const decoded = decodeQueuePayload(input);
  if (!decoded.ok) return rejected('json');
  const message = parseIntakeMessage(decoded.value);
  if (message.idempotencyKey !== undefined && !isValidIdempotencyKey(message.idempotencyKey))
    return rejected('idempotencyKey');
  const result = validateReferralRequest(message.body, VALIDATE_OPTIONS);
  if (!result.ok) return rejected('validation');
  const identity = identifyRequest(
    result.value,
    message.idempotencyKey === undefined ? undefined : { key: message.idempotencyKey, source: KeySource.Envelope },
  );
  return {
    accepted: true,
    trackingId: identity.trackingId,
    requestHash: identity.requestHash,
    dealType: result.value.dealType,
  };
}

/** The message text put on the queue for a case (`queue-base64`: the UTF-8 bytes in base64). */
export function queueMessageText(fuzzCase: FuzzCase): string {
  return fuzzCase.channel === 'queue-base64' ? fuzzCase.body.toString('base64') : fuzzCase.body.toString('utf8');
}

/**
 * True when `text` travels unchanged as a plain queue message: Azure Storage queue messages are XML
 * text, so characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/U+FFFF) must be
 * base64-encoded, and a carriage return is normalised to a line feed by XML parsing.
 */
export function isXmlSafe(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000B-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(
    text,
  );
}
