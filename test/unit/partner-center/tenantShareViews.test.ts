/**
 * The tenant view's completeness: a second read of the rows raises a share the first read undercounted (a
 * late publish of the other instance), never lowers one and never paces a storm; calls that started after
 * the throttled one but reached the server before it count in the shared window.
 */
import { AdaptiveConcurrencyLimiter } from '../../../shared/partner-center/adaptiveConcurrency';
import { CallSignal, type CallFeedback } from '../../../shared/partner-center/limiterTypes';
import { TableTenantRate, TENANT_RATE_PARTITION } from '../../../shared/partner-center/tenantRate';
import { encodeStarts, shareOfWindow } from '../../../shared/partner-center/tenantWindow';
import { FakeClock, MemoryRateTable, settle } from './adaptiveHelpers';

const accepted: CallFeedback = { signal: CallSignal.Accepted };
const throttled: CallFeedback = { signal: CallSignal.Throttled, retryAfterMs: 1000 };

/** Instance A: a real limiter with its tenant rate on the memory table. */
function instanceA(clock: FakeClock, table: MemoryRateTable) {
  const tenantRate = new TableTenantRate({ table, instanceId: 'a', nowMs: clock.now, sleep: clock.sleep });
  const limiter = new AdaptiveConcurrencyLimiter({ ceiling: 16, nowMs: clock.now, sleep: clock.sleep, tenantRate });
  return { tenantRate, limiter };
}

/** Instance B's row, as B would publish it at `atEpochMs` (B itself is not run). */
function writeRowB(table: MemoryRateTable, atEpochMs: number, acceptedStartsMs: number[], throttledStartMs: number) {
  table.rows.set('instance-b', {
    partitionKey: TENANT_RATE_PARTITION,
    rowKey: 'instance-b',
    acceptedStarts: encodeStarts(acceptedStartsMs),
    throttledStartMs,
    atEpochMs,
  });
}

/** Starts a call on `limiter`, answered when the test says. */
function call(limiter: AdaptiveConcurrencyLimiter) {
  let answer!: (feedback: CallFeedback) => void;
  const answered = new Promise<CallFeedback>((resolve) => (answer = resolve));
  const done = limiter.run(
    () => answered,
    (feedback) => feedback,
  );
  return { answer, done };
}

/** Ten calls of `limiter`, started `everyMs` apart from 0 ms, each answered at once and accepted. */
async function acceptedCallsEvery(clock: FakeClock, limiter: AdaptiveConcurrencyLimiter, everyMs: number) {
  for (let i = 0; i < 10; i++) {
    await clock.advance(i * everyMs - clock.nowMs);
    const c = call(limiter);
    await settle();
    c.answer(accepted);
    await c.done;
  }
}

/**
 * A, unpaced, gets 10 calls accepted at 0, 100, … 900 ms and is throttled at 1000 ms (its event); one more
 * call waits for the hold end (2000 ms). B's row says B was throttled at 990 ms too.
 */
async function aThrottledAfterTenCalls(clock: FakeClock, a: ReturnType<typeof instanceA>) {
  await acceptedCallsEvery(clock, a.limiter, 100);
  await clock.advance(1000 - clock.nowMs);
  const c = call(a.limiter);
  await settle();
  c.answer(throttled);
  await c.done;
  const waiting = call(a.limiter);
  return waiting;
}

const tenStartsOfB = [50, 150, 250, 350, 450, 550, 650, 750, 850, 950];

