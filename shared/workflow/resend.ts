/**
 * Fix and resend: a deal Partner Center refused before anything was created there takes a corrected payload
 * under the same key, as the next generation of the same record ({@link isResendable}, {@link resendChanges}).
 */
import type { ReferralRequest } from '../referral/validateReferralRequest';
import { TrackingState } from '../tracking/states';
import {
  CallbackState,
  HistorySource,
  KeySource,
  TrackingStep,
  withHistory,
  type TrackingChanges,
  type TrackingRecord,
} from '../tracking/trackingRecord';
import type { RequestIdentity } from './idempotency';
import type { LeaseHolder } from './lease';
import { STEPS } from './stepTable';

/**
 * True when a record may take a corrected payload under its key: Partner Center refused it (or the partner
 * step's input) before anything was created there: `Rejected`, no partner referral, the refusal recorded by
 * the partner step or validation. A Microsoft referral refused after the partner referral was made is not:
 * the partner referral exists.
 */
export function isResendable(record: TrackingRecord): boolean {
  return (
    record.state === TrackingState.Rejected &&
    !record.partnerReferralId &&
    record.keySource !== KeySource.QueueMessage &&
    (record.lastError === undefined ||
      record.lastError.step === TrackingStep.Partner ||
      record.lastError.step === TrackingStep.Validation)
  );
}

/**
 * A resend's claim: the same record back to the partner step under this instance's lease, with the corrected
 * request and its hash, the next generation (new MS-RequestIds), `attempts` counting on, and the refused
 * attempt kept in `history` (kind `refused`, note = its error code).
 */
export function resendChanges(
  existing: TrackingRecord,
  identity: RequestIdentity,
  request: ReferralRequest,
  input: { traceparent?: string; baseUrl?: string },
  lease: LeaseHolder,
): TrackingChanges {
  const generation = (existing.generation ?? 0) + 1;
  return {
    state: STEPS.partner.running,
    leaseOwner: lease.instanceId,
    leaseUntilEpochMs: lease.nowMs() + lease.leaseDurationMs,
    dealType: request.dealType,
    requestHash: identity.requestHash,
    request,
    generation,
    attempts: existing.attempts + 1,
    lastError: undefined,
    parkedFrom: undefined,
    traceparent: input.traceparent ?? existing.traceparent,
    callbackUrl: undefined,
    callbackState: undefined,
    callbackFailure: undefined,
    callbackBaseUrl: undefined,
    ...callbackFields(request, input.baseUrl),
    history: withHistory(existing.history, {
      at: new Date(lease.nowMs()).toISOString(),
      source: HistorySource.Us,
      kind: 'refused',
      from: TrackingState.Rejected,
      to: STEPS.partner.running,
      note: existing.lastError?.code ?? 'rejected',
    }),
  };
}

/** The callback columns a claim writes for `request` (none without a callbackUrl). */
export function callbackFields(request: ReferralRequest, baseUrl: string | undefined): Partial<TrackingRecord> {
  if (!request.callbackUrl) return {};
  return {
    callbackUrl: request.callbackUrl,
    callbackState: CallbackState.Pending,
    ...(baseUrl ? { callbackBaseUrl: baseUrl } : {}),
  };
}
