/**
 * CloudEvents 1.0 (structured mode, JSON) the bridge publishes for every change that matters to a CRM:
 * on the queue `referral-events` and to the record's callback URL.
 *
 * `id` is derived from (Partner Center referral id, kind of change, version = the referral's
 * `updatedDateTime`), so the same change found twice (an event delivered twice, an event and the
 * reconciliation) has the same id, and the apply path's newer-than check makes the second finding a
 * no-op: one change, one event, one id a consumer can dedupe on after a crash-and-republish.
 */
import { deterministicRequestId } from '../partner-center/requestId';
import type { PartnerCenterReferral } from '../partner-center/types';
import {
  MicrosoftDecision,
  type CloudEventEnvelope,
  type PendingCloudEvent,
  type TrackingRecord,
} from '../tracking/trackingRecord';
import type { TrackingView } from '../workflow/trackingView';
import { ChangeKind, type SnapshotPlan } from './applySnapshot';
import { CLOUDEVENT_HISTORY_ENTRIES, CloudEventType } from './constants';
import type { InboundLead } from './inboundRecord';

/** The `data` of a bridge CloudEvent: the tracking view (history shortened), and for inbound the lead. */
export type CloudEventData = TrackingView & { lead?: InboundLead };

/** The stable id of one change: a v5-style GUID over (referral id, kind, version). */
export function cloudEventId(referralId: string, kind: string, version: string): string {
  return deterministicRequestId(`cloudevent\u0000${referralId.toLowerCase()}\u0000${kind}\u0000${version}`);
}

/** Builds one CloudEvent. */
export function cloudEvent(fields: {
  id: string;
  source: string;
  type: CloudEventType;
  trackingId: string;
  time: string;
  data: CloudEventData;
}): CloudEventEnvelope {
  return {
    specversion: '1.0',
    id: fields.id,
    source: fields.source,
    type: fields.type,
    subject: fields.trackingId,
    time: fields.time,
    datacontenttype: 'application/json',
    data: fields.data,
  };
}

/** The view as a CloudEvent carries it: the newest few history entries only (bounded message size). */
export function eventData(view: TrackingView, lead?: InboundLead): CloudEventData {
  return {
    ...view,
    ...(view.history ? { history: view.history.slice(0, CLOUDEVENT_HISTORY_ENTRIES) } : {}),
    ...(lead ? { lead } : {}),
  };
}

const MICROSOFT_TYPES: Partial<Record<MicrosoftDecision, CloudEventType>> = {
  [MicrosoftDecision.Accepted]: CloudEventType.MicrosoftAccepted,
  [MicrosoftDecision.Declined]: CloudEventType.MicrosoftDeclined,
  [MicrosoftDecision.Expired]: CloudEventType.MicrosoftExpired,
};

/**
 * The CloudEvents an applied plan publishes, one per kind of change: status → `referral.status.changed`,
 * deal fields → `referral.deal.changed`, Microsoft's decision → `referral.microsoft.<decision>` (a
 * Microsoft referral first seen still Pending publishes nothing). `after` is the record as the plan
 * leaves it; `view` renders it.
 */
export function eventsForPlan(
  plan: Extract<SnapshotPlan, { kind: 'apply' }>,
  snapshots: { partner?: PartnerCenterReferral; microsoft?: PartnerCenterReferral },
  after: TrackingRecord,
  options: { source: string; time: string; view: (record: TrackingRecord) => TrackingView },
): CloudEventEnvelope[] {
  const events: CloudEventEnvelope[] = [];
  const data = eventData(options.view(after));
  const base = { source: options.source, trackingId: after.trackingId, time: options.time, data };
  const partner = snapshots.partner;
  const partnerVersion = typeof partner?.updatedDateTime === 'string' ? partner.updatedDateTime : undefined;
  if (partner && partnerVersion) {
    if (plan.changed.includes(ChangeKind.Status))
      events.push(
        cloudEvent({
          ...base,
          id: cloudEventId(partner.id, CloudEventType.StatusChanged, partnerVersion),
          type: CloudEventType.StatusChanged,
        }),
      );
    if (plan.changed.includes(ChangeKind.Deal))
      events.push(
        cloudEvent({
          ...base,
          id: cloudEventId(partner.id, CloudEventType.DealChanged, partnerVersion),
          type: CloudEventType.DealChanged,
        }),
      );
  }
  const microsoft = snapshots.microsoft;
  const decision = plan.changes.microsoft?.decision;
  const type = decision ? MICROSOFT_TYPES[decision] : undefined;
  const microsoftVersion = typeof microsoft?.updatedDateTime === 'string' ? microsoft.updatedDateTime : undefined;
  if (microsoft && type && microsoftVersion && plan.changed.includes(ChangeKind.Microsoft))
    events.push(cloudEvent({ ...base, id: cloudEventId(microsoft.id, type, microsoftVersion), type }));
  return events;
}

/** Outbox entries for `events` (queue always; callback when the record has a callback URL). */
export function pendingEntries(
  events: readonly CloudEventEnvelope[],
  record: Pick<TrackingRecord, 'callbackUrl'>,
  nowMs: number,
): PendingCloudEvent[] {
  return events.map((event) => ({ event, queue: true, callback: Boolean(record.callbackUrl), addedAtEpochMs: nowMs }));
}

/** The outbox fields of a record holding `entries` (both cleared when it is empty). */
export function outboxChanges(entries: readonly PendingCloudEvent[]): Pick<TrackingRecord, 'outbox' | 'outboxPending'> {
  return entries.length > 0
    ? { outbox: [...entries], outboxPending: true }
    : { outbox: undefined, outboxPending: undefined };
}
