/**
 * The one apply path for what Partner Center says about a referral: webhook events, reconciliation and
 * the answers to our own PATCHes all land here, so a change is recorded (and published) once however it
 * arrived. This file is the pure part: from a record and fresh Partner Center snapshots, the changes to
 * write with the record's ETag and the history entries they add. Nothing here does I/O.
 *
 * "Newer" is decided by Partner Center's `updatedDateTime` (ISO 8601 UTC, compared as instants); a
 * snapshot that is not newer than the stored one changes nothing, so an event delivered twice, out of
 * order, or also found by reconciliation is applied once.
 */
import type { PartnerCenterReferral } from '../partner-center';
import {
  MicrosoftDecision,
  withHistory,
  type HistoryEntry,
  type HistorySource,
  type MicrosoftAnswer,
  type PartnerReferralSnapshot,
  type TrackingChanges,
  type TrackingRecord,
} from '../tracking/trackingRecord';

/** Days Microsoft sellers have to answer a co-sell request. */
export const MICROSOFT_RESPONSE_DAYS = 14;

/** One row of the decision table: a Microsoft referral status (and substatus, or any) → decision. */
export interface DecisionRule {
  status: string;
  /** `undefined` matches any substatus. */
  substatus?: string;
  decision: MicrosoftDecision;
}

/**
 * How the Microsoft referral's status/substatus reads as Microsoft's answer. [inferred]: Partner Center
 * documents the transitions, not this mapping; rules are tried in order, the first match wins, and a
 * status no rule names reads as `Pending`. Configurable (EVENTS_DECISION_RULES, docs/events.md).
 */
export const DEFAULT_DECISION_RULES: readonly DecisionRule[] = [
  { status: 'Active', decision: MicrosoftDecision.Accepted },
  // A deal closes Won or Lost only after Microsoft took it on [inferred].
  { status: 'Closed', substatus: 'Won', decision: MicrosoftDecision.Accepted },
  { status: 'Closed', substatus: 'Lost', decision: MicrosoftDecision.Accepted },
  { status: 'Closed', substatus: 'Declined', decision: MicrosoftDecision.Declined },
  { status: 'Closed', substatus: 'Expired', decision: MicrosoftDecision.Expired },
  { status: 'New', decision: MicrosoftDecision.Pending },
];

/** Microsoft's decision for a Microsoft referral's status/substatus, by `rules`. */
export function decisionOf(
  status: string | undefined,
  substatus: string | undefined,
  rules: readonly DecisionRule[] = DEFAULT_DECISION_RULES,
): MicrosoftDecision {
  const rule = rules.find(
    (candidate) =>
      candidate.status === status && (candidate.substatus === undefined || candidate.substatus === substatus),
  );
  return rule?.decision ?? MicrosoftDecision.Pending;
}

/** The deal fields of a partner referral the bridge keeps (no customer contact data). */
export function partnerSnapshotOf(referral: PartnerCenterReferral): PartnerReferralSnapshot {
  const details = isObject(referral.details) ? referral.details : {};
  return compact({
    id: referral.id,
    status: text(referral.status),
    substatus: text(referral.substatus),
    statusReason: text(referral.statusReason),
    updatedDateTime: text(referral.updatedDateTime),
    eTag: text(referral.eTag),
    name: text(referral.name),
    dealValue: typeof details.dealValue === 'number' ? details.dealValue : undefined,
    currency: text(details.currency),
    closingDateTime: text(details.closingDateTime),
  });
}

/** Microsoft's answer as read from the engagement's Microsoft referral. */
export function microsoftAnswerOf(
  referral: PartnerCenterReferral,
  rules: readonly DecisionRule[] = DEFAULT_DECISION_RULES,
): MicrosoftAnswer {
  const decision = decisionOf(text(referral.status), text(referral.substatus), rules);
  const trackingInfo = isObject(referral.trackingInfo) ? referral.trackingInfo : {};
  const createdMs = Date.parse(text(referral.createdDateTime) ?? '');
  const updated = text(referral.updatedDateTime);
  return compact({
    decision,
    msxId: text(trackingInfo.microsoftMsxId),
    reason: text(referral.statusReason),
    decidedAt: decision === MicrosoftDecision.Pending ? undefined : updated,
    respondBy: Number.isFinite(createdMs)
      ? new Date(createdMs + MICROSOFT_RESPONSE_DAYS * 86_400_000).toISOString()
      : undefined,
    updatedDateTime: updated,
  });
}

/** What Partner Center said, as fetched now. */
export interface SnapshotInput {
  /** The partner's referral (ours, or the inbound one). */
  partner?: PartnerCenterReferral;
  /** The engagement's Microsoft referral, for co-sell deals. */
  microsoft?: PartnerCenterReferral;
  source: HistorySource;
  /** ISO 8601 time of the history entries. */
  at: string;
  decisionRules?: readonly DecisionRule[];
}

/** What changed, for the events published about it (one per kind). */
export const ChangeKind = {
  Status: 'status',
  Deal: 'deal',
  Microsoft: 'microsoft',
} as const;
export type ChangeKind = (typeof ChangeKind)[keyof typeof ChangeKind];

