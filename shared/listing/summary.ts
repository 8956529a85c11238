/**
 * The console's charts: referrals per creation day by outcome, Microsoft's answers and its response
 * times, computed from the index partitions of the last N days (N ≤ 31: one query per shard of a day, each pinned
 * to its PartitionKey; every entry of those days is read, see docs/console.md).
 */
import { INDEX_SHARDS } from '../tracking/openWork';
import { TrackingState } from '../tracking/states';
import { Decision, MAX_SUMMARY_DAYS, MICROSOFT_DECISION_WINDOW_DAYS } from './constants';
import { dayOf, previousDay, type IndexEntry } from './indexEntry';
import type { ReferralIndex } from './referralIndex';
import { mapBounded } from './listReferrals';

/** How a referral ended up, for the per-day chart. */
export const Outcome = {
  Completed: 'completed',
  Linked: 'linked',
  Rejected: 'rejected',
  Parked: 'parked',
  InProgress: 'inProgress',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** One day of the per-day chart. */
export interface SummaryDay {
  day: string;
  total: number;
  outcomes: Record<Outcome, number>;
}

/** The body of GET /api/console/summary. */
export interface ConsoleSummary {
  /** Oldest first. */
  days: SummaryDay[];
  /** Microsoft's answers to the co-sell requests of those days (Linked records). */
  answers: { accepted: number; declined: number; expired: number; waiting: number };
  /** Time from the Microsoft referral to Microsoft's answer, in whole-day buckets (the last: 14 days and more). */
  responseTimes: { count: number; medianHours?: number; histogram: Array<{ fromDays: number; count: number }> };
  generatedAt: string;
  cost: { partitions: number; entries: number };
}

/** Options of {@link summarise}. */
export interface SummaryOptions {
  index: ReferralIndex;
  days: number;
  nowMs?: () => number;
}

/** Computes the summary of the last `days` days (today included). */
export async function summarise(options: SummaryOptions): Promise<ConsoleSummary> {
  const nowMs = (options.nowMs ?? Date.now)();
  const dayList: string[] = [];
  for (let day = dayOf(nowMs); dayList.length < Math.min(options.days, MAX_SUMMARY_DAYS); day = previousDay(day)) {
    dayList.unshift(day);
  }
  const perDay = await mapBounded(dayList, 4, async (day) => {
    const entries: IndexEntry[] = [];
    for await (const page of options.index.queryDay({ day, pageSize: 1000 })) entries.push(...page);
    return { day, entries };
  });
  const answers = { accepted: 0, declined: 0, expired: 0, waiting: 0 };
  const responseHours: number[] = [];
  const histogram = Array.from({ length: MICROSOFT_DECISION_WINDOW_DAYS + 1 }, (_, fromDays) => ({
    fromDays,
    count: 0,
  }));
  let entriesRead = 0;
  const days = perDay.map(({ day, entries }) => {
    const outcomes: Record<Outcome, number> = { completed: 0, linked: 0, rejected: 0, parked: 0, inProgress: 0 };
    for (const entry of entries) {
      entriesRead++;
      outcomes[outcomeOf(entry)]++;
      if (entry.state !== TrackingState.Linked) continue;
      if (entry.decision === Decision.Accepted) answers.accepted++;
      else if (entry.decision === Decision.Declined) answers.declined++;
      else if (entry.decision === Decision.Expired) answers.expired++;
      else answers.waiting++;
      const askedAtEpochMs = askedAtOf(entry);
      if (entry.decision && entry.decision !== Decision.Pending && entry.decisionAtEpochMs && askedAtEpochMs) {
        const hours = Math.max(0, (entry.decisionAtEpochMs - askedAtEpochMs) / 3_600_000);
        responseHours.push(hours);
        histogram[Math.min(MICROSOFT_DECISION_WINDOW_DAYS, Math.floor(hours / 24))].count++;
      }
    }
    return { day, total: entries.length, outcomes };
  });
  responseHours.sort((a, b) => a - b);
  return {
    days,
    answers,
    responseTimes: {
      count: responseHours.length,
      ...(responseHours.length > 0 ? { medianHours: responseHours[Math.floor(responseHours.length / 2)] } : {}),
      histogram,
    },
    generatedAt: new Date(nowMs).toISOString(),
    cost: { partitions: dayList.length * INDEX_SHARDS, entries: entriesRead },
  };
}

/**
 * When Microsoft was asked: the Microsoft referral's creation (its deadline less the 14 days) when the
 * record holds the deadline, else the moment the record became Linked.
 */
function askedAtOf(entry: IndexEntry): number | undefined {
  if (entry.respondByEpochMs !== undefined) return entry.respondByEpochMs - MICROSOFT_DECISION_WINDOW_DAYS * 86_400_000;
  return entry.linkedAtEpochMs;
}

/** The chart's outcome of an entry. */
export function outcomeOf(entry: Pick<IndexEntry, 'state'>): Outcome {
  switch (entry.state) {
    case TrackingState.Completed:
      return Outcome.Completed;
    case TrackingState.Linked:
      return Outcome.Linked;
    case TrackingState.Rejected:
      return Outcome.Rejected;
    case TrackingState.AwaitingReauthorization:
      return Outcome.Parked;
    default:
      return Outcome.InProgress;
  }
}
