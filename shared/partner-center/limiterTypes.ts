/** The adaptive limiter's vocabulary: what an answer tells it, its options, its view of other instances. */

/** What one answer tells the limiter. */
export const CallSignal = {
  /** Partner Center processed the call (2xx, or a 4xx other than 429): it counted against the limit. */
  Accepted: 'accepted',
  /** 429, or 503 with Retry-After. */
  Throttled: 'throttled',
  /** No answer, or a server error without Retry-After: says nothing about the limit. */
  Neutral: 'neutral',
} as const;
export type CallSignal = (typeof CallSignal)[keyof typeof CallSignal];

/** The limiter's reading of one answer. */
export interface CallFeedback {
  signal: CallSignal;
  /** The answer's Retry-After, in ms. */
  retryAfterMs?: number;
}

/** A hold shared by the instances of one tenant (see throttleGate.ts); reads must be cheap and synchronous. */
export interface SharedThrottleHold {
  /** The latest hold end known (epoch ms; 0: none). May refresh itself in the background. */
  holdUntilEpochMs(): number;
  /** Tells the other instances that calls are held until `holdUntilEpochMs`. */
  publish(holdUntilEpochMs: number): void;
}

/**
 * What an instance got accepted in the one window the tenant's instances share after a throttle event
 * (see tenantRate.ts): all instances measure their shares over the same span.
 */
export interface TenantShareView {
  /** The start of this instance's throttled call the view answers (its throttle event). */
  forThrottledStartMs: number;
  /**
   * `first`: read `settleMs` after the event, sets the share; `second`: the same rows read again later
   * (`secondViewDelayMs`), with every instance's late answers in: may only raise the share (tenantShareViews.ts).
   */
  read: 'first' | 'second';
  /** End of the shared window: the earliest throttled start of the burst among the instances. */
  windowEndMs: number;
  /** This instance's accepted calls in the shared window, per second. */
  ownAcceptedPerSecond: number;
  /** Of those, the calls that started after the window's end but reached the server before it was full (logs). */
  ownOvertakingCalls: number;
  /**
   * This instance's share of the limit: the tenant's accepted calls in the shared window, less those of
   * the instances not throttled in the burst, split equally among the throttled ones; per second.
   */
  ownSharePerSecond: number;
  /** Every live instance's accepted calls in the shared window, per second (logs). */
  tenantAcceptedPerSecond: number;
  /** Live instances in the view, this one included. */
  instances: number;
  /** Of those, the instances throttled in the same burst (this one included). */
  throttledInstances: number;
}

/** Tenant-wide shares of the limit through a store shared by the instances (tenantRate.ts); calls are cheap and synchronous. */
export interface TenantRateShare {
  /** An accepted call of this instance, by its start time; called when its answer arrives (the answer's time counts). */
  noteAccepted(startedAtMs: number): void;
  /** A throttle event of this instance (the throttled call's start); a first view and a second follow, or nothing on failure. */
  noteThrottleEvent(throttledStartMs: number): void;
  /** Where the views go (the limiter registers itself). */
  onView(listener: (view: TenantShareView) => void): void;
}

/** The limiter's state, for metrics and benchmarks. */
export interface AdaptiveLimiterSnapshot {
  /** Calls allowed in flight now (integer, 1..ceiling). */
  concurrencyLimit: number;
  /** Paced call starts per second; null while unpaced. */
  ratePerSecond: number | null;
  inFlight: number;
  waiting: number;
  /** Epoch ms until which calls are held (0: none). */
  holdUntilEpochMs: number;
  /** Throttle events so far (bursts, not single 429s). */
  throttleEvents: number;
}

