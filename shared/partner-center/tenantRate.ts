/**
 * Tenant-wide shares of Partner Center's rate limit, measured over ONE window for every instance, through
 * one small row per instance in the tracking table (PartitionKey `$rate`, RowKey `instance-<id>`; the
 * sweeper and the inspections read only `RowKey eq 'record'`).
 *
 * The loss it removes (docs/performance.md, "Where the time goes"): with two instances, each learns its pace
 * from its own unpaced start burst, over its own fullest one-second window. The windows are not the
 * server's and not each other's, so the shares sum above the limit (23.5 and 28.4 against 20) and two to
 * three more throttle events (≈ 1.1 s each) follow before they fit. Here each instance publishes the start
 * times of its recently accepted calls and the start of its throttled call; after a throttle event the
 * instance reads every live row and takes as its share what it got accepted in the ONE window that ends at
 * the tenant's earliest throttled call of that burst (the window the server had just filled). The shares
 * of all instances then come from the same span and sum to what the tenant got accepted in it.
 *
 * ```
 *  every instance, while it makes calls: upsert { acceptedStarts, acceptedAnswers, throttledStartMs, throttledAnsweredAtMs, atEpochMs }  every heartbeatIntervalMs
 *  on its throttle event:                upsert now and after publishDelayMs; after settleMs one partition query ─► first view ─► limiter
 *                                        after secondViewDelayMs the same query again ─► second view (may only raise the share)
 * ```
 *
 * Table operations per instance: one upsert per `heartbeatIntervalMs` while it makes calls (≤ 60 a minute at
 * the default 1 s), plus two upserts and two partition queries per throttle event; nothing while idle. Rows of
 * instances that went quiet age out of the view after `liveMs` (they stay in the table, one per instance
 * that ever ran: a few hundred bytes each). Storage failures are logged and ignored: the limiter then
 * keeps the pace it learned locally. Clocks of the instances are assumed within tens of ms of each other
 * (NTP) [inferred]: a skew shifts the shared window by that much.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../platform/logging';
import type { TenantRateShare, TenantShareView } from './limiterTypes';
import { decodeStarts, encodeStarts, shareOfWindow, type RateRowReading } from './tenantWindow';

/** The partition of the instances' rate rows. */
export const TENANT_RATE_PARTITION = '$rate';

/** One instance's row. */
export interface TenantRateRow {
  partitionKey: string;
  rowKey: string;
  /** Start times of the calls accepted in the last `historyMs`: the first in epoch ms, then deltas, comma-separated. */
  acceptedStarts: string;
  /** Start (epoch ms) of the instance's last throttled call that began a throttle event; 0: none. */
  throttledStartMs: number;
  /** When each of `acceptedStarts` was answered (epoch ms, encoded the same way); missing in older rows. */
  acceptedAnswers?: string;
  /** When the throttled call of `throttledStartMs` was answered (the event); missing in older rows. */
  throttledAnsweredAtMs?: number;
  atEpochMs: number;
}

/** The part of a `@azure/data-tables` TableClient the shares use. */
export interface TenantRateTable {
  upsertEntity(entity: TenantRateRow, mode?: 'Merge' | 'Replace'): Promise<unknown>;
  listEntities<T extends object>(options: { queryOptions: { filter: string } }): AsyncIterable<T>;
}