describe('the second tenant view', () => {
  it('raises a share the first view undercounted (the other instance published its late answers after the first read)', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instanceA(clock, table);
    // At A's first read (1700 ms) B's row holds 4 of its calls; its late answers land at 1800 ms.
    writeRowB(table, 1000, [50, 350, 650, 950], 990);
    const waiting = await aThrottledAfterTenCalls(clock, a);
    await clock.advance(1750 - clock.nowMs);
    // (10 + 4) / 2 = 7 each, paced at 0.98 × 7 at the hold end.
    writeRowB(table, 1800, tenStartsOfB, 990);
    await clock.advance(2200 - clock.nowMs);
    waiting.answer(accepted);
    await waiting.done;
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(7 * 0.98, 5);
    // The second view (1500 ms after the event) sees (10 + 10) / 2 = 10: the share rises.
    await clock.advance(3000 - clock.nowMs);
    expect(a.tenantRate.stats().views).toBe(2);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(10 * 0.98, 5);
  });

  it('never lowers the share of the first view, even when it sees more calls', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instanceA(clock, table);
    writeRowB(table, 1000, tenStartsOfB, 990);
    const waiting = await aThrottledAfterTenCalls(clock, a);
    await clock.advance(1750 - clock.nowMs);
    // By the second read a third instance, throttled in the same burst with 2 calls, has published: (10 +
    // 10 + 2) / 3 = 7.3 each, lower than the first view's 10.
    table.rows.set('instance-c', {
      partitionKey: TENANT_RATE_PARTITION,
      rowKey: 'instance-c',
      acceptedStarts: encodeStarts([400, 800]),
      throttledStartMs: 995,
      atEpochMs: 1800,
    });
    await clock.advance(2200 - clock.nowMs);
    waiting.answer(accepted);
    await waiting.done;
    await clock.advance(3000 - clock.nowMs);
    expect(a.tenantRate.stats().views).toBe(2);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(10 * 0.98, 5);
  });

  it('leaves a storm unpaced: a second view with calls accepted later sets no share the first did not', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instanceA(clock, table);
    writeRowB(table, 0, [], 5);
    // Every call of A's burst is throttled, and B (throttled in it too) has nothing accepted: no share at
    // the first read.
    const burst = Array.from({ length: 4 }, () => call(a.limiter));
    await settle();
    for (const c of burst) c.answer(throttled);
    await Promise.all(burst.map((c) => c.done));
    await clock.advance(800);
    writeRowB(table, 800, [-500, -300], 5); // calls B got through before the burst, published late: 1/s each
    const waiting = call(a.limiter);
    await clock.advance(3000 - clock.nowMs);
    waiting.answer(accepted);
    await waiting.done;
    expect(a.tenantRate.stats().views).toBe(2);
    expect(a.limiter.snapshot().ratePerSecond).toBeNull();
  });
});

describe('calls that overtook the throttled one', () => {
  it('count in the shared window when they were answered before the first 429 (they reached the server first)', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instanceA(clock, table);
    writeRowB(table, 500, [50, 150, 250, 350, 450, 550, 650, 750, 850], 505);
    // A's burst: 10 calls accepted at 0 … 450 ms; then X starts at 500 ms and Y at 510 ms; Y is answered
    // (accepted) at 520 ms, X (429) at 600 ms: Y reached the server before X, in the window X found full.
    await acceptedCallsEvery(clock, a.limiter, 50);
    await clock.advance(500 - clock.nowMs);
    const x = call(a.limiter);
    await clock.advance(10);
    const y = call(a.limiter);
    await clock.advance(10);
    y.answer(accepted);
    await y.done;
    await clock.advance(80);
    x.answer(throttled);
    await x.done;
    const waiting = call(a.limiter);
    await clock.advance(2000);
    waiting.answer(accepted);
    await waiting.done;
    // The window ends at 500 ms (A's throttled start): A's 10 + Y + B's 5 in (−500, 500] = 16 … B's row
    // has no answer times (counted by start): 10 + 1 + 5 = 16, 8 each; by start alone it would be 7.5.
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(8 * 0.98, 5);
  });

  it('are not counted when answered after the first 429 of the burst (the next server window)', () => {
    const view = shareOfWindow({
      ownAcceptedStartsMs: [100, 300, 500, 700, 1010],
      ownAcceptedAnswersMs: [200, 400, 600, 800, 1090],
      ownThrottledStartMs: 1000,
      ownThrottledAnsweredAtMs: 1100,
      others: [
        {
          // Throttled in the same burst; of its calls after the window's end (1000 ms), the one answered
          // at 1080 ms (before A's 429 at 1100 ms) counts, those answered at 1150 and 1210 ms do not.
          acceptedStartsMs: [200, 600, 1010, 1020, 1030],
          acceptedAnswersMs: [300, 700, 1080, 1150, 1210],
          throttledStartMs: 1050,
          throttledAnsweredAtMs: 1200,
        },
      ],
      windowMs: 1000,
      sameBurstMs: 1000,
    });
    expect(view).toMatchObject({
      windowEndMs: 1000,
      ownAcceptedPerSecond: 5,
      ownOvertakingCalls: 1,
      tenantAcceptedPerSecond: 5 + 3,
      ownSharePerSecond: 4,
    });
  });
});
