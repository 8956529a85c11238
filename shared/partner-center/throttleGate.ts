/**
 * A Partner Center throttle hold shared by the instances of one tenant through one tiny table entity
 * (PartitionKey `$throttle`, RowKey `partner-center`, in the tracking table: the sweeper and the
 * inspections read only `RowKey eq 'record'`).
 *
 * ```
 *  instance A: 429 ─► hold until T ─► upsert { holdUntilEpochMs: T }   (only when T beats what it knows)
 *  instance B: every call start reads the cached T; the cache is refreshed in the background, at most
 *              every `refreshIntervalMs`, and only while B makes calls
 * ```
 *
 * The write is an unconditional upsert: two instances throttled at once both write, and a reader takes the
 * value it reads as one more hold end (max with its own), so a lost race costs at most one refresh
 * interval. Storage failures are logged and ignored: the hold is an optimisation, each instance still
 * honours its own Retry-After.
 */
import type { Logger } from '../platform/logging';
import { observePartnerCenterLimits } from '../platform/metrics';
import { AdaptiveConcurrencyLimiter } from './adaptiveConcurrency';
import { type SharedThrottleHold } from './limiterTypes';
import { TableTenantRate, type TenantRateTable } from './tenantRate';

/** The keys of the shared hold's entity. */
export const THROTTLE_HOLD_KEYS = { partitionKey: '$throttle', rowKey: 'partner-center' } as const;

/** The part of a `@azure/data-tables` TableClient the hold uses. */
export interface ThrottleHoldTable {
  getEntity<T extends object>(partitionKey: string, rowKey: string): Promise<T>;
  upsertEntity(
    entity: { partitionKey: string; rowKey: string; holdUntilEpochMs: number },
    mode?: 'Merge' | 'Replace',
  ): Promise<unknown>;
}

/** Options of {@link TableThrottleHold}. */
export interface TableThrottleHoldOptions {
  table: ThrottleHoldTable;
  /** Least time between two reads of the entity. @default 500 */
  refreshIntervalMs?: number;
  /** A hold end within this many ms of one already known is not written again. @default 200 */
  coalesceMs?: number;
  logger?: Logger;
  nowMs?: () => number;
}

/** Counters of the shared hold (benchmarks). */
export interface ThrottleHoldStats {
  reads: number;
  writes: number;
  failures: number;
}

/** See the module comment. */
export class TableThrottleHold implements SharedThrottleHold {
  readonly #table: ThrottleHoldTable;
  readonly #refreshIntervalMs: number;
  readonly #coalesceMs: number;
  readonly #logger?: Logger;
  readonly #nowMs: () => number;
  #knownUntilMs = 0;
  #lastReadAtMs = Number.NEGATIVE_INFINITY;
  #reading = false;
  readonly #stats: ThrottleHoldStats = { reads: 0, writes: 0, failures: 0 };

  constructor(options: TableThrottleHoldOptions) {
    this.#table = options.table;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 500;
    this.#coalesceMs = options.coalesceMs ?? 200;
    this.#logger = options.logger;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Reads and writes so far. */
  stats(): ThrottleHoldStats {
    return { ...this.#stats };
  }

  /** The latest hold end known; starts a background read when the cached one is older than the interval. */
  holdUntilEpochMs(): number {
    const now = this.#nowMs();
    if (!this.#reading && now - this.#lastReadAtMs >= this.#refreshIntervalMs) {
      this.#lastReadAtMs = now;
      this.#reading = true;
      void this.#refresh().finally(() => {
        this.#reading = false;
      });
    }
    return this.#knownUntilMs;
  }

  /** Writes `holdUntilEpochMs` unless a hold at least as long (within `coalesceMs`) is already known. */
  publish(holdUntilEpochMs: number): void {
    if (holdUntilEpochMs <= this.#knownUntilMs + this.#coalesceMs) {
      this.#knownUntilMs = Math.max(this.#knownUntilMs, holdUntilEpochMs);
      return;
    }
    this.#knownUntilMs = holdUntilEpochMs;
    this.#stats.writes++;
    void this.#table
      .upsertEntity({ ...THROTTLE_HOLD_KEYS, holdUntilEpochMs }, 'Replace')
      .catch((error: unknown) => this.#failed('write', error));
  }

  async #refresh(): Promise<void> {
    this.#stats.reads++;
    try {
      const entity = await this.#table.getEntity<{ holdUntilEpochMs?: unknown }>(
        THROTTLE_HOLD_KEYS.partitionKey,
        THROTTLE_HOLD_KEYS.rowKey,
      );
      const value = Number(entity.holdUntilEpochMs);
      if (Number.isFinite(value)) this.#knownUntilMs = Math.max(this.#knownUntilMs, value);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return; // nobody was throttled yet
      this.#failed('read', error);
    }
  }

  #failed(operation: 'read' | 'write', error: unknown): void {
    this.#stats.failures++;
    this.#logger?.debug('Shared Partner Center throttle hold unavailable', {
      operation,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
  }
}

/** The settings {@link createPartnerCenterLimiter} reads. */
export interface PartnerCenterLimiterSettings {
  PARTNER_CENTER_CONCURRENCY: number;
  PARTNER_CENTER_ADAPTIVE: boolean;
  PARTNER_CENTER_SHARE_THROTTLE: boolean;
  PARTNER_CENTER_RATE_SHARING: 'table' | 'off';
}

/**
 * The process's Partner Center limiter from settings: adaptive (or fixed) with PARTNER_CENTER_CONCURRENCY
 * as its ceiling, the table-shared hold when PARTNER_CENTER_SHARE_THROTTLE is on, the tenant-wide shares
 * (tenantRate.ts) when PARTNER_CENTER_RATE_SHARING is `table`, and its limits reported as metrics.
 */
export function createPartnerCenterLimiter(
  settings: PartnerCenterLimiterSettings,
  options: { table: ThrottleHoldTable & TenantRateTable; logger?: Logger },
): AdaptiveConcurrencyLimiter {
  const limiter = new AdaptiveConcurrencyLimiter({
    ceiling: settings.PARTNER_CENTER_CONCURRENCY,
    adaptive: settings.PARTNER_CENTER_ADAPTIVE,
    onAdjust: (reason, snapshot) =>
      options.logger?.warn(
        reason === 'throttled' ? 'Partner Center throttled this instance: calls held' : 'Partner Center calls paced',
        { ...snapshot, reason },
      ),
    ...(settings.PARTNER_CENTER_SHARE_THROTTLE
      ? { sharedHold: new TableThrottleHold({ table: options.table, logger: options.logger }) }
      : {}),
    ...(settings.PARTNER_CENTER_RATE_SHARING === 'table'
      ? { tenantRate: new TableTenantRate({ table: options.table, logger: options.logger }) }
      : {}),
  });
  observePartnerCenterLimits(() => limiter.snapshot());
  return limiter;
}
