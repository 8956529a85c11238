/**
 * Names and defaults of the sync half (docs/events.md): what Partner Center says is applied to the
 * tracking records and published as CloudEvents.
 */

/** Queue the bridge publishes CloudEvents on (plain JSON text, what Power Automate's queue trigger reads). */
export { EVENTS_QUEUE_NAME } from '../workflow/constants';

/** The CloudEvents `type` values the bridge publishes (docs/events.md lists them with an example). */
export const CloudEventType = {
  /** The partner referral's status or substatus moved. */
  StatusChanged: 'referral.status.changed',
  /** Deal fields of the partner referral moved (name, value, currency, closing date). */
  DealChanged: 'referral.deal.changed',
  MicrosoftAccepted: 'referral.microsoft.accepted',
  MicrosoftDeclined: 'referral.microsoft.declined',
  MicrosoftExpired: 'referral.microsoft.expired',
  /** A referral the bridge did not create got a record of its own (data carries the lead). */
  InboundReceived: 'referral.inbound.received',
} as const;
export type CloudEventType = (typeof CloudEventType)[keyof typeof CloudEventType];

/** `source` of the CloudEvents when EVENTS_CLOUDEVENT_SOURCE is not set. */
export const DEFAULT_CLOUDEVENT_SOURCE = 'urn:cosell-referral-bridge';

/** Content type of a structured-mode CloudEvent POSTed to a callback URL. */
export const CLOUDEVENT_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

/** History entries carried in a CloudEvent's data (the record keeps up to HISTORY_LIMIT). */
export const CLOUDEVENT_HISTORY_ENTRIES = 5;

/** Failed callback rounds after which the outbox stops retrying a CloudEvent's callback delivery. */
export const MAX_CALLBACK_FAILURES = 3;

/** Conditional-write attempts of the apply path before it gives up (retryable) on a busy record. */
export const MAX_APPLY_ATTEMPTS = 4;

/** Defaults of the EVENTS_RECONCILE_* settings. */
export const ReconcileDefaults = {
  /** Every 5 minutes (the sandbox runs it every 15 s). */
  schedule: '0 */5 * * * *',
  /** The listing goes this far below the watermark (clock skew, changes committed out of order) [inferred]. */
  overlapSeconds: 120,
  /** First run without a watermark: how far back it looks. */
  initialLookbackHours: 24,
  /** Changed referrals read per run at most; more leaves the watermark where it is (logged). */
  maxItems: 10_000,
  /** How long one run holds the watermark lease. */
  leaseSeconds: 300,
  /** Page size asked of Partner Center ($top). */
  pageSize: 100,
} as const;

/** Table `referrals` row of the reconciliation watermark and its lease. */
export const WATERMARK_KEYS = { partitionKey: '$sync', rowKey: 'reconcile-watermark' } as const;
