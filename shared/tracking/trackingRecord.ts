import type { ReferralRequest } from '../referral/validateReferralRequest';
import type { TrackingState } from './states';

/** Where the idempotency key of a request came from (decides its trackingId namespace). */
export const KeySource = {
  Header: 'header',
  Envelope: 'envelope',
  ExternalReferenceId: 'externalReferenceId',
  Hash: 'hash',
  QueueMessage: 'queueMessage',
} as const;
export type KeySource = (typeof KeySource)[keyof typeof KeySource];

/** Which Partner Center step a recorded error belongs to. */
export const TrackingStep = { Validation: 'validation', Partner: 'partner', Microsoft: 'microsoft' } as const;
export type TrackingStep = (typeof TrackingStep)[keyof typeof TrackingStep];

/** The last error recorded on a record: codes and messages only, never customer data. */
export interface TrackingError {
  step: TrackingStep;
  /** HTTP status Partner Center answered, when there was one. */
  status?: number;
  code: string;
  message: string;
  /** Field errors of a validation failure (JSON pointers). */
  errors?: Array<{ pointer?: string; header?: string; code: string; message: string }>;
}

/** Delivery state of the optional callback. */
export const CallbackState = { Pending: 'pending', Delivered: 'delivered', Failed: 'failed' } as const;
export type CallbackState = (typeof CallbackState)[keyof typeof CallbackState];

/**
 * One referral request as the bridge tracks it (Table `referrals`, PartitionKey = trackingId,
 * RowKey = `record`). `request` holds the validated request until the record is final; it is then
 * purged, so customer contact data is kept only while it is needed.
 */
export interface TrackingRecord {
  trackingId: string;
  state: TrackingState;
  dealType: string;
  source: 'http' | 'queue';
  keySource: KeySource;
  /** SHA-256 of the canonical validated request: same key + different hash = 422. */
  requestHash: string;
  /** The validated request (referral, coSell, callbackUrl) while the record is not final. */
  request?: ReferralRequest;
  partnerReferralId?: string;
  engagementId?: string;
  partnerOrganizationId?: string;
  partnerOrganizationName?: string;
  microsoftReferralId?: string;
  lastError?: TrackingError;
  /** The state a parked (AwaitingReauthorization) record resumes to. */
  parkedFrom?: TrackingState;
  leaseOwner?: string;
  leaseUntilEpochMs?: number;
  /** Partner Center calls attempted for this record (both steps). */
  attempts: number;
  /** W3C traceparent of the request that created the record, carried across queue hops. */
  traceparent?: string;
  callbackUrl?: string;
  callbackState?: CallbackState;
  /** Why the last callback delivery failed (a stable code such as `target_not_public`; no URL, no body). */
  callbackFailure?: string;
  /**
   * Origin the callback's links are built from when PUBLIC_BASE_URL is not set: that of the HTTP request
   * that created the record (so a callback carries the same absolute links as the HTTP answer).
   */
  callbackBaseUrl?: string;
  createdAtEpochMs: number;
  updatedAtEpochMs: number;
  /** Set by the store on every read; the next conditional write must pass it. */
  etag: string;
}

/** A record as inserted: the store adds the timestamps and the ETag. */
export type NewTrackingRecord = Omit<TrackingRecord, 'etag' | 'createdAtEpochMs' | 'updatedAtEpochMs'>;

/** Fields a caller may change in one conditional write. */
export type TrackingChanges = Partial<
  Omit<TrackingRecord, 'trackingId' | 'etag' | 'createdAtEpochMs' | 'source' | 'keySource' | 'requestHash' | 'dealType'>
>;
