import { isFinalState, type TrackingState } from '../tracking/states';
import { problem, type ProblemDetails } from '../referral/problem';
import type { CallbackState, HistoryEntry, TrackingError, TrackingRecord } from '../tracking/trackingRecord';

/** What callers see of a tracking record: ids and states, never the referral's contact data. */
export interface TrackingView {
  trackingId: string;
  state: TrackingState;
  /** True when the state will not change any more. */
  final: boolean;
  dealType: string;
  partnerReferral?: { id: string; engagementId?: string };
  microsoftReferral?: { id: string };
  lastError?: TrackingError;
  /** The state a parked record resumes to once a new refresh token is stored. */
  parkedFrom?: TrackingState;
  /** The partner referral's current state as Partner Center last said it (status, deal fields; no eTag). */
  referral?: Omit<NonNullable<TrackingRecord['partnerCenter']>, 'id' | 'eTag'>;
  /** The record's changes, newest first (changes applied, refused or in conflict; status moves). */
  history?: HistoryEntry[];
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
    ...(record.partnerReferralId
      ? {
          partnerReferral: {
            id: record.partnerReferralId,
            ...(record.engagementId ? { engagementId: record.engagementId } : {}),
          },
        }
      : {}),
    ...(record.microsoftReferralId ? { microsoftReferral: { id: record.microsoftReferralId } } : {}),
    ...(record.lastError ? { lastError: record.lastError } : {}),
    ...(record.parkedFrom ? { parkedFrom: record.parkedFrom } : {}),
    ...(record.partnerCenter ? { referral: referralOf(record.partnerCenter) } : {}),
    ...(record.history?.length ? { history: record.history } : {}),
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

function referralOf(snapshot: NonNullable<TrackingRecord['partnerCenter']>): TrackingView['referral'] {
  const { id: _id, eTag: _eTag, ...state } = snapshot;
  return state;
}

/** The 422 answer for a referral Partner Center refused: its error code, and the tracking view. */
export function partnerCenterRejectedProblem(view: TrackingView): ProblemDetails {
  return problem(422, 'partner-center-rejected', 'Partner Center rejected the referral', view.lastError?.message, {
    trackingId: view.trackingId,
    partnerCenterError: view.lastError ? { status: view.lastError.status, code: view.lastError.code } : undefined,
    tracking: view,
  });
}
