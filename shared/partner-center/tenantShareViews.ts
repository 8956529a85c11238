/**
 * Which tenant views (tenantRate.ts) set the adaptive limiter's pace, and at what share: the limiter's side
 * of the tenant-wide shares, apart from the rest of its pacing (learnedPace.ts).
 *
 * Up to two views answer one throttle event. The FIRST (read `settleMs` after the event) sets the share
 * after an unpaced event, or after a paced one in which other instances were throttled too. The SECOND
 * (read `secondViewDelayMs` after the event) reads the same rows again once every instance's late-answer
 * publish is surely in: an instance whose event comes more than `settleMs − publishDelayMs` after ours (or
 * a host too busy to write in time) publishes its burst's late answers after our first read, which then
 * undercounts the window [inferred: not seen in the bench runs so far, where every row read at `settleMs`
 * already held its second publish, and the second read never counted more; see also shareOfWindow in
 * tenantWindow.ts]. The second view may only RAISE the share the first set, over the same window: it never
 * lowers a share, never sets one where the first set none (a lone instance, a storm, a probe crossing),
 * and never touches a hold.
 *
 * A paced event in which the instances were throttled together while pacing at a tenant share they had
 * not probed above keeps that share, once (as one event of an instance alone does, learnedPace.ts):
 * their paces summed to what the tenant got in one window, so it is start-to-arrival jitter (seen right
 * after both resumed from a hold, hosts busy), and the view of such an event undercounts by a call or two:
 * the server's window opens at its first arrival, so its oldest calls can start just over `windowMs`
 * before the throttled one [inferred] (18–19 of 20 counted in three of six two-instance runs, both paced at
 * 8.8–9.3/s instead of 9.8/s until the pace TTL). Only when the view is at most `keptShareTolerance`
 * below the share (more is a lower limit, split at once); a second such event is split from its view.
 */
import type { TenantShareView } from './limiterTypes';

/** What a view does to the limiter's pace. */
export interface TenantShareDecision {
  /** The share to pace at (less the margin), per second. */
  sharePerSecond: number;
  /** true: a second view's correction: the pace only rises to it (it never lowers the pace). */
  raiseOnly: boolean;
  /** true: the share kept through a jitter event (see the module comment): the next such event is split. */
  kept: boolean;
}

interface AwaitedEvent {
  throttledStartMs: number;
  /** The event found the instance paced: a view counts only when other instances were throttled too. */
  wasPaced: boolean;
  /** The learned rate when the event came: a paced share never exceeds the rate just throttled. */
  learnedRatePerSecond: number;
  /** The tenant share the event keeps (the module comment); undefined: none. */
  keptSharePerSecond: number | undefined;
  firstViewSeen: boolean;
  /** What the first view set (undefined: it set nothing; the second view then changes nothing either). */
  set?: { sharePerSecond: number; windowEndMs: number; tenantAcceptedPerSecond: number; throttledInstances: number };
}

/** The views awaited for the instance's last throttle event; see the module comment. */
export class TenantShareViews {
  readonly #keptShareTolerance: number;
  #event: AwaitedEvent | undefined;

  /** `keptShareTolerance`: the limiter option of that name (limiterTypes.ts). */
  constructor(options: { keptShareTolerance: number }) {
    this.#keptShareTolerance = options.keptShareTolerance;
  }

  /**
   * A throttle event of the instance (its throttled call's start): views of earlier events are ignored
   * from now. `keptSharePerSecond`: the tenant share it paced at, not probed above and not kept before.
   */
  expectViewsFor(
    throttledStartMs: number,
    wasPaced: boolean,
    learnedRatePerSecond: number,
    keptSharePerSecond?: number,
  ): void {
    this.#event = { throttledStartMs, wasPaced, learnedRatePerSecond, keptSharePerSecond, firstViewSeen: false };
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
    const viewShare = this.#shareOf(event, view);
    const keptShare = event.wasPaced ? event.keptSharePerSecond : undefined;
    const kept = keptShare !== undefined && viewShare >= keptShare * (1 - this.#keptShareTolerance);
    const sharePerSecond = kept ? Math.max(viewShare, keptShare) : viewShare;
    event.set = {
      sharePerSecond,
      windowEndMs: view.windowEndMs,
      tenantAcceptedPerSecond: view.tenantAcceptedPerSecond,
      throttledInstances: view.throttledInstances,
    };
    return { sharePerSecond, raiseOnly: false, kept };
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
    return { sharePerSecond, raiseOnly: true, kept: false };
  }

  /**
   * One call more or less in the shared window is 5 % at 20/s: a paced share is capped at the rate the
   * instance was throttled at (the window can hold one call of the next server window).
   */
  #shareOf(event: AwaitedEvent, view: TenantShareView): number {
    return event.wasPaced ? Math.min(view.ownSharePerSecond, event.learnedRatePerSecond) : view.ownSharePerSecond;
  }
}
