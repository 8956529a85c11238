/**
 * Throttle-aware admission of Partner Center calls: how many may be in flight and when the next may start.
 *
 * Three controls, all per instance (one client per process):
 *
 * - **Hold.** A 429 (or a 503 with `Retry-After`) holds back EVERY call of the instance until
 *   `now + Retry-After`, not only the throttled one: Partner Center counts immediate retries against the
 *   limit. The hold may also come from another instance through a {@link SharedThrottleHold}.
 * - **Pacing.** Call starts are spaced at a learned rate (calls per second). Unknown at first (unpaced);
 *   after a throttle event it is the rate the instance got ACCEPTED in the window before the throttled
 *   call, less a safety margin (multiplicative decrease, never below `leastDecreaseFactor` × the previous
 *   rate: an instance that could not keep its pace, or starts bunched on the way, undercounts), learned when
 *   the hold ends (by then the answers of that window are in). While calls wait for their turn and nothing
 *   is throttled, the rate creeps back: quickly up to the margin, then probing above it, slowly at first
 *   and doubling its slope every `probeDoublingMs` (so a share freed by another instance is found again).
 *   On top of the spacing, at most ceil(rate) calls start in any span of `windowMs` + `windowGuardMs`:
 *   a late start must not let ceil(rate) + 1 calls into one server window (see `windowGuardMs`).
 * - **In flight.** AIMD on the number of calls in flight: +1/limit per accepted answer, halved per
 *   throttle event, never above `ceiling` (PARTNER_CENTER_CONCURRENCY). With pacing it rarely binds: it
 *   caps the burst right after an event, and the calls in flight should latency rise.
 *
 * A throttle event is counted once per burst: a 429 of a call that started before the last decrease only
 * extends the hold. With `adaptive: false` the limiter is today's fixed semaphore of `ceiling` calls (no
 * hold, no pacing): the baseline of `npm run bench:throttle`.
 *
 * ```
 *  calls ─► FIFO queue ─► [hold over?] ─► [in flight < limit?] ─► [paced slot due?] ─► fetch
 *                              ▲                                                        │
 *                              └──── 429 / 503+Retry-After: hold, halve limit, relearn rate ◄─┘
 * ```
 *
 * The defaults are tuned on the sandbox simulator (a fixed one-second window counting every request,
 * rejected ones too); how Partner Center itself counts is not documented [inferred], so they are options.
 */
import {
  type AdaptiveLimiterOptions,
  type AdaptiveLimiterSnapshot,
  type CallFeedback,
  CallSignal,
  type SharedThrottleHold,
  type TenantRateShare,
  type TenantShareView,
} from './limiterTypes';
import { TenantShareViews } from './tenantShareViews';

interface Waiter {
  start: () => void;
}

/** See the module comment. `run` never rejects on its own; the task's own rejection passes through. */
export class AdaptiveConcurrencyLimiter {
  readonly ceiling: number;
  readonly adaptive: boolean;
  readonly #o: Required<
    Omit<
      AdaptiveLimiterOptions,
      'initialRatePerSecond' | 'sharedHold' | 'tenantRate' | 'adaptive' | 'ceiling' | 'onAdjust'
    >
  >;
  readonly #shared?: SharedThrottleHold;
  readonly #tenantRate?: TenantRateShare;
  /** Which tenant views of the last throttle event set the pace (tenantShareViews.ts). */
  readonly #tenantViews: TenantShareViews;
  /** A tenant share (per second) that arrived before the hold ended. */
  #pendingShare: number | undefined;
  /** That share is one kept through a jitter event (tenantShareViews.ts). */
  #pendingShareKept = false;
  readonly #onAdjust?: AdaptiveLimiterOptions['onAdjust'];
  /** When calls last resumed after a hold (the start of the long measurement window). */
  #resumedAtMs = Number.NEGATIVE_INFINITY;
  readonly #queue: Waiter[] = [];
  #inFlight = 0;
  #limit: number;
  #rate: number;
  /** The rate learned at the last throttle event (0: none yet). */
  #learnedRate = 0;
  #nextStartAtMs = 0;
  #holdUntilMs = 0;
  /** Calls started so far; calls numbered up to `#burstEndsAtStart` belong to the last throttle event. */
  #startCount = 0;
  #burstEndsAtStart = 0;
  /** Start time of the call whose throttle the rate is relearned from, at the hold end. */
  #pendingLearnAtMs: number | undefined;
  /** The learned rate before a probe crossed the limit (see #learn); undefined for other events. */
  #pendingProbeFloor: number | undefined;
  /** The last event was a probe that found the limit: probe gently (`foundLimitProbeFactor`). */
  #limitFound = false;
  /** The pace is a share of the tenant's window (a tenant view): probe more gently still (`tenantLimitProbeFactor`). */
  #limitFoundTenantWide = false;
  #lastProbeAtMs: number | undefined;
  #probingSinceMs: number | undefined;
  /** Start times of accepted calls, oldest first (pruned to two windows before the newest). */
  readonly #acceptedStartsMs: number[] = [];
  /** Start times of the calls started in the last `windowMs + windowGuardMs`, oldest first (paced only). */
  readonly #recentStartsMs: number[] = [];
  #timerArmed = false;
  /** When the last throttled answer arrived (the pace's age is counted from it). */
  #lastThrottleAtMs = Number.NEGATIVE_INFINITY;
  #throttleEvents = 0;
  /** The pace came from halving in events where nothing was accepted (a storm, not a limit): see stormPaceTtlMs. */
  #paceFromStorm = false;

