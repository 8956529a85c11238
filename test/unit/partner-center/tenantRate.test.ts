/**
 * Tenant-wide shares through the table: instances that learn their pace from the same throttled burst take
 * their shares from one window, a lone instance and a storage failure keep the local pace, quiet instances
 * age out, and the table is written at most once per heartbeat.
 */
import fc from 'fast-check';
import { AdaptiveConcurrencyLimiter } from '../../../shared/partner-center/adaptiveConcurrency';
import {
  type AdaptiveLimiterOptions,
  CallSignal,
  type CallFeedback,
} from '../../../shared/partner-center/limiterTypes';
import { TableTenantRate, TENANT_RATE_PARTITION, type TenantRateRow } from '../../../shared/partner-center/tenantRate';
import { decodeStarts, encodeStarts, shareOfWindow } from '../../../shared/partner-center/tenantWindow';
import { createPartnerCenterLimiter } from '../../../shared/partner-center/throttleGate';
import { FakeClock, MemoryRateTable, settle } from './adaptiveHelpers';

const accepted: CallFeedback = { signal: CallSignal.Accepted };
const throttled: CallFeedback = { signal: CallSignal.Throttled, retryAfterMs: 1000 };

function instance(
  clock: FakeClock,
  table: MemoryRateTable,
  id: string,
  sharing = true,
  options: Partial<AdaptiveLimiterOptions> = {},
) {
  const tenantRate = new TableTenantRate({ table, instanceId: id, nowMs: clock.now, sleep: clock.sleep });
  const limiter = new AdaptiveConcurrencyLimiter({
    ceiling: 16,
    nowMs: clock.now,
    sleep: clock.sleep,
    ...options,
    ...(sharing ? { tenantRate } : {}),
  });
  return { tenantRate, limiter };
}

type Limiter = AdaptiveConcurrencyLimiter;

/**
 * Queues the script's calls at their times (ms); each answers at once with its feedback when the limiter
 * starts it (at once while unpaced, at its slot when paced).
 */
async function play(clock: FakeClock, script: Array<[number, Limiter, CallFeedback]>): Promise<void> {
  const calls: Array<Promise<unknown>> = [];
  for (const [atMs, limiter, feedback] of [...script].sort((a, b) => a[0] - b[0])) {
    await clock.advance(atMs - clock.nowMs);
    calls.push(
      limiter.run(
        async () => undefined,
        () => feedback,
      ),
    );
    await settle();
  }
  let done = false;
  void Promise.all(calls).then(() => (done = true));
  while (!done) await clock.advance(100);
}

/**
 * Two unpaced instances whose accepted calls interleave, out of phase: A at 0, 100, … 900 ms, B at 450,
 * 550, … 1350 ms; A's call at 1000 ms and B's at 1400 ms are throttled. Each alone learns 10/s (its own
 * fullest second): 19.6 together. One call each waits for the hold end, when the pace is learned.
 */
async function outOfPhaseBurst(clock: FakeClock, a: Limiter, b: Limiter): Promise<void> {
  const script: Array<[number, Limiter, CallFeedback]> = [];
  for (let i = 0; i < 10; i++) script.push([i * 100, a, accepted], [450 + i * 100, b, accepted]);
  script.push([1000, a, throttled], [1400, b, throttled]);
  await play(clock, script);
  const waiting = [a, b].map((limiter) =>
    limiter.run(
      async () => undefined,
      () => accepted,
    ),
  );
  await clock.advance(3000 - clock.nowMs);
  await Promise.all(waiting);
}

/** One more call of each limiter, past its hold end (`afterMs`): the pace each then keeps is what the event taught it. */
async function nextCallOfEach(clock: FakeClock, limiters: Limiter[], afterMs = 3000): Promise<void> {
  const next = limiters.map((limiter) =>
    limiter.run(
      async () => undefined,
      () => accepted,
    ),
  );
  await clock.advance(afterMs);
  await Promise.all(next);
}

