/**
 * A fake clock for the adaptive limiter's tests: `sleep` resolves only when the test advances the clock,
 * so no test depends on wall-clock time; an in-memory `$rate` partition for the tenant shares.
 */
import {
  TENANT_RATE_PARTITION,
  type TenantRateRow,
  type TenantRateTable,
} from '../../../shared/partner-center/tenantRate';

/** Waits until every pending promise callback has run (one macrotask turn, repeated). */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A manual clock with a `sleep` that the clock wakes. */
export class FakeClock {
  nowMs = 0;
  readonly sleeps: number[] = [];
  #timers: Array<{ atMs: number; wake: () => void }> = [];

  readonly now = (): number => this.nowMs;

  readonly sleep = (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    return new Promise<void>((resolve) => this.#timers.push({ atMs: this.nowMs + ms, wake: resolve }));
  };

  /** Moves the clock forward by `ms`, waking every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await settle();
    for (;;) {
      const due = this.#timers.filter((t) => t.atMs <= target).sort((a, b) => a.atMs - b.atMs)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.nowMs = Math.max(this.nowMs, due.atMs);
      due.wake();
      await settle();
    }
    this.nowMs = target;
    await settle();
  }
}

/** A task the test finishes by hand, with the time it started. */
export interface ControlledCall<T> {
  started: boolean;
  startedAtMs?: number;
  finish(result: T): void;
  done: Promise<T>;
}

/** A deterministic PRNG (mulberry32) in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An in-memory stand-in of the `$rate` partition (the real table is exercised by the benchmark). */
export class MemoryRateTable implements TenantRateTable {
  readonly rows = new Map<string, TenantRateRow>();
  writes = 0;
  reads = 0;
  failing = false;

  async upsertEntity(entity: TenantRateRow): Promise<unknown> {
    this.writes++;
    if (this.failing) throw Object.assign(new Error('storage down'), { statusCode: 503 });
    this.rows.set(entity.rowKey, { ...entity });
    return {};
  }

  async *listEntities<T extends object>(options: { queryOptions: { filter: string } }): AsyncIterable<T> {
    this.reads++;
    if (this.failing) throw Object.assign(new Error('storage down'), { statusCode: 503 });
    expect(options.queryOptions.filter).toBe(`PartitionKey eq '${TENANT_RATE_PARTITION}'`);
    for (const row of [...this.rows.values()]) {
      await Promise.resolve();
      yield row as unknown as T;
    }
  }
}
