import { isFinalState, type TrackingState } from '../tracking/states';
import { problem, type ProblemDetails } from '../referral/problem';
import {
  Direction,
  type CallbackState,
  type HistoryEntry,
  type MicrosoftDecision,
  type TrackingError,
  type TrackingRecord,
} from '../tracking/trackingRecord';

/** What callers see of a tracking record: ids and states, never the referral's contact data. */
export interface TrackingView {
  trackingId: string;
  state: TrackingState;
  /** True when the state will not change any more. */
  final: boolean;
  dealType: string;
  /** `outbound`: the bridge created the referral; `inbound`: someone else did (a lead, a deal made in the UI). Always set by {@link toTrackingView}. */
  direction?: Direction;
  /** The partner's referral, with what Partner Center last said about it (events, reconciliation, our PATCHes). */
  partnerReferral?: {
    id: string;
    engagementId?: string;
    status?: string;
    substatus?: string;
    statusReason?: string;
    updatedDateTime?: string;
    name?: string;
    dealValue?: number;
    currency?: string;
    closingDateTime?: string;
  };
  microsoftReferral?: { id: string };
  /** Microsoft's answer to a co-sell request (the mapping from the Microsoft referral is [inferred]). */
  microsoft?: { decision: MicrosoftDecision; msxId?: string; reason?: string; decidedAt?: string; respondBy?: string };
  /** What changed, when, from where: newest first, bounded. */
  history?: HistoryEntry[];
  lastError?: TrackingError;
  /** The state a parked record resumes to once a new refresh token is stored. */
  parkedFrom?: TrackingState;
  /** Delivery of the record's callback, when it has one (never the URL). */
  callback?: { state: CallbackState; failure?: string };
  createdAt: string;
  updatedAt: string;
  links: { self: string };
}

/** Builds the public view of a record; `selfUrl` is the absolute status URL. */
export function toTrackingView(record: TrackingRecord, selfUrl: string): TrackingView {
  return {
    trackingId: record.trackingId,
    state: record.state,
    final: isFinalState(record.state),
    dealType: record.dealType,
    direction: record.direction ?? Direction.Outbound,
    ...(record.partnerReferralId
      ? {
          partnerReferral: {
            id: record.partnerReferralId,
            ...(record.engagementId ? { engagementId: record.engagementId } : {}),
            ...(record.partnerCenter ? snapshotFields(record.partnerCenter) : {}),
          },
        }
      : {}),
    ...(record.microsoftReferralId ? { microsoftReferral: { id: record.microsoftReferralId } } : {}),
    ...(record.microsoft
      ? {
          microsoft: {
            decision: record.microsoft.decision,
            ...present({
              msxId: record.microsoft.msxId,
              reason: record.microsoft.reason,
              decidedAt: record.microsoft.decidedAt,
              respondBy: record.microsoft.respondBy,
            }),
          },
        }
      : {}),
    ...(record.history && record.history.length > 0 ? { history: record.history } : {}),
    ...(record.lastError ? { lastError: record.lastError } : {}),
    ...(record.parkedFrom ? { parkedFrom: record.parkedFrom } : {}),
    ...(record.callbackState
      ? {
          callback: {
            state: record.callbackState,
            ...(record.callbackFailure ? { failure: record.callbackFailure } : {}),
          },
        }
      : {}),
    createdAt: new Date(record.createdAtEpochMs).toISOString(),
    updatedAt: new Date(record.updatedAtEpochMs).toISOString(),
    links: { self: selfUrl },
  };
}

/** The entries of `fields` that are set. */
function present<T extends Record<string, string | undefined>>(fields: T): Partial<Record<keyof T, string>> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<
    Record<keyof T, string>
  >;
}

/** What the view shows of Partner Center's snapshot: status and deal fields (not its id or eTag). */
function snapshotFields(snapshot: NonNullable<TrackingRecord['partnerCenter']>): Omit<typeof snapshot, 'id' | 'eTag'> {
  const { id: _id, eTag: _eTag, ...fields } = snapshot;
  return fields;
}

/** The 422 answer for a referral Partner Center refused: its error code, and the tracking view. */
export function partnerCenterRejectedProblem(view: TrackingView): ProblemDetails {
  return problem(422, 'partner-center-rejected', 'Partner Center rejected the referral', view.lastError?.message, {
    trackingId: view.trackingId,
    partnerCenterError: view.lastError ? { status: view.lastError.status, code: view.lastError.code } : undefined,
    tracking: view,
  });
}