describe('TableTenantRate', () => {
  it('gives instances throttled in the same burst equal shares of what the tenant got in ONE window', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a');
    const b = instance(clock, table, 'b');
    await outOfPhaseBurst(clock, a.limiter, b.limiter);
    // The window ends at the tenant's earliest throttled start (A's, 1000 ms): A got 9 accepted in
    // (0, 1000], B 6 (450 … 950): 15 for the tenant, 7.5 each, paced at 0.98 × 7.5 (14.7 together, not 19.6).
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(7.35, 5);
    expect(b.limiter.snapshot().ratePerSecond).toBeCloseTo(7.35, 5);
    expect(a.tenantRate.stats()).toMatchObject({ views: 2, failures: 0 }); // the first view, and the second (the same)
  });

  it('leaves each instance its local pace when sharing is off (the same burst: 9.8 each)', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a', false);
    const b = instance(clock, table, 'b', false);
    await outOfPhaseBurst(clock, a.limiter, b.limiter);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(9.8, 5);
    expect(b.limiter.snapshot().ratePerSecond).toBeCloseTo(9.8, 5);
    expect(table.writes + table.reads).toBe(0);
  });

  it('paces an instance that got nothing through in the burst at its share, instead of leaving it unpaced', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a');
    const b = instance(clock, table, 'b');
    // A fills the window (10 accepted in (0, 1000]); B's first call, at 950 ms, is throttled, then A's.
    const script: Array<[number, Limiter, CallFeedback]> = [];
    for (let i = 0; i < 10; i++) script.push([i * 90, a.limiter, accepted]);
    script.push([950, b.limiter, throttled], [1000, a.limiter, throttled]);
    await play(clock, script);
    const waiting = [a, b].map((x) =>
      x.limiter.run(
        async () => undefined,
        () => accepted,
      ),
    );
    await clock.advance(3000 - clock.nowMs);
    await Promise.all(waiting);
    // The window ends at B's throttled start (950 ms): A's 10 calls, 5 each. B learned nothing locally
    // (nothing of its own was accepted) and would stay unpaced, burst at the hold end and throttle both.
    expect(b.limiter.snapshot().ratePerSecond).toBeCloseTo(5 * 0.98, 5);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(5 * 0.98, 5);
  });

  it('keeps the local pace when the table fails, and calls go on', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    table.failing = true;
    const a = instance(clock, table, 'a');
    const b = instance(clock, table, 'b');
    await outOfPhaseBurst(clock, a.limiter, b.limiter);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(9.8, 5);
    expect(b.limiter.snapshot().ratePerSecond).toBeCloseTo(9.8, 5);
    expect(a.tenantRate.stats()).toMatchObject({ views: 0 });
    expect(a.tenantRate.stats().failures).toBeGreaterThan(0);
  });

  it('keeps the local pace of a lone instance, and ignores the rows of instances that went quiet', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    // A row of an instance last heard of long before the burst (beyond liveMs): not in the view.
    await clock.advance(10_000);
    table.rows.set('instance-gone', {
      partitionKey: TENANT_RATE_PARTITION,
      rowKey: 'instance-gone',
      acceptedStarts: encodeStarts([10_000, 10_001, 10_002]),
      throttledStartMs: 10_000,
      atEpochMs: 4_000,
    });
    const a = instance(clock, table, 'a');
    const script: Array<[number, Limiter, CallFeedback]> = [];
    for (let i = 0; i < 10; i++) script.push([10_000 + i * 100, a.limiter, accepted]);
    script.push([11_000, a.limiter, throttled]);
    await play(clock, script);
    await nextCallOfEach(clock, [a.limiter], 2000);
    // Local learning: 9 accepted in (10 000, 11 000] … the fullest second of the last two is 10: 9.8.
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(9.8, 5);
    expect(a.tenantRate.stats()).toMatchObject({ views: 2 }); // read twice, neither used
  });

  it('keeps a shared pace through one later event of this instance alone, then leaves it to the local learning', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a');
    const b = instance(clock, table, 'b');
    await outOfPhaseBurst(clock, a.limiter, b.limiter);
    const paced = a.limiter.snapshot().ratePerSecond!;
    /** B keeps calling; A, paced, is throttled alone at `atMs`; the hold ends. */
    async function aThrottledAloneAt(atMs: number): Promise<void> {
      const script: Array<[number, Limiter, CallFeedback]> = [];
      for (let i = 0; i < 8; i++)
        script.push([atMs - 1000 + i * 120, a.limiter, accepted], [atMs - 1000 + i * 60, b.limiter, accepted]);
      script.push([atMs, a.limiter, throttled]);
      await play(clock, script);
      await nextCallOfEach(clock, [a.limiter], 2000);
    }
    const readsBefore = table.reads;
    // The first: the pace (a share of the tenant's window, not probed above) is kept, jitter not a limit.
    await aThrottledAloneAt(4000);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(paced, 5);
    // The second: relearned from its own window only, at most a fifth down per event (0.8 × 7.35); the
    // views (read twice each time) are not used.
    await aThrottledAloneAt(8000);
    expect(table.reads).toBe(readsBefore + 4);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(paced * 0.8, 5);
  });

  it('splits the shared window again when paced instances are throttled in the same burst (paces summed above the limit)', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a');
    const b = instance(clock, table, 'b');
    await outOfPhaseBurst(clock, a.limiter, b.limiter);
    // Both paced at 7.35; A gets 7 calls through in (3000, 4000], B 3, then both are throttled.
    const script: Array<[number, Limiter, CallFeedback]> = [];
    for (let i = 0; i < 7; i++) script.push([3000 + i * 140, a.limiter, accepted]);
    for (let i = 0; i < 3; i++) script.push([3100 + i * 300, b.limiter, accepted]);
    script.push([4150, a.limiter, throttled], [4160, b.limiter, throttled]);
    await play(clock, script);
    await nextCallOfEach(clock, [a.limiter, b.limiter]);
    const paceA = a.limiter.snapshot().ratePerSecond!;
    expect(paceA).toBeCloseTo(b.limiter.snapshot().ratePerSecond!, 5); // equal shares, not 7 : 3
    expect(paceA).toBeLessThan(7.35 * 0.8); // below the local relearning (at most a fifth down per event)
  });

  it('keeps a tenant share once through an event of both instances a call or two under it (jitter), then splits again', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a');
    const b = instance(clock, table, 'b');
    await outOfPhaseBurst(clock, a.limiter, b.limiter);
    /** A and B, paced at 7.35 (a share of 7.5), get 7 calls each through in the second before `atMs`; then both are throttled. */
    async function bothThrottledAt(atMs: number): Promise<void> {
      const script: Array<[number, Limiter, CallFeedback]> = [];
      for (let i = 0; i < 7; i++)
        script.push([atMs - 950 + i * 130, a.limiter, accepted], [atMs - 900 + i * 130, b.limiter, accepted]);
      script.push([atMs, a.limiter, throttled], [atMs + 10, b.limiter, throttled]);
      await play(clock, script);
      await nextCallOfEach(clock, [a.limiter, b.limiter]);
    }
    // 14 in the shared window: 7 each, within 15 % of the share: kept (it was 6.86 before).
    await bothThrottledAt(4150);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(7.35, 5);
    expect(b.limiter.snapshot().ratePerSecond).toBeCloseTo(7.35, 5);
    // The same again: split from the view, 0.98 × 7.
    await bothThrottledAt(8150);
    expect(a.limiter.snapshot().ratePerSecond).toBeCloseTo(7 * 0.98, 5);
    expect(b.limiter.snapshot().ratePerSecond).toBeCloseTo(7 * 0.98, 5);
  });

  it('probes a pace set from a tenant view at a sixteenth of the slope: instances probing together cross together', async () => {
    /** The climb above the shared pace after 30 s of calls waiting for their slot. */
    async function climbAfter30s(options: Partial<AdaptiveLimiterOptions>): Promise<number> {
      const clock = new FakeClock();
      const table = new MemoryRateTable();
      const a = instance(clock, table, 'a', true, options);
      const b = instance(clock, table, 'b', true, options);
      await outOfPhaseBurst(clock, a.limiter, b.limiter);
      const shared = a.limiter.snapshot().ratePerSecond!;
      expect(shared).toBeCloseTo(7.35, 5);
      const backlog = Array.from({ length: 300 }, () =>
        a.limiter.run(
          async () => undefined,
          () => accepted,
        ),
      );
      for (let tick = 0; tick < 300; tick++) await clock.advance(100);
      const climb = a.limiter.snapshot().ratePerSecond! / shared - 1;
      void Promise.all(backlog);
      return climb;
    }
    const tenantWide = await climbAfter30s({});
    const asALocalFoundLimit = await climbAfter30s({ tenantLimitProbeFactor: 0.25 });
    // 0.0005/s ÷ 16, doubling every 10 s: 0.3 % in 30 s (2 % takes ≈ 55 s); a quarter of the slope: 1.3 %.
    expect(tenantWide).toBeGreaterThan(0);
    expect(tenantWide).toBeLessThan(0.005);
    expect(asALocalFoundLimit).toBeGreaterThan(0.01);
    expect(tenantWide).toBeLessThan(asALocalFoundLimit * 0.3);
  });

  it('publishes again after a throttle event, with the calls of the burst answered after the event', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a');
    a.tenantRate.noteAccepted(0);
    a.tenantRate.noteThrottleEvent(100);
    await settle();
    expect(decodeStarts(table.rows.get('instance-a')!.acceptedStarts)).toEqual([0]);
    a.tenantRate.noteAccepted(90); // started before the throttled call, answered after the event
    await clock.advance(300);
    const row = table.rows.get('instance-a')!;
    expect(decodeStarts(row.acceptedStarts)).toEqual([0, 90]);
    expect(row.throttledStartMs).toBe(100);
    expect(a.tenantRate.stats()).toMatchObject({ writes: 3, reads: 0 }); // heartbeat, event, republish
    await clock.advance(400);
    expect(a.tenantRate.stats()).toMatchObject({ writes: 3, reads: 1 }); // the view, read at 700 ms
  });

  it('writes its row at most once per heartbeat while calls are accepted, and not while idle', async () => {
    const clock = new FakeClock();
    const table = new MemoryRateTable();
    const a = instance(clock, table, 'a');
    const script: Array<[number, Limiter, CallFeedback]> = [];
    for (let i = 0; i < 50; i++) script.push([i * 100, a.limiter, accepted]); // 5 s of calls
    await play(clock, script);
    expect(table.writes).toBe(5); // at 0, 1000, 2000, 3000, 4000
    await clock.advance(60_000);
    expect(table.writes).toBe(5);
    expect(table.reads).toBe(0);
    const row = table.rows.get('instance-a')!;
    expect(decodeStarts(row.acceptedStarts)).toEqual([
      1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000, 2100, 2200, 2300, 2400, 2500, 2600, 2700, 2800,
      2900, 3000, 3100, 3200, 3300, 3400, 3500, 3600, 3700, 3800, 3900, 4000,
    ]);
  });

  it('is built only with PARTNER_CENTER_RATE_SHARING=table', async () => {
    const table = new MemoryRateTable();
    const hold = { getEntity: () => Promise.reject(new Error('unused')), upsertEntity: () => Promise.resolve({}) };
    const settings = {
      PARTNER_CENTER_CONCURRENCY: 4,
      PARTNER_CENTER_ADAPTIVE: true,
      PARTNER_CENTER_SHARE_THROTTLE: false,
    };
    const shared = {
      ...hold,
      listEntities: table.listEntities.bind(table),
      // Only the `$rate` rows are written here (the shared hold is off).
      upsertEntity: (entity: object) => table.upsertEntity(entity as TenantRateRow),
    };
    const on = createPartnerCenterLimiter({ ...settings, PARTNER_CENTER_RATE_SHARING: 'table' }, { table: shared });
    await on.run(
      async () => undefined,
      () => accepted,
    );
    await settle();
    expect(table.writes).toBe(1);
    const off = createPartnerCenterLimiter({ ...settings, PARTNER_CENTER_RATE_SHARING: 'off' }, { table: shared });
    await off.run(
      async () => undefined,
      () => accepted,
    );
    await settle();
    expect(table.writes).toBe(1);
  });
});

