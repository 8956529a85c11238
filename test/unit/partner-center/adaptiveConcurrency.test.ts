import fc from 'fast-check';
import { AdaptiveConcurrencyLimiter } from '../../../shared/partner-center/adaptiveConcurrency';
import {
  CallSignal,
  type AdaptiveLimiterOptions,
  type CallFeedback,
} from '../../../shared/partner-center/limiterTypes';
import { feedbackOfAnswer } from '../../../shared/partner-center/callFeedback';
import { FakeClock, settle, type ControlledCall } from './adaptiveHelpers';

const accepted: CallFeedback = { signal: CallSignal.Accepted };
const throttled = (retryAfterMs?: number): CallFeedback => ({ signal: CallSignal.Throttled, retryAfterMs });

/** A limiter on a fake clock, and a way to start calls the test finishes by hand. */
function harness(options: Partial<AdaptiveLimiterOptions> = {}) {
  const clock = new FakeClock();
  const limiter = new AdaptiveConcurrencyLimiter({ ceiling: 4, nowMs: clock.now, sleep: clock.sleep, ...options });
  const starts: number[] = [];
  const call = (): ControlledCall<CallFeedback> => {
    let finish!: (result: CallFeedback) => void;
    const controlled: ControlledCall<CallFeedback> = {
      started: false,
      finish: (result) => finish(result),
      done: limiter.run(
        () =>
          new Promise<CallFeedback>((resolve) => {
            controlled.started = true;
            controlled.startedAtMs = clock.nowMs;
            starts.push(clock.nowMs);
            finish = resolve;
          }),
        (result) => result,
      ),
    };
    return controlled;
  };
  return { clock, limiter, call, starts };
}

/** Ten calls started 90 ms apart and accepted: the window before the next call holds a measured rate. */
async function acceptTenCallsOverASecond(h: Pick<ReturnType<typeof harness>, 'clock' | 'call'>): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const c = h.call();
    await settle();
    c.finish(accepted);
    await c.done;
    await h.clock.advance(90);
  }
}

