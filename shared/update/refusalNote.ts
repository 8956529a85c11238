/**
 * A change that was refused before it was applied (an unreadable `referral-update` message, an invalid
 * change from the queue) is noted on the tracking record's history, so the reason shows through the GET.
 */
import type { ProblemDetails } from '../referral/problem';
import { HistorySource, withHistory, type TrackingRecord } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';

/**
 * Adds a history entry `refused` with the problem's codes and pointers (never values); on a conflicting
 * write it re-reads and tries again (3 tries), and answers the record as last seen.
 */
export async function noteRefusal(
  record: TrackingRecord,
  refused: ProblemDetails,
  options: { records: TrackingRecords; nowMs: () => number },
): Promise<TrackingRecord> {
  const codes = (refused.errors ?? []).map((error) => `${error.pointer ?? error.header ?? ''} ${error.code}`);
  const note = [refused.type.split('#')[1], ...codes].join('; ').slice(0, 500);
  let current = record;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const at = new Date(options.nowMs()).toISOString();
      return await options.records.update(current, {
        history: withHistory(current.history, { at, source: HistorySource.Us, kind: 'refused', note }),
      });
    } catch {
      current = (await options.records.read(record.trackingId)) ?? current;
    }
  }
  return current;
}