  constructor(options: AdaptiveLimiterOptions) {
    if (!Number.isInteger(options.ceiling) || options.ceiling < 1)
      throw new RangeError('ceiling must be a positive integer');
    this.ceiling = options.ceiling;
    this.adaptive = options.adaptive ?? true;
    this.#o = {
      defaultRetryAfterMs: options.defaultRetryAfterMs ?? 1000,
      windowMs: options.windowMs ?? 1000,
      longWindowMs: options.longWindowMs ?? 5000,
      safetyMargin: options.safetyMargin ?? 0.02,
      recoveryPerSecond: options.recoveryPerSecond ?? 0.5,
      probePerSecond: options.probePerSecond ?? 0.0005,
      probeDoublingMs: options.probeDoublingMs ?? 10_000,
      foundLimitProbeFactor: options.foundLimitProbeFactor ?? 0.25,
      tenantLimitProbeFactor: options.tenantLimitProbeFactor ?? 0.0625,
      keptShareTolerance: options.keptShareTolerance ?? 0.15,
      leastDecreaseFactor: options.leastDecreaseFactor ?? 0.8,
      minRatePerSecond: options.minRatePerSecond ?? 0.5,
      paceTtlMs: options.paceTtlMs ?? 60_000,
      stormPaceTtlMs: options.stormPaceTtlMs ?? Math.min(30_000, options.paceTtlMs ?? 30_000),
      windowGuardMs: options.windowGuardMs ?? 25,
      nowMs: options.nowMs ?? Date.now,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
    this.#shared = this.adaptive ? options.sharedHold : undefined;
    this.#tenantRate = this.adaptive ? options.tenantRate : undefined;
    this.#tenantViews = new TenantShareViews({ keptShareTolerance: this.#o.keptShareTolerance });
    this.#tenantRate?.onView((view) => this.#onTenantView(view));
    this.#onAdjust = options.onAdjust;
    this.#limit = this.ceiling;
    this.#rate = this.adaptive ? (options.initialRatePerSecond ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
    this.#learnedRate = Number.isFinite(this.#rate) ? this.#rate : 0;
    if (Number.isFinite(this.#rate)) this.#lastThrottleAtMs = this.#o.nowMs(); // a given pace ages from now
  }

  /** Calls now in flight. */
  get active(): number {
    return this.#inFlight;
  }

  /** The current state (metrics, benchmarks, tests). */
  snapshot(): AdaptiveLimiterSnapshot {
    return {
      concurrencyLimit: this.#effectiveLimit(),
      ratePerSecond: Number.isFinite(this.#rate) ? this.#rate : null,
      inFlight: this.#inFlight,
      waiting: this.#queue.length,
      holdUntilEpochMs: this.#currentHoldUntilMs(),
      throttleEvents: this.#throttleEvents,
    };
  }

  /** Ms until the instance's hold ends (0: no hold): a retry of a throttled call waits at least this long. */
  holdRemainingMs(): number {
    return Math.max(0, this.#currentHoldUntilMs() - this.#o.nowMs());
  }

  /**
   * Runs `task` when the instance may start a call, then reads its result with `feedbackOf` (429s hold
   * every call back, accepted answers raise the limits). A task that rejects counts as neutral.
   */
  async run<T>(task: () => Promise<T>, feedbackOf: (result: T) => CallFeedback): Promise<T> {
    await new Promise<void>((resolve) => {
      this.#queue.push({ start: resolve });
      this.#pump();
    });
    const startedAtMs = this.#o.nowMs();
    const startNumber = ++this.#startCount;
    let feedback: CallFeedback = { signal: CallSignal.Neutral };
    try {
      const result = await task();
      feedback = feedbackOf(result);
      return result;
    } finally {
      this.#inFlight--;
      this.#observe(feedback, startedAtMs, startNumber);
      this.#pump();
    }
  }

  #effectiveLimit(): number {
    return Math.max(1, Math.min(this.ceiling, Math.floor(this.#limit)));
  }

  #currentHoldUntilMs(): number {
    return Math.max(this.#holdUntilMs, this.#shared?.holdUntilEpochMs() ?? 0);
  }

  #observe(feedback: CallFeedback, startedAtMs: number, startNumber: number): void {
    if (!this.adaptive) return;
    const now = this.#o.nowMs();
    if (feedback.signal === CallSignal.Accepted) {
      this.#acceptedStartsMs.push(startedAtMs);
      this.#pruneAccepted();
      this.#tenantRate?.noteAccepted(startedAtMs);
      this.#limit = Math.min(this.ceiling, this.#limit + 1 / this.#limit);
      return;
    }
    if (feedback.signal !== CallSignal.Throttled) return;
    this.#lastThrottleAtMs = now;
    const holdUntilMs = now + Math.max(0, feedback.retryAfterMs ?? this.#o.defaultRetryAfterMs);
    if (holdUntilMs > this.#holdUntilMs) {
      this.#holdUntilMs = holdUntilMs;
      this.#shared?.publish(holdUntilMs);
    }
    if (startNumber <= this.#burstEndsAtStart) return; // started before the last decrease: same burst
    this.#throttleEvents++;
    this.#burstEndsAtStart = this.#startCount;
    this.#limit = Math.max(1, Math.floor(this.#effectiveLimit() / 2));
    this.#pendingLearnAtMs = startedAtMs;
    // Probing for a while above a learned rate that held: the limit lies above that rate (it was accepted
    // for longer than a doubling period), so the relearned pace need not fall below it. Likewise, once, for
    // a pace set from a tenant view that had not probed above its share: the instances' paces sum to what
    // the tenant got in one window, so this event is start-to-arrival jitter against the server's window
    // (seen in the first seconds, hosts busy), and relearning from the short average since resuming would
    // leave the instance a call a second under its share for the rest of the pace's life. Were both
    // instances over the limit, the view splits again; a second event of this instance alone is relearned.
    const probedForMs = this.#probingSinceMs === undefined ? 0 : startedAtMs - this.#probingSinceMs;
    const keepsTenantShare = this.#limitFoundTenantWide && this.#rate <= this.#learnedRate;
    this.#pendingProbeFloor =
      Number.isFinite(this.#rate) &&
      this.#learnedRate > 0 &&
      (probedForMs >= this.#o.probeDoublingMs || keepsTenantShare)
        ? this.#learnedRate
        : undefined;
    this.#limitFoundTenantWide = false;
    this.#lastProbeAtMs = undefined;
    this.#probingSinceMs = undefined;
    this.#tenantViews.expectViewsFor(
      startedAtMs,
      Number.isFinite(this.#rate),
      this.#learnedRate,
      keepsTenantShare && this.#learnedRate > 0 ? this.#learnedRate : undefined,
    );
    this.#pendingShare = undefined;
    this.#pendingShareKept = false;
    this.#tenantRate?.noteThrottleEvent(startedAtMs);
    this.#onAdjust?.('throttled', this.snapshot());
  }

  /**
   * Sets the rate from what was accepted in the window before the throttled call (at the hold end). After
   * a probe crossed the limit (`floor`: the learned rate the probe started from) the average accepted
   * undercounts what the tenant allows whenever the instance did not keep its pace (a busy event loop): the
   * pace then returns to the floor less the margin, not lower.
   */
  #learn(throttledStartMs: number, floor: number | undefined): void {
    const previous = this.#rate;
    let accepted: number;
    let acceptedRate: number;
    if (Number.isFinite(previous)) {
      // Paced: the average since calls resumed (up to the long window; at least one window).
      const spanMs = Math.max(this.#o.windowMs, Math.min(this.#o.longWindowMs, throttledStartMs - this.#resumedAtMs));
      accepted = this.#countAccepted(throttledStartMs - spanMs, throttledStartMs);
      acceptedRate = (accepted * 1000) / spanMs;
    } else {
      // Unpaced: the fullest window of the last two. The server's window is not ours, and under load our
      // start times drift from its arrival times: the last window alone can undercount it by a third.
      accepted = 0;
      for (const endMs of this.#acceptedStartsMs) {
        if (endMs <= throttledStartMs - this.#o.windowMs || endMs > throttledStartMs) continue;
        accepted = Math.max(accepted, this.#countAccepted(endMs - this.#o.windowMs, endMs));
      }
      accepted = Math.max(accepted, this.#countAccepted(throttledStartMs - this.#o.windowMs, throttledStartMs));
      acceptedRate = (accepted * 1000) / this.#o.windowMs;
    }
    if (accepted === 0) {
      // Nothing to learn from (another client used the budget): halve a pace, stay unpaced otherwise.
      if (Number.isFinite(previous)) this.#rate = Math.max(this.#o.minRatePerSecond, previous / 2);
      this.#paceFromStorm = true;
      return;
    }
    if (floor !== undefined) acceptedRate = Math.max(acceptedRate, floor);
    let next = Math.max(this.#o.minRatePerSecond, acceptedRate * (1 - this.#o.safetyMargin));
    if (Number.isFinite(previous)) next = Math.min(previous, Math.max(next, previous * this.#o.leastDecreaseFactor));
    this.#rate = Math.max(this.#o.minRatePerSecond, next);
    this.#learnedRate = Math.max(this.#o.minRatePerSecond, acceptedRate);
    this.#paceFromStorm = false;
  }

  /**
   * A tenant view for the last event: its share sets the pace (now, or at the hold end when the pace is
   * still to be learned) after an unpaced event, or after a paced one in which other instances were
   * throttled too (their paces summed above the limit: each relearning alone, with the decrease floor,
   * takes two or three more events). A paced event of this instance alone (a probe crossing) is learned
   * locally; views of a lone instance or of another event change nothing; a second view only raises the
   * share of the first (tenantShareViews.ts).
   */
  #onTenantView(view: TenantShareView): void {
    const decision = this.#tenantViews.decide(view);
    if (decision === undefined) return;
    if (this.#pendingLearnAtMs !== undefined) {
      this.#pendingShare = Math.max(this.#pendingShare ?? 0, decision.sharePerSecond);
      this.#pendingShareKept ||= decision.kept;
      return;
    }
    this.#applyShare(decision.sharePerSecond, decision.raiseOnly, decision.kept);
    this.#onAdjust?.('paced', this.snapshot());
    this.#pump();
  }

  /**
   * Paces at the tenant share less the margin, a limit found; also when the local learning left the
   * instance unpaced (none of its calls got through in the burst: another instance had filled the window,
   * the view says how much it got). Unpaced, it would burst again at once and throttle both (one more
   * event). A view in which nothing got through has no share and never gets here (a storm stays unpaced).
   * `raiseOnly` (a second view's correction): neither the pace nor the learned rate goes down. `kept` (a
   * share kept through a jitter event): the next such event is split from its view, not kept again.
   */
  #applyShare(sharePerSecond: number, raiseOnly = false, kept = false): void {
    const learned = Math.max(this.#o.minRatePerSecond, sharePerSecond);
    const pace = Math.max(this.#o.minRatePerSecond, sharePerSecond * (1 - this.#o.safetyMargin));
    this.#paceFromStorm = false;
    this.#learnedRate = raiseOnly ? Math.max(this.#learnedRate, learned) : learned;
    this.#rate = raiseOnly ? Math.max(this.#rate, pace) : pace;
    this.#limitFound = true;
    this.#limitFoundTenantWide = !kept;
    this.#probingSinceMs = undefined;
    this.#lastProbeAtMs = undefined;
  }

  /** Accepted calls that started in (fromMs, toMs]. */
  #countAccepted(fromMs: number, toMs: number): number {
    let n = 0;
    for (const t of this.#acceptedStartsMs) if (t > fromMs && t <= toMs) n++;
    return n;
  }

  /** Raises the rate for the time calls waited for their paced slot (demand above the rate). */
  #probe(now: number): void {
    if (!Number.isFinite(this.#rate) || this.#learnedRate === 0) return;
    const since = this.#lastProbeAtMs;
    this.#lastProbeAtMs = now;
    if (since === undefined) return;
    const elapsedSeconds = Math.min(1, (now - since) / 1000);
    const target = this.#learnedRate * (1 - this.#o.safetyMargin);
    if (this.#rate < target) {
      this.#rate = Math.min(target, this.#rate + this.#learnedRate * this.#o.recoveryPerSecond * elapsedSeconds);
      return;
    }
    this.#probingSinceMs ??= now;
    const factor = this.#limitFoundTenantWide
      ? this.#o.tenantLimitProbeFactor
      : this.#limitFound
        ? this.#o.foundLimitProbeFactor
        : 1;
    const slope = this.#o.probePerSecond * factor;
    const share = slope * 2 ** ((now - this.#probingSinceMs) / this.#o.probeDoublingMs);
    this.#rate += this.#rate * Math.min(share, 0.25) * elapsedSeconds;
  }

  #pruneAccepted(): void {
    const newest = this.#acceptedStartsMs[this.#acceptedStartsMs.length - 1] ?? 0;
    const keepFrom = newest - 2 * Math.max(this.#o.windowMs, this.#o.longWindowMs);
    let drop = 0;
    while (drop < this.#acceptedStartsMs.length && this.#acceptedStartsMs[drop] < keepFrom) drop++;
    if (drop > 0) this.#acceptedStartsMs.splice(0, drop);
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const now = this.#o.nowMs();
      if (this.adaptive) {
        const holdUntilMs = this.#currentHoldUntilMs();
        if (now < holdUntilMs) return this.#wakeAfter(holdUntilMs - now);
        if (this.#pendingLearnAtMs !== undefined) {
          this.#learn(this.#pendingLearnAtMs, this.#pendingProbeFloor);
          this.#limitFound = this.#pendingProbeFloor !== undefined;
          this.#limitFoundTenantWide = false;
          if (this.#pendingShare !== undefined) this.#applyShare(this.#pendingShare, false, this.#pendingShareKept);
          this.#pendingShare = undefined;
          this.#pendingShareKept = false;
          this.#pendingLearnAtMs = undefined;
          this.#pendingProbeFloor = undefined;
          this.#nextStartAtMs = now;
          this.#resumedAtMs = now;
          this.#onAdjust?.('paced', this.snapshot());
        } else if (
          Number.isFinite(this.#rate) &&
          now - this.#lastThrottleAtMs >= (this.#paceFromStorm ? this.#o.stormPaceTtlMs : this.#o.paceTtlMs)
        ) {
          this.#paceFromStorm = false;
          this.#rate = Number.POSITIVE_INFINITY; // the storm it was learned in is over: probe the tenant afresh
          this.#learnedRate = 0;
          this.#limitFound = false;
          this.#limitFoundTenantWide = false;
          this.#probingSinceMs = undefined;
          this.#lastProbeAtMs = undefined;
          this.#onAdjust?.('paced', this.snapshot());
        }
      }
      if (this.#inFlight >= this.#effectiveLimit()) {
        this.#lastProbeAtMs = undefined; // bound by the limit, not the pace
        return;
      }
      if (now < this.#nextStartAtMs) return this.#wakeAfter(this.#nextStartAtMs - now);
      const windowFreeAtMs = this.#windowFreeAtMs(now);
      if (now < windowFreeAtMs) return this.#wakeAfter(windowFreeAtMs - now);
      const waiter = this.#queue.shift()!;
      this.#inFlight++;
      if (this.adaptive) {
        if (this.#queue.length > 0) this.#probe(now);
        else this.#lastProbeAtMs = undefined;
        if (Number.isFinite(this.#rate)) {
          // From the slot's own time when it is at most one slot late (a timer fired late: the pace holds
          // over time), from now when calls were idle (no burst of saved-up slots).
          const spacingMs = 1000 / this.#rate;
          const slotMs = now - this.#nextStartAtMs < spacingMs ? this.#nextStartAtMs : now;
          this.#nextStartAtMs = slotMs + spacingMs;
          this.#recentStartsMs.push(now);
        }
      }
      waiter.start();
    }
  }

  /** When the sliding window admits one more start (see `windowGuardMs`); `now` when it does already. */
  #windowFreeAtMs(now: number): number {
    if (!this.adaptive || !Number.isFinite(this.#rate)) {
      this.#recentStartsMs.length = 0;
      return now;
    }
    const spanMs = this.#o.windowMs + this.#o.windowGuardMs;
    let drop = 0;
    while (drop < this.#recentStartsMs.length && this.#recentStartsMs[drop] <= now - spanMs) drop++;
    if (drop > 0) this.#recentStartsMs.splice(0, drop);
    const mostPerWindow = Math.max(1, Math.ceil((this.#rate * this.#o.windowMs) / 1000 - 1e-9));
    const count = this.#recentStartsMs.length;
    return count < mostPerWindow ? now : this.#recentStartsMs[count - mostPerWindow] + spanMs;
  }

  #wakeAfter(ms: number): void {
    if (this.#timerArmed) return;
    this.#timerArmed = true;
    void this.#o.sleep(Math.max(1, Math.ceil(ms))).then(() => {
      this.#timerArmed = false;
      this.#pump();
    });
  }
}