/** Options of {@link TableTenantRate}. */
export interface TableTenantRateOptions {
  table: TenantRateTable;
  /** This instance's row key suffix. @default a random UUID */
  instanceId?: string;
  /** Least time between two heartbeat upserts while calls are made. @default 1000 */
  heartbeatIntervalMs?: number;
  /**
   * The row is written again this long after the instance's throttle event: the answers of the calls still
   * in flight at the event are in by then (a reader that misses them undercounts the tenant's window, and a
   * share too low costs more than one too high: the next event corrects a high one in a second). @default 300
   */
  publishDelayMs?: number;
  /** How long after its own throttle event the instance reads the other rows (they publish theirs). @default 700 */
  settleMs?: number;
  /**
   * How long after its own throttle event the instance reads the rows a second time (the first read done):
   * a host busy at start-up may write its `publishDelayMs` row after the others' first read, which then
   * misses the burst's late answers and sets shares too low; the second view may only raise them
   * (tenantShareViews.ts). Well over `settleMs`, and well under `historyMs` − the window (the shared window
   * must still be in every row). 0: no second read. @default 1500
   */
  secondViewDelayMs?: number;
  /** Count the calls that overtook the throttled one (tenantWindow.ts); false: by start alone. @default true */
  countOvertakingCalls?: boolean;
  /** Accepted start times kept in the row. @default 3000 */
  historyMs?: number;
  /** A row older than this is ignored (its instance went quiet). @default 5000 */
  liveMs?: number;
  /** Another instance's throttled start within this many ms of ours belongs to the same burst. @default 1000 */
  sameBurstMs?: number;
  /** The window the server counts in (the limiter's `windowMs`). @default 1000 */
  windowMs?: number;
  logger?: Logger;
  nowMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Counters of the shares (benchmarks, tests). */
export interface TenantRateStats {
  writes: number;
  reads: number;
  failures: number;
  views: number;
}

/** See the module comment. */
export class TableTenantRate implements TenantRateShare {
  readonly #table: TenantRateTable;
  readonly #rowKey: string;
  readonly #o: Required<Omit<TableTenantRateOptions, 'table' | 'instanceId' | 'logger'>>;
  readonly #logger?: Logger;
  readonly #acceptedStartsMs: number[] = [];
  /** When each of `#acceptedStartsMs` was answered (the same order). */
  readonly #acceptedAnswersMs: number[] = [];
  #throttledStartMs = 0;
  #throttledAnsweredAtMs = 0;
  #lastWriteAtMs = Number.NEGATIVE_INFINITY;
  #writing = false;
  #listener?: (view: TenantShareView) => void;
  readonly #stats: TenantRateStats = { writes: 0, reads: 0, failures: 0, views: 0 };

  constructor(options: TableTenantRateOptions) {
    this.#table = options.table;
    this.#rowKey = `instance-${options.instanceId ?? randomUUID()}`;
    this.#logger = options.logger;
    this.#o = {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      publishDelayMs: options.publishDelayMs ?? 300,
      settleMs: options.settleMs ?? 700,
      secondViewDelayMs: options.secondViewDelayMs ?? 1500,
      countOvertakingCalls: options.countOvertakingCalls ?? true,
      historyMs: options.historyMs ?? 3000,
      liveMs: options.liveMs ?? 5000,
      sameBurstMs: options.sameBurstMs ?? 1000,
      windowMs: options.windowMs ?? 1000,
      nowMs: options.nowMs ?? Date.now,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
  }

