import type { Logger } from '../platform/logging';
import { DAY_MS } from './openWork';
import type { PurgeReport, TrackingRecords } from './trackingRecords';

/** Default of `TRACKING_RETENTION_DAYS` (docs/architecture.md, "Retention"). */
export const DEFAULT_RETENTION_DAYS = 400;

/** Options for {@link Retention}. */
export interface RetentionOptions {
  records: Pick<TrackingRecords, 'purgeClosedBefore'>;
  /** Closed records last written longer ago than this are deleted. */
  retentionDays: number;
  logger: Logger;
  /** Records one run handles at most (the next run carries on). @default 5000 */
  maxRecordsPerRun?: number;
  nowMs?: () => number;
}

/** What one retention run did, and the cutoff it used. */
export interface RetentionReport extends PurgeReport {
  cutoffEpochMs: number;
}

/**
 * The retention timer's use case: deletes closed tracking records (final, no callback or event still to
 * deliver) last written more than `retentionDays` ago. It reads only the retention entries of the expired
 * days, so a run costs what the expired records cost, whatever the table holds.
 */
export class Retention {
  readonly #o: RetentionOptions;

  constructor(options: RetentionOptions) {
    this.#o = options;
  }

  /** Runs once. */
  async run(): Promise<RetentionReport> {
    const cutoffEpochMs = (this.#o.nowMs ?? Date.now)() - this.#o.retentionDays * DAY_MS;
    const report = await this.#o.records.purgeClosedBefore(cutoffEpochMs, {
      maxRecords: this.#o.maxRecordsPerRun ?? 5000,
    });
    if (report.deleted || report.refiled || report.truncated)
      this.#o.logger.info('Retention deleted expired tracking records', { ...report });
    return { ...report, cutoffEpochMs };
  }
}
