/** The 400 and 422 problems of a submission's idempotency key (where the key came from, and what to do). */
import { problem, type ProblemDetails } from '../referral/problem';
import { TrackingState, isFinalState } from '../tracking/states';
import { KeySource, type TrackingRecord } from '../tracking/trackingRecord';

/**
 * 400 for an unusable idempotency key, naming where it was: the `Idempotency-Key` header (RFC 9457 style
 * `header` member, no body pointer), or the queue envelope's `/idempotencyKey`.
 */
export function invalidKeyProblem(source: 'http' | 'queue'): ProblemDetails {
  const rule = '1 to 255 visible ASCII characters';
  const where =
    source === 'http'
      ? { header: 'Idempotency-Key', message: `The Idempotency-Key header must be ${rule}` }
      : { pointer: '/idempotencyKey', message: `The envelope's idempotencyKey must be ${rule}` };
  return problem(
    400,
    'validation',
    'The referral is not valid',
    source === 'http'
      ? `The Idempotency-Key header must be ${rule}.`
      : `The idempotencyKey of the queue envelope must be ${rule}.`,
    { errors: [{ ...where, code: 'invalid_idempotency_key' }] },
  );
}

/** How the caller's key is named in a 422, by where it came from. */
const KEY_NAMES: Record<KeySource, string> = {
  header: 'The Idempotency-Key header',
  envelope: 'The idempotencyKey of the queue envelope',
  externalReferenceId: 'The referral’s externalReferenceId (used as the key when no Idempotency-Key is sent)',
  hash: 'The request’s content hash (used as the key when neither a key nor an externalReferenceId is sent)',
  queueMessage: 'The queue message’s text',
  partnerCenter: 'The Partner Center referral id (an inbound record)',
};

/**
 * 422 for a key whose record holds another payload, naming which key was used and what to do: a new key for
 * a new deal; while the deal is in flight or created, wait for it or change it by an update, not a resend.
 */
export function keyReusedProblem(existing: TrackingRecord, keySource: KeySource): ProblemDetails {
  const where =
    existing.state === TrackingState.Rejected
      ? 'Its deal was refused after a referral was made in Partner Center, so it cannot be resent under this key.'
      : isFinalState(existing.state)
        ? 'Its deal is created in Partner Center: to change it, update the referral (or upgrade it to co-sell) instead of sending it again.'
        : `Its deal is still being created (state ${existing.state}): wait for it to finish (GET the tracking record), then update it if something must change.`;
  const newKey =
    keySource === KeySource.ExternalReferenceId
      ? 'For a new deal, use another externalReferenceId or send an Idempotency-Key.'
      : keySource === KeySource.Envelope
        ? 'For a new deal, use a new idempotencyKey in the envelope.'
        : 'For a new deal, use a new Idempotency-Key.';
  return problem(
    422,
    'idempotency-key-reused',
    'The idempotency key was used for another request',
    `${KEY_NAMES[keySource]} identifies a request that was received with a different payload. ${where} ${newKey} To retry the original request, send it unchanged.`,
    { trackingId: existing.trackingId, keySource, state: existing.state },
  );
}
