import { createHash } from 'node:crypto';
import { canonicalJson } from './canonicalJson';
import { KeySource } from '../tracking/trackingRecord';

/** Longest idempotency key accepted (Stripe's limit). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** What decides a request's tracking record. */
export interface RequestIdentity {
  /** PartitionKey of the tracking record: a hash of the key's namespace and value. */
  trackingId: string;
  keySource: KeySource;
  /** SHA-256 of the canonical validated request. */
  requestHash: string;
}

/** True when `key` is usable as an idempotency key (1–255 visible ASCII characters). */
export function isValidIdempotencyKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_IDEMPOTENCY_KEY_LENGTH && /^[\x21-\x7e]+$/.test(key);
}

/**
 * Derives the trackingId and request hash.
 *
 * The key is, in order: the caller's key (`Idempotency-Key` header or the queue envelope's
 * `idempotencyKey`: one namespace, so the same key over HTTP and the queue is the same request), the
 * referral's `externalReferenceId`, or else the hash of the canonical request. A retry therefore lands
 * on the same partition.
 */
export function identifyRequest(
  request: { referral: { externalReferenceId?: unknown } },
  callerKey: { key: string; source: typeof KeySource.Header | typeof KeySource.Envelope } | undefined,
): RequestIdentity {
  const requestHash = sha256(canonicalJson(request));
  const externalReferenceId = request.referral.externalReferenceId;
  if (callerKey) return { trackingId: trackingIdFor('key', callerKey.key), keySource: callerKey.source, requestHash };
  if (typeof externalReferenceId === 'string' && externalReferenceId.trim() !== '') {
    return {
      trackingId: trackingIdFor('external', externalReferenceId),
      keySource: KeySource.ExternalReferenceId,
      requestHash,
    };
  }
  return { trackingId: trackingIdFor('hash', requestHash), keySource: KeySource.Hash, requestHash };
}

/**
 * trackingId of a queue message that could not be accepted, derived from its content so that a
 * redelivery lands on the same record: JSON is taken in canonical form (the host may hand it over
 * parsed or as text), anything else as its raw text.
 */
export function trackingIdForInvalidMessage(payload: unknown): string {
  let content: string;
  try {
    content = canonicalJson(typeof payload === 'string' ? JSON.parse(payload) : payload);
  } catch {
    // Not JSON, or nested too deep to walk (a hostile message): the raw text identifies it.
    content = typeof payload === 'string' ? payload : rawText(payload);
  }
  return trackingIdFor('message', sha256(content));
}

function rawText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return `unserialisable:${typeof value}`;
  }
}

function trackingIdFor(namespace: string, value: string): string {
  return `r${sha256(`${namespace}\u0000${value}`).slice(0, 31)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
