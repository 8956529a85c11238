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
 * The limiter is the gate (queue, hold, calls in flight, the paced slots); the pace is learnedPace.ts,
 * the logs of call starts (accepted ones, the sliding window) callLog.ts.
 *
 * The defaults are tuned on the sandbox simulator (a fixed one-second window counting every request,
 * rejected ones too); how Partner Center itself counts is not documented [inferred], so they are options.
 */
import { StartWindow } from './callLog';
import { LearnedPace } from './learnedPace';
import {
  type AdaptiveLimiterOptions,
  type AdaptiveLimiterSnapshot,
  type CallFeedback,
  CallSignal,
  type SharedThrottleHold,
  type TenantRateShare,
} from './limiterTypes';

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
  readonly #onAdjust?: AdaptiveLimiterOptions['onAdjust'];
  /** The learned rate the starts are spaced at (learnedPace.ts). */
  readonly #pace: LearnedPace;
  readonly #queue: Waiter[] = [];
  #inFlight = 0;
  #limit: number;
  #nextStartAtMs = 0;
  #holdUntilMs = 0;
  /** Calls started so far; calls numbered up to `#burstEndsAtStart` belong to the last throttle event. */
  #startCount = 0;
  #burstEndsAtStart = 0;
  /** The calls started in the last `windowMs + windowGuardMs` (paced only). */
  readonly #startWindow: StartWindow;
  #timerArmed = false;
  #throttleEvents = 0;

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
    this.#onAdjust = options.onAdjust;
    this.#limit = this.ceiling;
    this.#startWindow = new StartWindow(this.#o);
    // Not adaptive: never paced (the starting pace is ignored).
    this.#pace = new LearnedPace({
      ...this.#o,
      initialRatePerSecond: this.adaptive ? options.initialRatePerSecond : undefined,
    });
    this.#tenantRate?.onView((view) => {
      if (!this.#pace.onTenantView(view)) return;
      this.#onAdjust?.('paced', this.snapshot());
      this.#pump();
    });
  }

  /** Calls now in flight. */
  get active(): number {
    return this.#inFlight;
  }

  /** The current state (metrics, benchmarks, tests). */
  snapshot(): AdaptiveLimiterSnapshot {
    return {
      concurrencyLimit: this.#effectiveLimit(),
      ratePerSecond: this.#pace.snapshotRate(),
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
      this.#pace.noteAccepted(startedAtMs);
      this.#tenantRate?.noteAccepted(startedAtMs);
      this.#limit = Math.min(this.ceiling, this.#limit + 1 / this.#limit);
      return;
    }
    if (feedback.signal !== CallSignal.Throttled) return;
    this.#pace.noteThrottledAnswer(now);
    const holdUntilMs = now + Math.max(0, feedback.retryAfterMs ?? this.#o.defaultRetryAfterMs);
    if (holdUntilMs > this.#holdUntilMs) {
      this.#holdUntilMs = holdUntilMs;
      this.#shared?.publish(holdUntilMs);
    }
    if (startNumber <= this.#burstEndsAtStart) return; // started before the last decrease: same burst
    this.#throttleEvents++;
    this.#burstEndsAtStart = this.#startCount;
    this.#limit = Math.max(1, Math.floor(this.#effectiveLimit() / 2));
    this.#pace.onThrottleEvent(startedAtMs); // relearned at the hold end (LearnedPace.atHoldEnd)
    this.#tenantRate?.noteThrottleEvent(startedAtMs);
    this.#onAdjust?.('throttled', this.snapshot());
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      const now = this.#o.nowMs();
      if (this.adaptive) {
        const holdUntilMs = this.#currentHoldUntilMs();
        if (now < holdUntilMs) return this.#wakeAfter(holdUntilMs - now);
        if (this.#pace.atHoldEnd(now)) {
          this.#nextStartAtMs = now;
          this.#onAdjust?.('paced', this.snapshot());
        } else if (this.#pace.forgetIfExpired(now)) {
          this.#onAdjust?.('paced', this.snapshot());
        }
      }
      if (this.#inFlight >= this.#effectiveLimit()) {
        this.#pace.pauseProbe(); // bound by the limit, not the pace
        return;
      }
      if (now < this.#nextStartAtMs) return this.#wakeAfter(this.#nextStartAtMs - now);
      const windowFreeAtMs = this.#windowFreeAtMs(now);
      if (now < windowFreeAtMs) return this.#wakeAfter(windowFreeAtMs - now);
      const waiter = this.#queue.shift()!;
      this.#inFlight++;
      if (this.adaptive) {
        this.#pace.probe(now, this.#queue.length > 0);
        const spacingMs = this.#pace.spacingMs();
        if (spacingMs !== undefined) {
          // From the slot's own time when it is at most one slot late (a timer fired late: the pace holds
          // over time), from now when calls were idle (no burst of saved-up slots).
          const slotMs = now - this.#nextStartAtMs < spacingMs ? this.#nextStartAtMs : now;
          this.#nextStartAtMs = slotMs + spacingMs;
          this.#startWindow.note(now);
        }
      }
      waiter.start();
    }
  }

  /** When the sliding window admits one more start (see `windowGuardMs`); `now` when it does already. */
  #windowFreeAtMs(now: number): number {
    return this.#startWindow.freeAtMs(now, this.adaptive ? this.#pace.ratePerSecond : Number.POSITIVE_INFINITY);
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
