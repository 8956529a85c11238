/**
 * The list use case behind GET /api/referrals: walks the referral index's day partitions newest first,
 * each query pinned to one PartitionKey, up to `limit` entries and {@link MAX_PARTITIONS_PER_PAGE}
 * partitions, then reads each entry's tracking record by its key to build the page's views.
 *
 * ```
 * cursor(day D, after K) ─► query created-D (RowKey > K, filters) ─► entries … ─► limit reached: cursor(D, last)
 *                                     └─ partition done ─► created-(D−1) … ─► 31 partitions: cursor(D−31)
 *                                                                         └─ before the first day: no cursor
 * ```
 */
import type { TrackingRecord } from '../tracking/trackingRecord';
import { KeySource } from '../tracking/trackingRecord';
import { identifyRequest } from '../workflow/idempotency';
import { toTrackingView, type TrackingView } from '../workflow/trackingView';
import { MAX_PARTITIONS_PER_PAGE, RECORD_READ_CONCURRENCY, type Decision, type Direction } from './constants';
import { encodeCursor, type ListCursor } from './cursor';
import {
  dayOf,
  decisionOf,
  directionOf,
  partitionKeysOf,
  previousDay,
  projectionChanged,
  projectionOf,
  rowKeyOf,
  type IndexEntry,
} from './indexEntry';
import { projectionFilterOf, recordMatches } from './listFilters';
import type { ListQuery } from './listQuery';
import type { ReferralIndex } from './referralIndex';

/** One item of a page: the tracking view, with the list's own fields. */
export type ListItem = TrackingView & { direction: Direction; decision?: Decision };

/** What one page cost (answered as response headers; docs/console.md). */
export interface ListCost {
  /** Days walked (at most {@link MAX_PARTITIONS_PER_PAGE} a page). */
  days: number;
  /** Index partitions queried: each day's shard partitions. */
  partitions: number;
  entries: number;
  recordReads: number;
}

/** A page of the list. */
export interface ListPage {
  items: ListItem[];
  nextCursor: string | null;
  cost: ListCost;
}

/** Options of {@link ReferralLister}. */
export interface ReferralListerOptions {
  index: ReferralIndex;
  /** Point reads of tracking records. */
  records: { read(trackingId: string): Promise<TrackingRecord | undefined> };
  nowMs?: () => number;
}

/** Answers list queries from the index. */
export class ReferralLister {
  readonly #o: ReferralListerOptions;

  constructor(options: ReferralListerOptions) {
    this.#o = options;
  }

  /** One page; `selfUrlOf` builds each view's status URL. */
  async list(query: ListQuery, selfUrlOf: (trackingId: string) => string): Promise<ListPage> {
    const cost: ListCost = { days: 0, partitions: 0, entries: 0, recordReads: 0 };
    const direct = query.cursor ? undefined : await this.#directHit(query, cost);
    const walk = await this.#walk(query, query.limit - (direct ? 1 : 0), cost);
    const entries = walk.entries.filter((entry) => entry.trackingId !== direct?.trackingId);
    const records = await mapBounded(entries, RECORD_READ_CONCURRENCY, async (entry) => {
      cost.recordReads++;
      return { entry, record: await this.#o.records.read(entry.trackingId) };
    });
    const items: ListItem[] = direct ? [itemOf(direct, selfUrlOf)] : [];
    for (const { entry, record } of records) {
      // No record, or one created at another instant: an orphan entry (see indexedTrackingRecords.ts).
      if (!record || rowKeyOf(record.createdAtEpochMs, record.trackingId) !== entry.rowKey) continue;
      const projection = projectionOf(record);
      if (projectionChanged(entry, projection)) await this.#o.index.write(projection).catch(() => undefined); // read repair, best effort
      if (recordMatches(record, query.filters, entry)) items.push(itemOf(record, selfUrlOf));
    }
    return { items, nextCursor: walk.next ? encodeCursor(walk.next) : null, cost };
  }

  /** A record keyed by its externalReferenceId lives at a trackingId derived from it: one point read. */
  async #directHit(query: ListQuery, cost: ListCost): Promise<TrackingRecord | undefined> {
    const externalReferenceId = query.filters.externalReferenceId;
    if (externalReferenceId === undefined) return undefined;
    const { trackingId } = identifyRequest({ referral: { externalReferenceId } }, undefined);
    cost.recordReads++;
    const record = await this.#o.records.read(trackingId);
    if (!record || record.keySource !== KeySource.ExternalReferenceId) return undefined;
    return recordMatches(record, query.filters) ? record : undefined;
  }

  async #walk(
    query: ListQuery,
    wanted: number,
    cost: ListCost,
  ): Promise<{ entries: IndexEntry[]; next: ListCursor | undefined }> {
    const entries: IndexEntry[] = [];
    const firstDay = await this.#o.index.firstDay();
    let day = query.cursor?.day ?? dayOf((this.#o.nowMs ?? Date.now)());
    let after = query.cursor?.afterRowKey;
    const at = (d: string, k?: string): ListCursor => ({
      day: d,
      ...(k ? { afterRowKey: k } : {}),
      filterHash: query.filterHash,
    });
    if (firstDay === undefined) return { entries, next: undefined };
    const filter = projectionFilterOf(query.filters);
    for (;;) {
      if (day < firstDay) return { entries, next: undefined };
      if (entries.length >= wanted || cost.days >= MAX_PARTITIONS_PER_PAGE) return { entries, next: at(day, after) };
      cost.days++;
      cost.partitions += partitionKeysOf(day).length;
      const pages = this.#o.index.queryDay({
        day,
        ...(after ? { afterRowKey: after } : {}),
        ...(filter ? { filter } : {}),
        pageSize: wanted - entries.length,
      });
      for await (const page of pages) {
        for (const entry of page) {
          cost.entries++;
          entries.push(entry);
          if (entries.length >= wanted) return { entries, next: at(day, entry.rowKey) };
        }
      }
      day = previousDay(day);
      after = undefined;
    }
  }
}

function itemOf(record: TrackingRecord, selfUrlOf: (trackingId: string) => string): ListItem {
  const decision = decisionOf(record.microsoft?.decision);
  return {
    ...toTrackingView(record, selfUrlOf(record.trackingId)),
    direction: directionOf(record.direction),
    ...(decision ? { decision } : {}),
  };
}

/** Maps `items` with at most `concurrency` calls in flight, keeping the order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  concurrency: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
