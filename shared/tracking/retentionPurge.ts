/**
 * The retention timer's purge (`TrackingRecords.purgeClosedBefore`): walks the `final-<day>` retention
 * partitions of the expired days from the `$retention` cursor and deletes each closed record filed there,
 * with every other row of its partition. docs/architecture.md ("Retention") has the rules.
 */
import {
  DAY_MS,
  RECORD_ROW_KEY,
  RETENTION_CURSOR_KEYS,
  finalEntryOf,
  finalPartitionOf,
  isOpenWork,
  startOfUtcDay,
} from './openWork';
import type { IndexKey, PurgeOptions, PurgeReport, RecordRows } from './trackingRecords';

/** Days before the first expired day the retention timer looks at when it has no cursor yet. */
const RETENTION_FIRST_LOOKBACK_DAYS = 62;

/** What happened to one retention entry's record. */
type PurgeOutcome = 'deleted' | 'refiled' | 'dropped' | 'changed';

/**
 * Deletes closed records last written before `cutoffEpochMs`: walks the retention partitions of the
 * expired days from the cursor (one query each, PartitionKey pinned), reads each named record's partition
 * (pinned), deletes the record if it is still the one read (If-Match) and then the partition's other rows.
 * A record written again since it was filed is filed again under its new day; one with open work again is
 * left alone (it is filed again when it closes).
 */
export async function purgeClosedRecords(
  rows: RecordRows,
  cutoffEpochMs: number,
  options: PurgeOptions = {},
): Promise<PurgeReport> {
  const maxRecords = options.maxRecords ?? 5000;
  const report: PurgeReport = { deleted: 0, refiled: 0, dropped: 0, daysFinished: 0, truncated: false };
  const lastDay = startOfUtcDay(cutoffEpochMs) - DAY_MS;
  const cursor = await rows.getIndex(RETENTION_CURSOR_KEYS);
  let handled = 0;
  const first = cursor?.atEpochMs ?? lastDay - RETENTION_FIRST_LOOKBACK_DAYS * DAY_MS;
  let next = first;
  for (let day = first; day <= lastDay; day += DAY_MS) {
    const done: IndexKey[] = [];
    let finished = true;
    for await (const entry of rows.listIndex(finalPartitionOf(day))) {
      if (handled >= maxRecords) {
        finished = false;
        report.truncated = true;
        break;
      }
      handled++;
      const outcome = await purgeOne(rows, entry.rowKey, cutoffEpochMs, options);
      if (outcome === 'changed') finished = false;
      else {
        report[outcome]++;
        done.push({ partition: entry.partition, rowKey: entry.rowKey });
      }
    }
    await rows.deleteRows(done);
    if (!finished) break;
    next = day + DAY_MS;
    report.daysFinished++;
  }
  // One cursor write per run: the first day not finished.
  if (next !== cursor?.atEpochMs) await rows.upsertIndex([{ ...RETENTION_CURSOR_KEYS, atEpochMs: next }]);
  return report;
}

/** Deletes one filed record (and its partition's other rows) if it is still closed and expired. */
async function purgeOne(
  rows: RecordRows,
  trackingId: string,
  cutoffEpochMs: number,
  options: PurgeOptions,
): Promise<PurgeOutcome> {
  const { record, keys } = await rows.readPartition(trackingId);
  const others = keys.filter((key) => key.rowKey !== RECORD_ROW_KEY);
  if (!record) {
    await rows.deleteRows(others);
    return 'dropped';
  }
  if (isOpenWork(record)) return 'dropped';
  if (record.updatedAtEpochMs >= cutoffEpochMs) {
    await rows.upsertIndex([finalEntryOf(trackingId, record.updatedAtEpochMs)]);
    return 'refiled';
  }
  const deleted = await rows.deleteRowIfMatch({ partition: trackingId, rowKey: RECORD_ROW_KEY }, record.etag);
  if (!deleted) return 'changed';
  await rows.deleteRows(others);
  await options.onDeleted?.(record);
  return 'deleted';
}