describe('AdaptiveConcurrencyLimiter', () => {
  it("holds back the instance's other calls for a 429's Retry-After, not only the throttled one", async () => {
    const { clock, limiter, call } = harness();
    const first = call();
    await settle();
    first.finish(throttled(1000));
    await first.done;
    const others = [call(), call(), call()];
    await clock.advance(999);
    expect(others.map((c) => c.started)).toEqual([false, false, false]);
    expect(limiter.holdRemainingMs()).toBe(1);
    await clock.advance(1);
    expect(others[0].started).toBe(true);
  });

  it('holds calls queued before the 429 too, and counts a burst of 429s as one throttle event', async () => {
    const { clock, limiter, call } = harness({ ceiling: 4 });
    const inFlight = [call(), call(), call(), call()];
    const queued = call();
    await settle();
    expect(inFlight.every((c) => c.started)).toBe(true);
    for (const c of inFlight) c.finish(throttled(1000));
    await Promise.all(inFlight.map((c) => c.done));
    expect(queued.started).toBe(false);
    expect(limiter.snapshot()).toMatchObject({ throttleEvents: 1, concurrencyLimit: 2 });
    await clock.advance(1000);
    expect(queued.started).toBe(true);
  });

  it('paces starts after a throttle at the rate accepted in the window before it, less the margin', async () => {
    const { clock, limiter, call, starts } = harness({ ceiling: 16, safetyMargin: 0.05 });
    // 10 calls accepted over the last second, then the 11th is throttled.
    await acceptTenCallsOverASecond({ clock, call });
    const eleventh = call();
    await settle();
    eleventh.finish(throttled(1000));
    await eleventh.done;
    const waiting = Array.from({ length: 5 }, () => call());
    await clock.advance(1000);
    expect(limiter.snapshot().ratePerSecond).toBeCloseTo(9.5, 5);
    for (let i = 0; i < 5; i++) await clock.advance(106);
    expect(waiting.every((c) => c.started)).toBe(true);
    const gaps = starts.slice(-5).map((t, i, all) => (i === 0 ? 0 : t - all[i - 1]));
    expect(gaps.slice(1).every((gap) => gap >= 1000 / 9.5 - 1)).toBe(true);
  });

  it('forgets a pace learned in a storm once no call was throttled for paceTtlMs, and goes unpaced again', async () => {
    const { clock, limiter, call } = harness({ ceiling: 16, paceTtlMs: 30_000 });
    await acceptTenCallsOverASecond({ clock, call });
    const throttledCall = call();
    await settle();
    throttledCall.finish(throttled(1000));
    await throttledCall.done;
    const paced = call();
    await clock.advance(1000);
    await settle();
    paced.finish(accepted);
    await paced.done;
    expect(limiter.snapshot().ratePerSecond).not.toBeNull();
    await clock.advance(29_000); // 30 s after the throttled answer
    const burst = Array.from({ length: 4 }, () => call());
    await settle();
    expect(burst.every((c) => c.started)).toBe(true); // all at once: no pace spacing them any more
    expect(limiter.snapshot().ratePerSecond).toBeNull();
  });

  it('forgets a pace that only storms set (nothing accepted) after stormPaceTtlMs, a measured one after paceTtlMs', async () => {
    async function throttleOnce(h: ReturnType<typeof harness>) {
      const throttledCall = h.call();
      await settle();
      throttledCall.finish(throttled(1000));
      await throttledCall.done;
      const next = h.call(); // waits out the hold; the pace is learned when it ends
      await h.clock.advance(1000);
      await settle();
      next.finish(accepted);
      await next.done;
    }
    async function pacedByALimit() {
      const h = harness({ ceiling: 16, paceTtlMs: 60_000, stormPaceTtlMs: 30_000 });
      await acceptTenCallsOverASecond(h);
      await throttleOnce(h); // calls were accepted in the window before: a measurement of the tenant
      return h;
    }
    const measured = await pacedByALimit();
    expect(measured.limiter.snapshot().ratePerSecond).not.toBeNull();
    await measured.clock.advance(29_000); // 30 s after the throttled answer
    const measuredBurst = [measured.call(), measured.call()];
    await settle();
    expect(measuredBurst.every((c) => c.started)).toBe(false); // still paced: paceTtlMs is 60 s
    expect(measured.limiter.snapshot().ratePerSecond).not.toBeNull();

    // A storm: a pace exists, then a 429 with nothing accepted in the window before it, so the pace only
    // halves; 30 s after that answer the pace is forgotten although paceTtlMs is 60 s.
    const stormy = await pacedByALimit();
    await stormy.clock.advance(2000);
    await throttleOnce(stormy);
    expect(stormy.limiter.snapshot().ratePerSecond).not.toBeNull();
    await stormy.clock.advance(29_000);
    const stormBurst = [stormy.call(), stormy.call()];
    await settle();
    expect(stormBurst.every((c) => c.started)).toBe(true);
    expect(stormy.limiter.snapshot().ratePerSecond).toBeNull();
  });

  it('starts at most ceil(rate) calls in any window (plus the guard) even when one start comes late', async () => {
    // Prepare: a pace of 9.9/s (ceil: 10 per window); the timer of the second slot fires 40 ms late (a busy
    // event loop). Spacing alone would then start 11 calls within 1000 ms of the late one: a fixed window it
    // opened would throttle the 11th.
    const clock = new FakeClock();
    let sleeps = 0;
    const limiter = new AdaptiveConcurrencyLimiter({
      ceiling: 16,
      initialRatePerSecond: 9.9,
      paceTtlMs: Number.POSITIVE_INFINITY,
      nowMs: clock.now,
      sleep: (ms) => clock.sleep(sleeps++ === 0 ? ms + 40 : ms),
    });
    const starts: number[] = [];
    const calls = Array.from({ length: 30 }, () =>
      limiter.run(
        async () => {
          starts.push(clock.nowMs);
          return accepted;
        },
        (result) => result,
      ),
    );

    // Act
    for (let i = 0; i < 40; i++) await clock.advance(100);
    await Promise.all(calls);

    // Assess
    expect(starts[1]).toBeGreaterThan(1000 / 9.9 + 30);
    const mostInAnyWindow = Math.max(
      ...starts.map((from) => starts.filter((t) => t >= from && t < from + 1025).length),
    );
    expect(mostInAnyWindow).toBe(10);
    expect(starts[29]).toBeLessThan(3400); // the pace itself still holds: 30 calls in about 3 s
  });

  it('never halves the pace more than once per event, nor below the minimum', async () => {
    const { clock, limiter, call } = harness({ initialRatePerSecond: 20, minRatePerSecond: 2 });
    const lonely = call();
    await settle();
    lonely.finish(throttled(500)); // nothing accepted in the window: halve, not zero
    await lonely.done;
    const next = call();
    await clock.advance(500);
    expect(next.started).toBe(true);
    expect(limiter.snapshot().ratePerSecond).toBe(10);
  });

  it('lowers a pace it could not keep by at most a fifth per throttle event', async () => {
    const { clock, limiter, call } = harness({ initialRatePerSecond: 20 });
    for (let i = 0; i < 5; i++) {
      // 5 accepted in 2 s: far below the pace of 20/s (the instance was slow, or its starts bunched).
      const c = call();
      await settle();
      c.finish(accepted);
      await c.done;
      await clock.advance(400);
    }
    const throttledCall = call();
    await settle();
    throttledCall.finish(throttled(1000));
    await throttledCall.done;
    const next = call();
    await clock.advance(1000);
    expect(next.started).toBe(true);
    expect(limiter.snapshot().ratePerSecond).toBe(16);
  });

  it('stays unpaced when nothing was accepted before its first throttle (nothing to learn from)', async () => {
    const { clock, limiter, call } = harness();
    const lonely = call();
    await settle();
    lonely.finish(throttled(1000));
    await lonely.done;
    const [next, after] = [call(), call()];
    await clock.advance(1000);
    expect([next.started, after.started]).toEqual([true, true]);
    expect(limiter.snapshot()).toMatchObject({ ratePerSecond: null, concurrencyLimit: 2 });
  });

  it('regains its pace while calls wait and nothing is throttled, probing above the learned rate', async () => {
    // Probing alone: the pace is never forgotten here (paceTtlMs has its own test).
    const { clock, limiter, call } = harness({
      ceiling: 16,
      initialRatePerSecond: 10,
      safetyMargin: 0.03,
      paceTtlMs: Number.POSITIVE_INFINITY,
    });
    const backlog = Array.from({ length: 1200 }, () => call());
    const finishStarted = () => backlog.filter((c) => c.started).forEach((c) => c.finish(accepted));
    const rates: number[] = [];
    for (let second = 0; second < 60; second++) {
      for (let tick = 0; tick < 10; tick++) {
        await clock.advance(100);
        finishStarted();
      }
      rates.push(limiter.snapshot().ratePerSecond ?? 0);
    }
    expect(rates[9]).toBeGreaterThan(10);
    expect(rates[9]).toBeLessThan(10.2); // slowly at first: under 2 % in ten seconds
    expect(rates[59]).toBeGreaterThan(13); // then faster: a share another instance freed is found again
    expect(rates.every((rate, i) => i === 0 || rate >= rates[i - 1])).toBe(true);
  });

  it('returns to the learned rate less the margin after a probe crossed the limit, and probes that limit more gently', async () => {
    // Prepare: a learned pace of 10/s held for 15 s of probing, but one call in ten got no answer (the
    // instance did not keep its pace: the average accepted undercounts what the tenant allows)
    const { clock, limiter, call } = harness({
      ceiling: 16,
      initialRatePerSecond: 10,
      safetyMargin: 0.02,
      paceTtlMs: Number.POSITIVE_INFINITY,
    });
    const backlog = Array.from({ length: 400 }, () => call());
    let finished = 0;
    const finishStarted = (last?: CallFeedback) =>
      backlog
        .filter((c) => c.started)
        .forEach((c) => {
          (c as { settled?: boolean }).settled ??= (() => {
            finished++;
            c.finish(last ?? (finished % 10 === 0 ? { signal: CallSignal.Neutral } : accepted));
            return true;
          })();
        });
    for (let tick = 0; tick < 150; tick++) {
      await clock.advance(100);
      finishStarted();
    }
    const probedRate = limiter.snapshot().ratePerSecond ?? 0;

    // Act: the next call is throttled (the probe crossed the limit); the hold ends
    await clock.advance(100);
    finishStarted(throttled(1000));
    await clock.advance(1000);

    // Assess: back to 10 × 0.98, not to the undercounted average (≈ 9 × 0.98)
    expect(probedRate).toBeGreaterThan(10);
    expect(limiter.snapshot().ratePerSecond).toBeCloseTo(9.8, 5);

    // And the limit it found is probed again more gently: a quarter of the first climb in the same 15 s
    for (let tick = 0; tick < 150; tick++) {
      await clock.advance(100);
      finishStarted();
    }
    const firstClimb = probedRate / 10 - 1;
    const secondClimb = (limiter.snapshot().ratePerSecond ?? 0) / 9.8 - 1;
    expect(secondClimb).toBeGreaterThan(0);
    expect(secondClimb).toBeLessThan(firstClimb * 0.3);
  });

  it('raises the in-flight limit additively after a decrease, up to the ceiling', async () => {
    const { clock, limiter, call } = harness({ ceiling: 4 });
    const burst = [call(), call(), call(), call()];
    await settle();
    burst.forEach((c) => c.finish(throttled(0)));
    await Promise.all(burst.map((c) => c.done));
    expect(limiter.snapshot().concurrencyLimit).toBe(2);
    for (let round = 0; round < 20; round++) {
      const wave = Array.from({ length: 4 }, () => call());
      while (!wave.every((c) => c.started)) {
        await clock.advance(2000);
        wave.filter((c) => c.started).forEach((c) => c.finish(accepted));
      }
      await Promise.all(wave.map((c) => c.done));
    }
    expect(limiter.snapshot().concurrencyLimit).toBe(4);
  });

  it('is a fixed semaphore of the ceiling when adaptation is off: a 429 holds nothing back', async () => {
    const { limiter, call } = harness({ ceiling: 2, adaptive: false });
    const [a, b, c] = [call(), call(), call()];
    await settle();
    expect([a.started, b.started, c.started]).toEqual([true, true, false]);
    a.finish(throttled(5000));
    await a.done;
    await settle();
    expect(c.started).toBe(true);
    expect(limiter.holdRemainingMs()).toBe(0);
    expect(limiter.snapshot()).toMatchObject({ concurrencyLimit: 2, ratePerSecond: null, throttleEvents: 0 });
  });

  it('starts no call beyond the current limit, nor beyond the ceiling, nor during a hold (property)', async () => {
    const step = fc.record({
      arrivals: fc.integer({ min: 0, max: 6 }),
      advanceMs: fc.integer({ min: 0, max: 400 }),
      outcomes: fc.array(
        fc.oneof(
          fc.constant<CallFeedback>(accepted),
          fc.constant<CallFeedback>({ signal: CallSignal.Neutral }),
          fc.integer({ min: 0, max: 2000 }).map((ms) => throttled(ms)),
        ),
        { maxLength: 6 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(step, { maxLength: 25 }), async (ceiling, steps) => {
        const clock = new FakeClock();
        const limiter = new AdaptiveConcurrencyLimiter({ ceiling, nowMs: clock.now, sleep: clock.sleep });
        const running: Array<(f: CallFeedback) => void> = [];
        const violations: string[] = [];
        const all: Array<Promise<unknown>> = [];
        let holdUntilMs = 0;
        for (const { arrivals, advanceMs, outcomes } of steps) {
          for (let i = 0; i < arrivals; i++) {
            all.push(
              limiter.run(
                () =>
                  new Promise<CallFeedback>((resolve) => {
                    const { inFlight, concurrencyLimit } = limiter.snapshot();
                    if (inFlight > concurrencyLimit)
                      violations.push(`${inFlight} in flight > limit ${concurrencyLimit}`);
                    if (inFlight > ceiling) violations.push(`${inFlight} in flight > ceiling ${ceiling}`);
                    if (clock.nowMs < holdUntilMs) violations.push(`started at ${clock.nowMs} during a hold`);
                    running.push(resolve);
                  }),
                (f) => f,
              ),
            );
          }
          await settle();
          for (const outcome of outcomes) {
            const finish = running.shift();
            if (!finish) break;
            finish(outcome);
            await settle(2);
            holdUntilMs = Math.max(holdUntilMs, limiter.snapshot().holdUntilEpochMs);
          }
          await clock.advance(advanceMs);
        }
        while (running.length > 0 || limiter.snapshot().waiting > 0) {
          running.splice(0).forEach((finish) => finish(accepted));
          await clock.advance(3000);
        }
        await Promise.all(all);
        expect(violations).toEqual([]);
      }),
      { numRuns: 60, seed: 15 },
    );
  });
});

describe('feedbackOfAnswer', () => {
  it.each([
    { answer: { status: 201, retryAfter: null }, signal: CallSignal.Accepted },
    { answer: { status: 400, retryAfter: null }, signal: CallSignal.Accepted },
    { answer: { status: 429, retryAfter: '2' }, signal: CallSignal.Throttled, retryAfterMs: 2000 },
    { answer: { status: 429, retryAfter: null }, signal: CallSignal.Throttled },
    { answer: { status: 503, retryAfter: '1' }, signal: CallSignal.Throttled, retryAfterMs: 1000 },
    { answer: { status: 503, retryAfter: null }, signal: CallSignal.Neutral },
    { answer: { status: 500, retryAfter: null }, signal: CallSignal.Neutral },
  ])('reads $answer.status (Retry-After $answer.retryAfter) as $signal', ({ answer, signal, retryAfterMs }) => {
    const feedback = feedbackOfAnswer(answer);
    expect(feedback.signal).toBe(signal);
    if (retryAfterMs !== undefined) expect(feedback.retryAfterMs).toBe(retryAfterMs);
  });

  it('reads a call that got no answer as neutral', () => {
    expect(feedbackOfAnswer(new Error('socket hang up')).signal).toBe(CallSignal.Neutral);
  });
});
