/**
 * Records of referrals the bridge did not create: an inbound lead from Microsoft or another partner, or a
 * deal a person made in the Partner Center UI. One per Partner Center referral id, with a trackingId
 * derived from that id (found again, never duplicated: the insert is conditional). No request is kept:
 * the lead's details (what a CRM needs to create the lead, customer contacts included) travel only in
 * the `referral.inbound.received` CloudEvent, held in the record's outbox until it is published.
 */
import { createHash } from 'node:crypto';
import type { PartnerCenterReferral } from '../partner-center/types';
import { resolveDealType } from '../referral/dealTypeRules';
import { TrackingState } from '../tracking/states';
import {
  Direction,
  type HistorySource,
  KeySource,
  withHistory,
  type NewTrackingRecord,
} from '../tracking/trackingRecord';
import { partnerSnapshotOf } from './applySnapshot';

/** The trackingId of the inbound record of a Partner Center referral: `r` + 31 hex of sha256('inbound:' + id). */
export function inboundTrackingId(referralId: string): string {
  const digest = createHash('sha256').update(`inbound:${referralId.toLowerCase()}`).digest('hex');
  return `r${digest.slice(0, 31)}`;
}

/** What a CRM needs to create the lead, as Partner Center gave it (never stored on the record, never logged). */
export interface InboundLead {
  referralId: string;
  engagementId?: string;
  name?: string;
  externalReferenceId?: string;
  /** `Incoming` (sent to the partner) or `Outgoing` (made by the partner outside the bridge). */
  direction?: string;
  status?: string;
  substatus?: string;
  type?: string;
  qualification?: string;
  createdDateTime?: string;
  /** Who sent it (`inviteContext.invitedBy`, `msft` for Microsoft) and the sender's notes. */
  invitedBy?: unknown;
  inviteNotes?: string;
  /** The customer: name, address, size, ids and contacts, as Partner Center holds them. */
  customerProfile?: unknown;
  /** Deal value, currency, closing date, notes, requirements. */
  details?: unknown;
  consent?: unknown;
}

/** The lead of an inbound referral (see {@link InboundLead}). */
export function leadOf(referral: PartnerCenterReferral): InboundLead {
  const invite = isObject(referral.inviteContext) ? referral.inviteContext : {};
  const entries: Array<[keyof InboundLead, unknown]> = [
    ['referralId', referral.id],
    ['engagementId', referral.engagementId],
    ['name', referral.name],
    ['externalReferenceId', referral.externalReferenceId],
    ['direction', referral.direction],
    ['status', referral.status],
    ['substatus', referral.substatus],
    ['type', referral.type],
    ['qualification', referral.qualification],
    ['createdDateTime', referral.createdDateTime],
    ['invitedBy', invite.invitedBy],
    ['inviteNotes', invite.notes],
    ['customerProfile', referral.customerProfile],
    ['details', referral.details],
    ['consent', referral.consent],
  ];
  return Object.fromEntries(
    entries.filter(([, value]) => value !== undefined && value !== null),
  ) as unknown as InboundLead;
}

/**
 * The record of an inbound referral: state `Inbound` (final), direction inbound, deal type read from the
 * referral's sharing flag (resolveDealType: shared → PartnerLed, else Private), Partner Center's snapshot.
 */
export function newInboundRecord(
  referral: PartnerCenterReferral,
  options: { at: string; source: HistorySource },
): NewTrackingRecord {
  const snapshot = partnerSnapshotOf(referral);
  return {
    trackingId: inboundTrackingId(referral.id),
    state: TrackingState.Inbound,
    dealType: resolveDealType(referral).dealType,
    source: 'queue',
    keySource: KeySource.PartnerCenter,
    requestHash: createHash('sha256').update(`inbound:${referral.id.toLowerCase()}`).digest('hex'),
    partnerReferralId: referral.id,
    ...(typeof referral.engagementId === 'string' ? { engagementId: referral.engagementId } : {}),
    ...(referral.organizationId ? { partnerOrganizationId: referral.organizationId } : {}),
    ...(referral.organizationName ? { partnerOrganizationName: referral.organizationName } : {}),
    attempts: 0,
    direction: Direction.Inbound,
    partnerCenter: snapshot,
    history: withHistory(undefined, {
      at: options.at,
      source: options.source,
      kind: 'inbound',
      to: snapshot.substatus ? `${snapshot.status}/${snapshot.substatus}` : snapshot.status,
      note: typeof referral.direction === 'string' ? referral.direction : undefined,
    }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