/** Options of {@link AdaptiveConcurrencyLimiter}. */
export interface AdaptiveLimiterOptions {
  /** Most calls in flight (PARTNER_CENTER_CONCURRENCY). */
  ceiling: number;
  /** false: a fixed semaphore of `ceiling` (no hold, no pacing). @default true */
  adaptive?: boolean;
  /** Hold applied on a 429 without Retry-After. @default 1000 */
  defaultRetryAfterMs?: number;
  /** Shortest window over which the accepted rate is measured before a throttled call. @default 1000 */
  windowMs?: number;
  /**
   * Longest window of that measurement: the accepted rate is averaged over the time since calls last
   * resumed after a hold, up to this (one-second counts are too coarse at a few calls per second). @default 5000
   */
  longWindowMs?: number;
  /** Share of the learned rate kept free after a throttle event. @default 0.02 */
  safetyMargin?: number;
  /** Rate regained per second, as a share of the learned rate, up to the margin. @default 0.5 */
  recoveryPerSecond?: number;
  /** First probing slope above the margin, as a share of the current rate per second (capped at 25 %). @default 0.0005 */
  probePerSecond?: number;
  /** The probing slope doubles every this many ms of unthrottled probing. @default 10000 */
  probeDoublingMs?: number;
  /**
   * Once a probe has found the limit (crossed it after probing for at least `probeDoublingMs` above a rate
   * that held), the next probe starts at this share of `probePerSecond`: each crossing costs a hold
   * (≈ 1 s against a fixed window), so a limit already found is probed again less often (≈ 36 s instead of
   * ≈ 20 s per crossing with the defaults). Any other throttle event restores the full slope. @default 0.25
   */
  foundLimitProbeFactor?: number;
  /**
   * A pace set from a tenant view (see `tenantRate`: the instances' shares of ONE window, summing to what
   * the tenant got accepted) is probed at this share of `probePerSecond`. Against a window the instances
   * share, a crossing throttles every instance at once (the whole tenant holds ≈ 1 s), and the instances,
   * probing the same shares from the same event, cross together. At 1/16 a crossing comes ≈ 55 s after
   * the event, just inside `paceTtlMs` (60 s), which re-measures the tenant anyway: the probe finds a limit
   * raised by a few per cent no later than that; a share another instance freed (it went idle) is found
   * when the pace expires (a doubled share would take ≈ 106 s at this slope, ≈ 86 s at
   * `foundLimitProbeFactor`: the 60 s TTL comes first either way). @default 0.0625
   */
  tenantLimitProbeFactor?: number;
  /**
   * A paced event in which the instances were throttled together, pacing at a tenant share they had not
   * probed above, keeps that share once when its view is at most this share below it (start-to-arrival
   * jitter: the view undercounts by a call or two; see tenantShareViews.ts); a view further below is a
   * lower limit, split at once. 0: only a view at the share keeps it. @default 0.15
   */
  keptShareTolerance?: number;
  /** A paced instance's rate falls at most to this share of its rate per throttle event. @default 0.8 */
  leastDecreaseFactor?: number;
  /** Lowest paced rate. @default 0.5 */
  minRatePerSecond?: number;
  /**
   * A pace is forgotten (calls go unpaced again) after this long without a throttle event: a tenant's limit
   * is dynamic, and a pace learned in a storm must not outlive it by minutes (probing alone regains a low
   * pace that slowly). The cost is at most one throttle event (one hold) per this period. @default 60000
   */
  paceTtlMs?: number;
  /**
   * A pace reached only by halving in throttle events where nothing was accepted (a storm: an outage of the
   * budget, not a measured limit) is forgotten after this shorter time, so an instance does not crawl at the
   * lowest pace for a whole `paceTtlMs` after the storm ends. @default min(30000, paceTtlMs)
   */
  stormPaceTtlMs?: number;
  /**
   * While paced, at most ceil(rate) calls start in ANY span of `windowMs` + this (a sliding window on top
   * of the spacing). Spacing alone lets a late start and the on-time ones after it bunch: against a fixed
   * window opened by the late call, ceil(rate) + 1 calls arrive in it and the last one is throttled (one
   * hold, ≈ 1 s of budget). The extra ms absorb jitter between a call's start and its arrival. @default 25
   */
  windowGuardMs?: number;
  /** Called after each throttle event and each relearned pace (logs, benchmarks). */
  onAdjust?: (reason: 'throttled' | 'paced', snapshot: AdaptiveLimiterSnapshot) => void;
  /** Starting pace, when known; undefined: unpaced until the first throttle event. */
  initialRatePerSecond?: number;
  /** Hold shared with the other instances. */
  sharedHold?: SharedThrottleHold;
  /**
   * Tenant-wide shares (PARTNER_CENTER_RATE_SHARING=table): a pace learned from an unpaced burst, or from
   * an event in which other instances were throttled too, is replaced by this instance's share of what the
   * tenant got accepted in the ONE window the instances share (see {@link TenantShareView.ownSharePerSecond}),
   * less the margin, so the paces of instances that learn from the same burst sum to what the tenant got
   * accepted, not more; that limit counts as found (probed at `tenantLimitProbeFactor`). An instance none of
   * whose calls got through in the burst takes its share too (it would stay unpaced otherwise), and one
   * event of the instance alone, or of the instances together with a view within `keptShareTolerance`,
   * does not lower a share it had not probed above (jitter, not the limit).
   * Without a view (a lone instance, a storage failure) the local pace stands.
   */
  tenantRate?: TenantRateShare;
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}
