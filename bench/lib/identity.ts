/**
 * The trackingId the app gives a request, computed in-process with the app's own validator and
 * idempotency derivation (so a run can find every record it submitted, even when an answer was lost).
 */
import { validateReferralRequest } from '../../shared/referral';
import { identifyRequest } from '../../shared/workflow/idempotency';
import { KeySource } from '../../shared/tracking/trackingRecord';

/** Where the caller's idempotency key came from. */
export type KeyChannel = 'header' | 'envelope';

/**
 * The trackingId of `body` submitted with `key` (an `Idempotency-Key` header or a queue envelope key;
 * both share one namespace). Throws when the body is not valid: the runs only submit valid deals here.
 */
export function expectedTrackingId(body: unknown, key?: { key: string; channel: KeyChannel }): string {
  const result = validateReferralRequest(body, { allowUnknownFields: false, allowInsecureCallback: true });
  if (!result.ok) throw new Error(`Not a valid referral request: ${JSON.stringify(result.problem).slice(0, 500)}`);
  const callerKey = key
    ? { key: key.key, source: key.channel === 'header' ? KeySource.Header : KeySource.Envelope }
    : undefined;
  return identifyRequest(result.value, callerKey).trackingId;
}
