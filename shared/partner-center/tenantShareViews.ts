/**
 * Which tenant views (tenantRate.ts) set the adaptive limiter's pace, and at what share: the limiter's side
 * of the tenant-wide shares, apart from its pacing (adaptiveConcurrency.ts).
 *
 * Up to two views answer one throttle event. The FIRST (read `settleMs` after the event) sets the share
 * after an unpaced event, or after a paced one in which other instances were throttled too. The SECOND
 * (read `secondViewDelayMs` after the event) reads the same rows again once every instance's late-answer
 * publish is surely in: an instance whose event comes more than `settleMs − publishDelayMs` after ours (or
 * a host too busy to write in time) publishes its burst's late answers after our first read, which then
 * undercounts the window [inferred: not seen in the bench runs so far, where every row read at `settleMs`
 * already held its second publish; the undercount seen there came from start order, see shareOfWindow in
 * tenantRate.ts]. The second view may only RAISE the share the first set, over the same window: it never
 * lowers a share, never sets one where the first set none (a lone instance, a storm, a probe crossing),
 * and never touches a hold.
 */
import type { TenantShareView } from './limiterTypes';

/** What a view does to the limiter's pace. */
export interface TenantShareDecision {
  /** The share to pace at (less the margin), per second. */
  sharePerSecond: number;
  /** true: a second view's correction: the pace only rises to it (it never lowers the pace). */
  raiseOnly: boolean;
}

interface AwaitedEvent {
  throttledStartMs: number;
  /** The event found the instance paced: a view counts only when other instances were throttled too. */
  wasPaced: boolean;
  /** The learned rate when the event came: a paced share never exceeds the rate just throttled. */
  learnedRatePerSecond: number;
  firstViewSeen: boolean;
  /** What the first view set (undefined: it set nothing; the second view then changes nothing either). */
  set?: { sharePerSecond: number; windowEndMs: number; tenantAcceptedPerSecond: number; throttledInstances: number };
}

/** The views awaited for the instance's last throttle event; see the module comment. */
export class TenantShareViews {
  #event: AwaitedEvent | undefined;

  /** A throttle event of the instance (its throttled call's start): views of earlier events are ignored from now. */
  expectViewsFor(throttledStartMs: number, wasPaced: boolean, learnedRatePerSecond: number): void {
    this.#event = { throttledStartMs, wasPaced, learnedRatePerSecond, firstViewSeen: false };
  }

  /** The share a view sets; undefined: it changes nothing. */
  decide(view: TenantShareView): TenantShareDecision | undefined {
    const event = this.#event;
    if (event === undefined || view.forThrottledStartMs !== event.throttledStartMs) return undefined;
    return view.read === 'first' ? this.#first(event, view) : this.#second(event, view);
  }

  #first(event: AwaitedEvent, view: TenantShareView): TenantShareDecision | undefined {
    if (event.firstViewSeen) return undefined;
    event.firstViewSeen = true;
    if (view.instances < 2 || view.ownSharePerSecond <= 0) return undefined;
    if (event.wasPaced && view.throttledInstances < 2) return undefined;
    const sharePerSecond = this.#shareOf(event, view);
    event.set = {
      sharePerSecond,
      windowEndMs: view.windowEndMs,
      tenantAcceptedPerSecond: view.tenantAcceptedPerSecond,
      throttledInstances: view.throttledInstances,
    };
    return { sharePerSecond, raiseOnly: false };
  }

  #second(event: AwaitedEvent, view: TenantShareView): TenantShareDecision | undefined {
    const first = event.set;
    this.#event = undefined; // the last view of this event
    if (first === undefined || view.instances < 2) return undefined;
    // The same window (a different end: the rows changed in between, e.g. another instance's next event),
    // and more of it seen: more accepted calls, or more of the instances' throttled starts.
    if (view.windowEndMs !== first.windowEndMs || view.throttledInstances < first.throttledInstances) return undefined;
    const seesMore =
      view.tenantAcceptedPerSecond > first.tenantAcceptedPerSecond ||
      view.throttledInstances > first.throttledInstances;
    const sharePerSecond = this.#shareOf(event, view);
    if (!seesMore || sharePerSecond <= first.sharePerSecond) return undefined;
    return { sharePerSecond, raiseOnly: true };
  }

  /**
   * One call more or less in the shared window is 5 % at 20/s: a paced share is capped at the rate the
   * instance was throttled at (the window can hold one call of the next server window).
   */
  #shareOf(event: AwaitedEvent, view: TenantShareView): number {
    return event.wasPaced ? Math.min(view.ownSharePerSecond, event.learnedRatePerSecond) : view.ownSharePerSecond;
  }
}
