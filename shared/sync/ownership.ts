/**
 * Which tracking record a Partner Center referral belongs to, and the race with our own create.
 *
 * Records are keyed by trackingId; a referral id is found through the index row the partner step writes
 * (`pc-<id>` → trackingId) or, for a referral the bridge did not create, through the trackingId derived
 * from the id (inboundRecord.ts). The race: Partner Center announces a new referral (`referral-created`)
 * as soon as it exists, possibly before our create's answer reached us. The partner step therefore writes
 * the index row right after the create answers and BEFORE the record names the id:
 * ```
 * partner step:  claim (CreatingPartner, request kept) ─ POST create ─► id X ─ index pc-X ─ record: X, Completed/…
 * event for X:          │ ……………… arrives anywhere on this line ……………… │
 *   before "index":     no index row, but a record still in the partner step whose request matches X → defer (retry)
 *   after "index":      index row → our record (if it does not name X yet it is under the step's lease → defer)
 * ```
 * An unknown referral is taken for inbound only when no record is in (or parked in) the partner step with
 * a request that could have made it. `Incoming` referrals (sent to the partner) are never ours.
 */
import type { PartnerCenterReferral } from '../partner-center/types';
import { TrackingState } from '../tracking/states';
import type { TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { inboundTrackingId } from './inboundRecord';

/** Where a referral's changes go. */
export type Ownership =
  { kind: 'record'; record: TrackingRecord } | { kind: 'new-inbound' } | { kind: 'defer'; why: 'own-create-pending' };

/** States in which our partner step may have created a referral whose id it has not recorded yet. */
const PARTNER_STEP_STATES: readonly TrackingState[] = [
  TrackingState.Received,
  TrackingState.CreatingPartner,
  TrackingState.AwaitingReauthorization,
];

/** The record a referral id is known under (index row, else the inbound trackingId), if any. */
export async function findRecordOf(records: TrackingRecords, referralId: string): Promise<TrackingRecord | undefined> {
  const indexed = await records.findReferral(referralId);
  if (indexed) {
    const record = await records.read(indexed);
    if (record) return record;
  }
  return records.read(inboundTrackingId(referralId));
}

/** Decides where the partner referral `referral`'s changes go (see the module comment). */
export async function resolveOwnership(
  records: TrackingRecords,
  referral: PartnerCenterReferral,
  nowMs: number,
): Promise<Ownership> {
  const known = await findRecordOf(records, referral.id);
  if (known) return { kind: 'record', record: known };
  if (referral.direction === 'Incoming') return { kind: 'new-inbound' };
  if (await mayBeOurPendingCreate(records, referral, nowMs)) return { kind: 'defer', why: 'own-create-pending' };
  return { kind: 'new-inbound' };
}

/** True when a record still in (or parked in) the partner step has a request that could have made `referral`. */
async function mayBeOurPendingCreate(
  records: TrackingRecords,
  referral: PartnerCenterReferral,
  nowMs: number,
): Promise<boolean> {
  // The open-work index holds every record still in a step (its cost grows with open work, not history).
  for await (const record of records.listOpen({ updatedBeforeEpochMs: nowMs + 1 })) {
    if (!PARTNER_STEP_STATES.includes(record.state)) continue;
    if (record.state === TrackingState.AwaitingReauthorization && record.parkedFrom !== TrackingState.Received)
      continue;
    if (record.request && sameDeal(record.request.referral, referral)) return true;
  }
  return false;
}

/**
 * True when the fields a create sends and Partner Center returns unchanged agree: the referral's name,
 * the customer's name, deal value and currency (case and spacing of text ignored; absent = any).
 */
export function sameDeal(sent: unknown, created: PartnerCenterReferral): boolean {
  const a = asObject(sent);
  const b = asObject(created);
  const pairs: Array<[unknown, unknown]> = [
    [a.name, b.name],
    [asObject(a.customerProfile).name, asObject(b.customerProfile).name],
    [asObject(a.details).dealValue, asObject(b.details).dealValue],
    [asObject(a.details).currency, asObject(b.details).currency],
  ];
  return pairs.every(([x, y]) => x === undefined || x === null || y === undefined || normal(x) === normal(y));
}

function normal(value: unknown): string {
  return typeof value === 'string' ? value.trim().replace(/\s+/g, ' ').toLowerCase() : JSON.stringify(value);
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