describe('shareOfWindow', () => {
  it("ends the shared window at the burst's earliest throttled start and splits it among the throttled instances", () => {
    const view = shareOfWindow({
      ownAcceptedStartsMs: [100, 500, 900, 1200],
      ownThrottledStartMs: 1300,
      others: [
        { acceptedStartsMs: [200, 600, 1100], throttledStartMs: 1000 }, // same burst: the window ends at 1000
        { acceptedStartsMs: [50, 700], throttledStartMs: 5000 }, // another burst: its counts, not its end
      ],
      windowMs: 1000,
      sameBurstMs: 1000,
    });
    expect(view).toEqual({
      forThrottledStartMs: 1300,
      windowEndMs: 1000,
      ownAcceptedPerSecond: 3,
      ownOvertakingCalls: 0, // no answer times given: by start alone
      // The unthrottled instance keeps its 2; the two throttled ones split the rest.
      ownSharePerSecond: (3 + 2) / 2,
      tenantAcceptedPerSecond: 3 + 2 + 2,
      instances: 3,
      throttledInstances: 2,
    });
  });
});

describe('encodeStarts', () => {
  it('round-trips whole-ms start times (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 }), fc.nat(2 ** 42), (gaps, base) => {
        const starts = gaps.reduce<number[]>((acc, g) => [...acc, (acc[acc.length - 1] ?? base) + g], []);
        expect(decodeStarts(encodeStarts(starts))).toEqual(starts);
      }),
    );
  });
});
