/**
 * The adaptive limiter's pace (adaptiveConcurrency.ts): the rate, in calls per second, at which its call
 * starts are spaced, learned from throttle events and probed upward while calls wait for their turn.
 *
 * Unknown at first (unpaced). After a throttle event it is the rate the instance got ACCEPTED in the
 * window before the throttled call, less a safety margin (multiplicative decrease, never below
 * `leastDecreaseFactor` × the previous rate), learned when the hold ends (by then the answers of that
 * window are in); with tenant-wide shares, a tenant view may set it instead (tenantShareViews.ts). While
 * calls wait for their paced slot and nothing is throttled, the rate creeps back: quickly up to the
 * margin, then probing above it, slowly at first and doubling its slope every `probeDoublingMs`. A pace
 * is forgotten after `paceTtlMs` (`stormPaceTtlMs` for one learned in a storm) without a throttled answer.
 *
 * The limiter keeps the gate (queue, hold, calls in flight, the slots) and tells the pace what happened:
 * accepted calls ({@link LearnedPace.noteAccepted}), throttled answers and events, the hold's end, whether
 * calls waited for their slot ({@link LearnedPace.probe}); it reads the spacing back. Options are the
 * limiter's of the same names (limiterTypes.ts), defaults resolved by the limiter.
 */
import { AcceptedStarts } from './callLog';
import type { AdaptiveLimiterOptions, TenantShareView } from './limiterTypes';
import { TenantShareViews } from './tenantShareViews';

/** The limiter options the pace reads (defaults resolved), and the starting pace (undefined: unpaced). */
export type LearnedPaceOptions = Required<
  Pick<
    AdaptiveLimiterOptions,
    | 'windowMs'
    | 'longWindowMs'
    | 'safetyMargin'
    | 'recoveryPerSecond'
    | 'probePerSecond'
    | 'probeDoublingMs'
    | 'foundLimitProbeFactor'
    | 'tenantLimitProbeFactor'
    | 'keptShareTolerance'
    | 'leastDecreaseFactor'
    | 'minRatePerSecond'
    | 'paceTtlMs'
    | 'stormPaceTtlMs'
    | 'nowMs'
  >
> &
  Pick<AdaptiveLimiterOptions, 'initialRatePerSecond'>;

/** One instance's learned pace; see the module comment. */
export class LearnedPace {
  readonly #o: LearnedPaceOptions;
  /** Start times of accepted calls (what the rate is learned from). */
  readonly #acceptedStarts: AcceptedStarts;
  /** Which tenant views of the last throttle event set the pace (tenantShareViews.ts). */
  readonly #tenantViews: TenantShareViews;
  /** A tenant share (per second) that arrived before the hold ended. */
  #pendingShare: number | undefined;
  /** That share is one kept through a jitter event (tenantShareViews.ts). */
  #pendingShareKept = false;
  /** When calls last resumed after a hold (the start of the long measurement window). */
  #resumedAtMs = Number.NEGATIVE_INFINITY;
  #rate: number;
  /** The rate learned at the last throttle event (0: none yet). */
  #learnedRate = 0;
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
  /** When the last throttled answer arrived (the pace's age is counted from it). */
  #lastThrottleAtMs = Number.NEGATIVE_INFINITY;
  /** The pace came from halving in events where nothing was accepted (a storm, not a limit): see stormPaceTtlMs. */
  #paceFromStorm = false;