  /** Reads, writes and views so far. */
  stats(): TenantRateStats {
    return { ...this.#stats };
  }

  /** Registers the limiter that receives the views (one per instance). */
  onView(listener: (view: TenantShareView) => void): void {
    this.#listener = listener;
  }

  /** An accepted call: remembered, and the row is refreshed when the heartbeat is due. */
  noteAccepted(startedAtMs: number): void {
    this.#acceptedStartsMs.push(startedAtMs);
    this.#acceptedAnswersMs.push(this.#o.nowMs()); // the limiter notes a call when it is answered
    this.#prune();
    if (this.#o.nowMs() - this.#lastWriteAtMs >= this.#o.heartbeatIntervalMs) void this.#write();
  }

  /**
   * A throttle event of this instance: publish now and again after `publishDelayMs`, read the others after
   * `settleMs` and again after `secondViewDelayMs` (once the first read is done), pass the views on.
   */
  noteThrottleEvent(throttledStartMs: number): void {
    const eventAtMs = this.#o.nowMs();
    this.#throttledStartMs = throttledStartMs;
    this.#throttledAnsweredAtMs = eventAtMs;
    void this.#write(true);
    void this.#o.sleep(this.#o.publishDelayMs).then(() => this.#write(true));
    void this.#o.sleep(this.#o.settleMs).then(async () => {
      if (!(await this.#readView(throttledStartMs, eventAtMs, 'first'))) return;
      if (this.#o.secondViewDelayMs <= 0) return;
      const leftMs = eventAtMs + this.#o.secondViewDelayMs - this.#o.nowMs();
      if (leftMs > 0) await this.#o.sleep(leftMs);
      await this.#readView(throttledStartMs, eventAtMs, 'second');
    });
  }

  #prune(): void {
    const keepFrom = this.#o.nowMs() - this.#o.historyMs;
    let drop = 0;
    while (drop < this.#acceptedStartsMs.length && this.#acceptedStartsMs[drop] < keepFrom) drop++;
    if (drop > 0) {
      this.#acceptedStartsMs.splice(0, drop);
      this.#acceptedAnswersMs.splice(0, drop);
    }
  }

  async #write(force = false): Promise<void> {
    if (this.#writing && !force) return;
    this.#writing = true;
    const now = this.#o.nowMs();
    this.#lastWriteAtMs = now;
    this.#prune();
    this.#stats.writes++;
    try {
      await this.#table.upsertEntity(
        {
          partitionKey: TENANT_RATE_PARTITION,
          rowKey: this.#rowKey,
          acceptedStarts: encodeStarts(this.#acceptedStartsMs),
          acceptedAnswers: encodeStarts(this.#acceptedAnswersMs),
          throttledStartMs: this.#throttledStartMs,
          throttledAnsweredAtMs: this.#throttledAnsweredAtMs,
          atEpochMs: now,
        },
        'Replace',
      );
    } catch (error) {
      this.#failed('write', error);
    } finally {
      this.#writing = false;
    }
  }

  /** One partition query and its view; false when the table failed (no view). */
  async #readView(ownThrottledStartMs: number, eventAtMs: number, read: TenantShareView['read']): Promise<boolean> {
    this.#stats.reads++;
    const now = this.#o.nowMs();
    const others: Array<RateRowReading & { atEpochMs: number }> = [];
    try {
      const rows = this.#table.listEntities<Partial<TenantRateRow>>({
        queryOptions: { filter: `PartitionKey eq '${TENANT_RATE_PARTITION}'` },
      });
      for await (const row of rows) {
        if (row.rowKey === this.#rowKey) continue;
        const atEpochMs = Number(row.atEpochMs);
        if (!Number.isFinite(atEpochMs) || now - atEpochMs > this.#o.liveMs) continue;
        others.push({
          acceptedStartsMs: decodeStarts(String(row.acceptedStarts ?? '')),
          throttledStartMs: Number(row.throttledStartMs) || 0,
          ...(this.#o.countOvertakingCalls && row.acceptedAnswers !== undefined && row.throttledAnsweredAtMs
            ? {
                acceptedAnswersMs: decodeStarts(String(row.acceptedAnswers)),
                throttledAnsweredAtMs: Number(row.throttledAnsweredAtMs),
              }
            : {}),
          atEpochMs,
        });
      }
    } catch (error) {
      this.#failed('read', error);
      return false;
    }
    const view: TenantShareView = {
      ...shareOfWindow({
        ownAcceptedStartsMs: this.#acceptedStartsMs,
        ownThrottledStartMs,
        ...(this.#o.countOvertakingCalls
          ? { ownAcceptedAnswersMs: this.#acceptedAnswersMs, ownThrottledAnsweredAtMs: eventAtMs }
          : {}),
        others,
        windowMs: this.#o.windowMs,
        sameBurstMs: this.#o.sameBurstMs,
      }),
      read,
    };
    this.#stats.views++;
    this.#logView(view, eventAtMs, now, others);
    this.#listener?.(view);
    return true;
  }

  /** Debug: what a view saw (when each row was written, relative to the event, and its calls in the window). */
  #logView(
    view: TenantShareView,
    eventAtMs: number,
    readAtMs: number,
    others: ReadonlyArray<RateRowReading & { atEpochMs: number }>,
  ): void {
    const inWindow = (starts: readonly number[]) =>
      starts.filter((t) => t > view.windowEndMs - this.#o.windowMs && t <= view.windowEndMs).length;
    const afterWindow = (starts: readonly number[]) => starts.filter((t) => t > view.windowEndMs).length;
    this.#logger?.debug('Partner Center tenant share view', {
      read: view.read,
      readAfterEventMs: readAtMs - eventAtMs,
      windowEndAfterThrottledStartMs: view.windowEndMs - view.forThrottledStartMs,
      ownAcceptedInWindow: inWindow(this.#acceptedStartsMs),
      ownAcceptedAfterWindow: afterWindow(this.#acceptedStartsMs),
      ownOvertakingCalls: view.ownOvertakingCalls,
      tenantAcceptedPerSecond: view.tenantAcceptedPerSecond,
      ownSharePerSecond: view.ownSharePerSecond,
      throttledInstances: view.throttledInstances,
      rows: others.map((row) => ({
        writtenAfterEventMs: row.atEpochMs - eventAtMs,
        throttledStartAfterOwnMs: row.throttledStartMs > 0 ? row.throttledStartMs - view.forThrottledStartMs : null,
        acceptedInWindow: inWindow(row.acceptedStartsMs),
        acceptedAfterWindow: afterWindow(row.acceptedStartsMs),
        answeredAfterEventMs: row.throttledAnsweredAtMs ? row.throttledAnsweredAtMs - eventAtMs : null,
      })),
    });
  }

  #failed(operation: 'read' | 'write', error: unknown): void {
    this.#stats.failures++;
    this.#logger?.debug('Shared Partner Center tenant rate unavailable', {
      operation,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
  }
}