/** Result of {@link planSnapshotApply}. */
export type SnapshotPlan =
  { kind: 'unchanged' } | { kind: 'apply'; changes: TrackingChanges; changed: ChangeKind[]; history: HistoryEntry[] };

/**
 * The changes a fresh snapshot makes to `record`: the partner snapshot when it is newer than the stored
 * one (status moved → `status`, deal fields moved → `deal`), Microsoft's answer when the Microsoft
 * referral is newer (decision, msxId or reason moved → `microsoft`). `unchanged` when nothing is newer.
 */
export function planSnapshotApply(record: TrackingRecord, input: SnapshotInput): SnapshotPlan {
  const changes: TrackingChanges = {};
  const changed: ChangeKind[] = [];
  const entries: HistoryEntry[] = [];
  if (input.partner) {
    const next = partnerSnapshotOf(input.partner);
    const stored = record.partnerCenter;
    if (
      isNewer(next.updatedDateTime, stored?.updatedDateTime) ||
      isOtherVersionAtSameInstant(next, stored) ||
      !stored
    ) {
      changes.partnerCenter = next;
      const statusFrom = statusText(stored);
      const statusTo = statusText(next);
      if (stored && statusFrom !== statusTo) {
        changed.push(ChangeKind.Status);
        entries.push({ at: input.at, source: input.source, kind: 'status', from: statusFrom, to: statusTo });
      } else if (!stored) {
        entries.push({ at: input.at, source: input.source, kind: 'status', to: statusTo });
      }
      const dealFields = (['name', 'dealValue', 'currency', 'closingDateTime'] as const).filter(
        (field) => stored !== undefined && stored[field] !== next[field],
      );
      if (dealFields.length > 0) {
        changed.push(ChangeKind.Deal);
        entries.push({ at: input.at, source: input.source, kind: 'deal', note: dealFields.join(', ') });
      }
    }
  }
  if (input.microsoft) {
    const next = microsoftAnswerOf(input.microsoft, input.decisionRules);
    const stored = record.microsoft;
    if (!stored || isNewer(next.updatedDateTime, stored.updatedDateTime)) {
      changes.microsoft = next;
      const moved =
        !stored || stored.decision !== next.decision || stored.msxId !== next.msxId || stored.reason !== next.reason;
      if (moved) {
        if (stored?.decision !== next.decision || !stored) changed.push(ChangeKind.Microsoft);
        entries.push({
          at: input.at,
          source: input.source,
          kind: 'microsoft',
          ...(stored ? { from: stored.decision } : {}),
          to: next.decision,
        });
      }
    }
  }
  if (changes.partnerCenter === undefined && changes.microsoft === undefined) return { kind: 'unchanged' };
  if (entries.length > 0) changes.history = withHistory(record.history, ...entries.reverse());
  return { kind: 'apply', changes, changed, history: entries };
}

/**
 * True when `candidate` is a later instant than `stored` (an unreadable candidate never is). Compared to
 * the full precision Partner Center writes (`2021-03-17T21:10:00.3734454Z`: 100 ns), not to the
 * millisecond, so two changes in one millisecond are still ordered.
 */
export function isNewer(candidate: string | undefined, stored: string | undefined): boolean {
  return compareInstants(candidate, stored) > 0;
}

/**
 * Orders two ISO 8601 instants at nanosecond precision: > 0 when `a` is later, 0 when equal, < 0 when
 * earlier. An unreadable value sorts before every readable one (two unreadable ones are equal).
 */
export function compareInstants(a: string | undefined, b: string | undefined): number {
  const x = instantOf(a);
  const y = instantOf(b);
  if (!x || !y) return x ? 1 : y ? -1 : 0;
  return x.seconds !== y.seconds ? x.seconds - y.seconds : x.nanos - y.nanos;
}

function instantOf(value: string | undefined): { seconds: number; nanos: number } | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return undefined;
  const fraction = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(value)?.[1] ?? '';
  const seconds = Math.floor(ms / 1000);
  const nanos = fraction ? Number(fraction.slice(0, 9).padEnd(9, '0')) : (ms - seconds * 1000) * 1_000_000;
  return { seconds, nanos };
}

/**
 * Same `updatedDateTime`, another eTag: Partner Center changed the referral twice within its clock's
 * resolution. The snapshot was fetched after the stored one was, so it is taken [inferred].
 */
function isOtherVersionAtSameInstant(
  next: PartnerReferralSnapshot,
  stored: PartnerReferralSnapshot | undefined,
): boolean {
  return (
    stored !== undefined &&
    next.eTag !== undefined &&
    stored.eTag !== undefined &&
    next.eTag !== stored.eTag &&
    compareInstants(next.updatedDateTime, stored.updatedDateTime) === 0
  );
}

function statusText(snapshot: PartnerReferralSnapshot | undefined): string | undefined {
  if (!snapshot?.status) return undefined;
  return snapshot.substatus ? `${snapshot.status}/${snapshot.substatus}` : snapshot.status;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
