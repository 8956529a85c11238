/**
 * The arithmetic of a tenant-wide share (tenantRate.ts keeps the rows, this reads them): the ONE window
 * that ends at the tenant's earliest throttled call of a burst, each instance's share of what the tenant
 * got accepted in it, and the compact encoding of a row's call times.
 */
import type { TenantShareView } from './limiterTypes';

/** One instance's row as {@link shareOfWindow} reads it. */
export interface RateRowReading {
  acceptedStartsMs: readonly number[];
  throttledStartMs: number;
  /** When each accepted call was answered (the same order); none: no call counts as overtaking. */
  acceptedAnswersMs?: readonly number[];
  /** When the throttled call was answered. */
  throttledAnsweredAtMs?: number;
}

/** Inputs of {@link shareOfWindow}. */
export interface ShareOfWindowInput {
  ownAcceptedStartsMs: readonly number[];
  ownThrottledStartMs: number;
  ownAcceptedAnswersMs?: readonly number[];
  ownThrottledAnsweredAtMs?: number;
  others: readonly RateRowReading[];
  windowMs: number;
  sameBurstMs: number;
}

/**
 * The window that ends at the tenant's earliest throttled start of the burst (ours, or another instance's
 * within `sameBurstMs` of ours) and this instance's share of it: what the tenant got accepted in
 * (end − windowMs, end], less what the instances NOT throttled in the burst got (they took what they
 * needed), split equally among the throttled ones (each had more calls than it got through).
 *
 * Accepted calls that started after the window's end but were answered before the burst's first 429
 * answer (of any throttled instance) count in the window too: start order is not arrival order (calls
 * started within a few ms reach the server in any order), and answers come back in arrival order, so such
 * a call reached the server before the window was full [inferred: same latency for every answer]. Seen
 * in a start burst of two instances (one such call: 20 of 20 counted instead of 19); a start burst that
 * counted 16 of 20 (both paced at 8/s until the pace TTL) is not explained by it or by late publishes [I].
 * Rows without answer times count by start alone.
 */
export function shareOfWindow(input: ShareOfWindowInput): Omit<TenantShareView, 'read'> {
  const inBurst = (t: number) => t > 0 && Math.abs(t - input.ownThrottledStartMs) <= input.sameBurstMs;
  let endMs = input.ownThrottledStartMs;
  for (const other of input.others)
    if (inBurst(other.throttledStartMs)) endMs = Math.min(endMs, other.throttledStartMs);
  let firstThrottledAnswerMs = input.ownThrottledAnsweredAtMs ?? Number.POSITIVE_INFINITY;
  for (const other of input.others)
    if (inBurst(other.throttledStartMs) && other.throttledAnsweredAtMs !== undefined)
      firstThrottledAnswerMs = Math.min(firstThrottledAnswerMs, other.throttledAnsweredAtMs);
  const inWindow = (t: number) => t > endMs - input.windowMs && t <= endMs;
  /** Accepted calls in the window by start, and the overtaking ones (after its end, answered before the first 429). */
  const count = (starts: readonly number[], answers: readonly number[] | undefined) => {
    let byStart = 0;
    let overtaking = 0;
    starts.forEach((t, i) => {
      if (inWindow(t)) byStart++;
      else if (t > endMs && answers?.[i] !== undefined && answers[i] < firstThrottledAnswerMs) overtaking++;
    });
    return { total: byStart + overtaking, overtaking };
  };
  const own = count(input.ownAcceptedStartsMs, input.ownAcceptedAnswersMs);
  const ownAccepted = own.total;
  let tenantAccepted = ownAccepted;
  let unthrottledAccepted = 0;
  let throttledInstances = 1;
  for (const other of input.others) {
    const n = count(other.acceptedStartsMs, other.acceptedAnswersMs).total;
    tenantAccepted += n;
    if (inBurst(other.throttledStartMs)) throttledInstances++;
    else unthrottledAccepted += n;
  }
  const perSecond = 1000 / input.windowMs;
  return {
    forThrottledStartMs: input.ownThrottledStartMs,
    windowEndMs: endMs,
    ownAcceptedPerSecond: ownAccepted * perSecond,
    ownOvertakingCalls: own.overtaking,
    ownSharePerSecond: ((tenantAccepted - unthrottledAccepted) * perSecond) / throttledInstances,
    tenantAcceptedPerSecond: tenantAccepted * perSecond,
    instances: input.others.length + 1,
    throttledInstances,
  };
}

/** `first,delta,delta…` (ms): ≈ 3 characters per call instead of 13. */
export function encodeStarts(startsMs: readonly number[]): string {
  return startsMs.map((t, i) => (i === 0 ? Math.round(t) : Math.round(t) - Math.round(startsMs[i - 1]))).join(',');
}

/** The inverse of {@link encodeStarts}; malformed parts are skipped. */
export function decodeStarts(text: string): number[] {
  const out: number[] = [];
  let previous = 0;
  for (const part of text.split(',')) {
    const value = Number(part);
    if (part === '' || !Number.isFinite(value)) continue;
    previous = out.length === 0 ? value : previous + value;
    out.push(previous);
  }
  return out;
}