  /** See {@link LearnedPaceOptions}. A given starting pace ages from now (`nowMs`). */
  constructor(options: LearnedPaceOptions) {
    this.#o = options;
    this.#acceptedStarts = new AcceptedStarts({ keepMs: 2 * Math.max(options.windowMs, options.longWindowMs) });
    this.#tenantViews = new TenantShareViews({ keptShareTolerance: options.keptShareTolerance });
    this.#rate = options.initialRatePerSecond ?? Number.POSITIVE_INFINITY;
    this.#learnedRate = Number.isFinite(this.#rate) ? this.#rate : 0;
    if (Number.isFinite(this.#rate)) this.#lastThrottleAtMs = options.nowMs(); // a given pace ages from now
  }

  /** Paced call starts per second; infinite while unpaced. */
  get ratePerSecond(): number {
    return this.#rate;
  }

  /** The rate for a snapshot: null while unpaced. */
  snapshotRate(): number | null {
    return Number.isFinite(this.#rate) ? this.#rate : null;
  }

  /** Ms between paced call starts; undefined while unpaced. */
  spacingMs(): number | undefined {
    return Number.isFinite(this.#rate) ? 1000 / this.#rate : undefined;
  }

  /** An accepted call, by its start time (called when its answer arrives). */
  noteAccepted(startedAtMs: number): void {
    this.#acceptedStarts.note(startedAtMs);
  }

  /** A throttled answer arrived at `nowMs` (of a new event or not): the pace ages from it. */
  noteThrottledAnswer(nowMs: number): void {
    this.#lastThrottleAtMs = nowMs;
  }

  /**
   * A new throttle event (not a call of the last event's burst), by the throttled call's start: the rate
   * is relearned from it at the hold end ({@link LearnedPace.atHoldEnd}), and the tenant views answering
   * it are awaited.
   */
  onThrottleEvent(throttledStartMs: number): void {
    this.#pendingLearnAtMs = throttledStartMs;
    // Probing for a while above a learned rate that held: the limit lies above that rate (it was accepted
    // for longer than a doubling period), so the relearned pace need not fall below it. Likewise, once, for
    // a pace set from a tenant view that had not probed above its share: the instances' paces sum to what
    // the tenant got in one window, so this event is start-to-arrival jitter against the server's window
    // (seen in the first seconds, hosts busy), and relearning from the short average since resuming would
    // leave the instance a call a second under its share for the rest of the pace's life. Were both
    // instances over the limit, the view splits again; a second event of this instance alone is relearned.
    const probedForMs = this.#probingSinceMs === undefined ? 0 : throttledStartMs - this.#probingSinceMs;
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
      throttledStartMs,
      Number.isFinite(this.#rate),
      this.#learnedRate,
      keepsTenantShare && this.#learnedRate > 0 ? this.#learnedRate : undefined,
    );
    this.#pendingShare = undefined;
    this.#pendingShareKept = false;
  }

  /**
   * The hold is over and calls wait (`nowMs`): relearns the rate of the last throttle event, if one is
   * pending, and applies a tenant share that came during the hold. true: relearned (calls resume now).
   */
  atHoldEnd(nowMs: number): boolean {
    if (this.#pendingLearnAtMs === undefined) return false;
    this.#learn(this.#pendingLearnAtMs, this.#pendingProbeFloor);
    this.#limitFound = this.#pendingProbeFloor !== undefined;
    this.#limitFoundTenantWide = false;
    if (this.#pendingShare !== undefined) this.#applyShare(this.#pendingShare, false, this.#pendingShareKept);
    this.#pendingShare = undefined;
    this.#pendingShareKept = false;
    this.#pendingLearnAtMs = undefined;
    this.#pendingProbeFloor = undefined;
    this.#resumedAtMs = nowMs;
    return true;
  }

  /**
   * Forgets a pace `paceTtlMs` (`stormPaceTtlMs`: one learned in a storm) after the last throttled
   * answer: calls go unpaced again. true: forgotten now.
   */
  forgetIfExpired(nowMs: number): boolean {
    if (
      !Number.isFinite(this.#rate) ||
      nowMs - this.#lastThrottleAtMs < (this.#paceFromStorm ? this.#o.stormPaceTtlMs : this.#o.paceTtlMs)
    )
      return false;
    this.#paceFromStorm = false;
    this.#rate = Number.POSITIVE_INFINITY; // the storm it was learned in is over: probe the tenant afresh
    this.#learnedRate = 0;
    this.#limitFound = false;
    this.#limitFoundTenantWide = false;
    this.#probingSinceMs = undefined;
    this.#lastProbeAtMs = undefined;
    return true;
  }

  /**
   * A call started at `nowMs`; `waiting`: others still wait for their paced slot (demand above the rate),
   * so the rate is raised for the time they waited. Otherwise probing pauses (see {@link LearnedPace.pauseProbe}).
   */
  probe(nowMs: number, waiting: boolean): void {
    if (waiting) this.#probe(nowMs);
    else this.pauseProbe();
  }

  /** Calls are not waiting on the pace (none waits, or the in-flight limit binds): that time is not probed. */
  pauseProbe(): void {
    this.#lastProbeAtMs = undefined;
  }

  /**
   * A tenant view for the last event: its share sets the pace (now, or at the hold end when the pace is
   * still to be learned) after an unpaced event, or after a paced one in which other instances were
   * throttled too (their paces summed above the limit: each relearning alone, with the decrease floor,
   * takes two or three more events). A paced event of this instance alone (a probe crossing) is learned
   * locally; views of a lone instance or of another event change nothing; a second view only raises the
   * share of the first (tenantShareViews.ts). true: the pace changed now (calls may start sooner).
   */
  onTenantView(view: TenantShareView): boolean {
    const decision = this.#tenantViews.decide(view);
    if (decision === undefined) return false;
    if (this.#pendingLearnAtMs !== undefined) {
      this.#pendingShare = Math.max(this.#pendingShare ?? 0, decision.sharePerSecond);
      this.#pendingShareKept ||= decision.kept;
      return false;
    }
    this.#applyShare(decision.sharePerSecond, decision.raiseOnly, decision.kept);
    return true;
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
      accepted = this.#acceptedStarts.count(throttledStartMs - spanMs, throttledStartMs);
      acceptedRate = (accepted * 1000) / spanMs;
    } else {
      // Unpaced: the fullest window of the last two. The server's window is not ours, and under load our
      // start times drift from its arrival times: the last window alone can undercount it by a third.
      accepted = this.#acceptedStarts.fullestWindow(throttledStartMs, this.#o.windowMs);
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
}
