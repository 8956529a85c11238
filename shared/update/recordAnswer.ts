import type { PartnerCenterReferral } from '../partner-center/types';
import { planSnapshotApply } from '../sync/applySnapshot';
import {
  HistorySource,
  withHistory,
  type HistoryEntry,
  type TrackingChanges,
  type TrackingRecord,
} from '../tracking/trackingRecord';

/**
 * The record changes for what Partner Center answered to one of our changes (or showed us while planning
 * one): the snapshot through the one apply path (`planSnapshotApply`, source `us`), plus `entry` in the
 * history. The ONE place the update capability records Partner Center's view of a referral: at merge the
 * lead swaps `planSnapshotApply` for the events helper's full apply path (which also publishes the event).
 */
export function partnerAnswerChanges(
  record: TrackingRecord,
  answer: PartnerCenterReferral,
  at: string,
  entry?: Omit<HistoryEntry, 'at' | 'source'>,
): TrackingChanges {
  const plan = planSnapshotApply(record, { partner: answer, source: HistorySource.Us, at });
  const changes: TrackingChanges = plan.kind === 'apply' ? { ...plan.changes } : {};
  if (entry)
    changes.history = withHistory(changes.history ?? record.history, { at, source: HistorySource.Us, ...entry });
  return changes;
}
