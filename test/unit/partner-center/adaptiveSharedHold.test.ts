/**
 * The throttle hold shared through the table: one instance's 429 holds the other's calls, reads are
 * rate-limited, and a storage failure never stops calls.
 */
import { AdaptiveConcurrencyLimiter } from '../../../shared/partner-center/adaptiveConcurrency';
import { CallSignal } from '../../../shared/partner-center/limiterTypes';
import {
  TableThrottleHold,
  THROTTLE_HOLD_KEYS,
  type ThrottleHoldTable,
} from '../../../shared/partner-center/throttleGate';
import { FakeClock, settle } from './adaptiveHelpers';

/** An in-memory stand-in of the one entity (the real table is exercised by the benchmark). */
class MemoryTable implements ThrottleHoldTable {
  value: number | undefined;
  reads = 0;
  writes = 0;
  failing = false;

  async getEntity<T extends object>(partitionKey: string, rowKey: string): Promise<T> {
    this.reads++;
    if (this.failing) throw Object.assign(new Error('storage down'), { statusCode: 503 });
    expect({ partitionKey, rowKey }).toEqual(THROTTLE_HOLD_KEYS);
    if (this.value === undefined) throw Object.assign(new Error('not found'), { statusCode: 404 });
    return { holdUntilEpochMs: this.value } as T;
  }

  async upsertEntity(entity: { holdUntilEpochMs: number }): Promise<unknown> {
    this.writes++;
    if (this.failing) throw new Error('storage down');
    this.value = entity.holdUntilEpochMs;
    return {};
  }
}

function instance(clock: FakeClock, table: MemoryTable) {
  const shared = new TableThrottleHold({ table, refreshIntervalMs: 500, nowMs: clock.now });
  const limiter = new AdaptiveConcurrencyLimiter({
    ceiling: 4,
    nowMs: clock.now,
    sleep: clock.sleep,
    sharedHold: shared,
  });
  return { shared, limiter };
}

describe('TableThrottleHold', () => {
  it("holds another instance's calls after this instance's 429, once the other has read the table", async () => {
    const clock = new FakeClock();
    const table = new MemoryTable();
    const a = instance(clock, table);
    const b = instance(clock, table);
    b.limiter.snapshot(); // b reads the table (empty) at t = 0
    await a.limiter.run(
      async () => undefined,
      () => ({ signal: CallSignal.Throttled, retryAfterMs: 2000 }),
    );
    await settle();
    expect(table.value).toBe(2000);
    await clock.advance(500);
    b.limiter.snapshot(); // the cache is 500 ms old: read again
    await settle();
    let started = false;
    const call = b.limiter.run(
      async () => {
        started = true;
      },
      () => ({ signal: CallSignal.Accepted }),
    );
    await clock.advance(1400);
    expect(started).toBe(false);
    await clock.advance(100);
    await call;
    expect(started).toBe(true);
  });

  it('reads the entity at most once per interval however many calls ask, and writes only a longer hold', async () => {
    const clock = new FakeClock();
    const table = new MemoryTable();
    const { shared } = instance(clock, table);
    for (let i = 0; i < 100; i++) shared.holdUntilEpochMs();
    await settle();
    expect(table.reads).toBe(1);
    shared.publish(1000);
    shared.publish(1100); // within the coalescing window of the hold already written
    shared.publish(900);
    await settle();
    expect(table.writes).toBe(1);
    shared.publish(5000);
    await settle();
    expect(table.writes).toBe(2);
  });

  it('lets calls through on the local hold alone when the table fails', async () => {
    const clock = new FakeClock();
    const table = new MemoryTable();
    table.failing = true;
    const { shared, limiter } = instance(clock, table);
    await limiter.run(
      async () => undefined,
      () => ({ signal: CallSignal.Accepted }),
    );
    shared.publish(10_000);
    await settle();
    expect(shared.stats().failures).toBeGreaterThanOrEqual(1);
    expect(shared.holdUntilEpochMs()).toBe(10_000); // its own hold still counts
  });
});
