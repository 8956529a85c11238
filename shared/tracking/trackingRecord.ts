import type { ReferralRequest } from '../referral/validateReferralRequest';
import type { TrackingState } from './states';

/** Where the idempotency key of a request came from (decides its trackingId namespace). */
export const KeySource = {
  Header: 'header',
  Envelope: 'envelope',
  ExternalReferenceId: 'externalReferenceId',
  Hash: 'hash',
  QueueMessage: 'queueMessage',
  /** An inbound record: keyed by the Partner Center referral id (shared/sync/inboundRecord.ts). */
  PartnerCenter: 'partnerCenter',
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

/** Who made the referral: the bridge (`outbound`), or someone else in Partner Center (`inbound`). */
export const Direction = { Outbound: 'outbound', Inbound: 'inbound' } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/**
 * What Partner Center last said about the partner's referral: the snapshot the apply path keeps
 * (shared/sync/applySnapshot.ts). Deal fields only, never customer contact data.
 */
export interface PartnerReferralSnapshot {
  id: string;
  status?: string;
  substatus?: string;
  statusReason?: string;
  /** Partner Center's `updatedDateTime` (ISO 8601): what "newer" is decided by. */
  updatedDateTime?: string;
  eTag?: string;
  name?: string;
  dealValue?: number;
  currency?: string;
  closingDateTime?: string;
}

/** Microsoft's answer to a co-sell request (the engagement's Microsoft referral). */
export const MicrosoftDecision = {
  Pending: 'Pending',
  Accepted: 'Accepted',
  Declined: 'Declined',
  Expired: 'Expired',
} as const;
export type MicrosoftDecision = (typeof MicrosoftDecision)[keyof typeof MicrosoftDecision];

/** What the tracking view shows as `microsoft` for a co-sell deal. */
export interface MicrosoftAnswer {
  decision: MicrosoftDecision;
  /** `trackingInfo.microsoftMsxId` of the Microsoft referral ("Microsoft CRM Identifier"). */
  msxId?: string;
  /** `statusReason` of the Microsoft referral (none for expired deals or deals under USD 25,000). */
  reason?: string;
  /** When the decision was seen made (the Microsoft referral's `updatedDateTime`), ISO 8601. */
  decidedAt?: string;
  /** 14 days after the Microsoft referral was created, ISO 8601. */
  respondBy?: string;
  /** The Microsoft referral's `updatedDateTime`: what "newer" is decided by. */
  updatedDateTime?: string;
}

/** Where a change recorded in a record's history came from. */
export const HistorySource = {
  /** The bridge itself (create, link, a PATCH or upgrade it sent). */
  Us: 'us',
  /** A Partner Center webhook event. */
  Event: 'event',
  /** The reconciliation timer (what events missed). */
  Reconcile: 'reconcile',
} as const;
export type HistorySource = (typeof HistorySource)[keyof typeof HistorySource];

/** One entry of a record's bounded history: what changed, when, from where (no customer contact data). */
export interface HistoryEntry {
  /** ISO 8601. */
  at: string;
  source: HistorySource;
  /** What changed: `state`, `status`, `microsoft`, `update`, `conflict`, `refused`, ... */
  kind: string;
  from?: string;
  to?: string;
  /** A short text for people (codes and field names, never values of contact fields). */
  note?: string;
}

/**
 * A CloudEvents 1.0 structured-mode event as the bridge publishes it (shared/sync/cloudEvents.ts):
 * what the outbox keeps until it is sent.
 */
export interface CloudEventEnvelope {
  specversion: '1.0';
  /** Stable for one change (referral id, kind, version): consumers dedupe on it. */
  id: string;
  source: string;
  type: string;
  /** The trackingId. */
  subject: string;
  /** ISO 8601. */
  time: string;
  datacontenttype: 'application/json';
  data: unknown;
}

/**
 * One CloudEvent waiting to be published, written in the same conditional write as the change it
 * announces (the record is its own outbox) and removed once sent. `queue`/`callback` say which
 * deliveries are still to be made.
 */
export interface PendingCloudEvent {
  event: CloudEventEnvelope;
  queue: boolean;
  callback: boolean;
  addedAtEpochMs: number;
  /** Failed callback deliveries so far (the sweeper retries a few times, then gives up on the callback). */
  callbackFailures?: number;
}

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
  /** Partner Center calls attempted for this record (both steps, every generation). */
  attempts: number;
  /**
   * Which attempt of the caller this is: 0 for the first request, +1 for each resend of a deal Partner Center
   * refused before anything was created (fix and resend). Part of every MS-RequestId from 1 on, so Partner
   * Center never answers a corrected deal with its earlier refusal. @default 0 (records written before it)
   */
  generation?: number;
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
  /** @default outbound (records written before the two-way half have none) */
  direction?: Direction;
  /** What Partner Center last said about the partner referral (events, reconciliation, our own PATCHes). */
  partnerCenter?: PartnerReferralSnapshot;
  /** Microsoft's answer, for co-sell deals. */
  microsoft?: MicrosoftAnswer;
  /** The newest changes first, at most {@link HISTORY_LIMIT} entries. */
  history?: HistoryEntry[];
  /** CloudEvents written with the change they announce and not published yet (shared/sync/). */
  outbox?: PendingCloudEvent[];
  /** True while `outbox` holds entries: what the sweeper's recovery query filters on. */
  outboxPending?: boolean;
  createdAtEpochMs: number;
  updatedAtEpochMs: number;
  /** Set by the store on every read; the next conditional write must pass it. */
  etag: string;
}

/** A record as inserted: the store adds the timestamps and the ETag. */
export type NewTrackingRecord = Omit<TrackingRecord, 'etag' | 'createdAtEpochMs' | 'updatedAtEpochMs'>;

/**
 * Fields a caller may change in one conditional write. `requestHash` and `dealType` change only when a
 * final record is reopened by a new request (a resend's corrected payload, an upgrade to co-sell).
 */
export type TrackingChanges = Partial<
  Omit<TrackingRecord, 'trackingId' | 'etag' | 'createdAtEpochMs' | 'source' | 'keySource'>
>;

/** Entries a record's history keeps (the oldest are dropped): bounds the entity's size. */
export const HISTORY_LIMIT = 50;

/** `history` with `entry` added at the front, bounded by {@link HISTORY_LIMIT}. */
export function withHistory(history: readonly HistoryEntry[] | undefined, ...entries: HistoryEntry[]): HistoryEntry[] {
  return [...entries, ...(history ?? [])].slice(0, HISTORY_LIMIT);
}
