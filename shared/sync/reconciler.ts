/**
 * Reconciliation: Partner Center tries a delivery 10 times, then never again [V], so a timer lists the
 * referrals changed since a stored watermark and applies what the events missed, through the same apply
 * path (a change an event already applied is a no-op there: no second CloudEvent).
 *
 * ```
 * claim the watermark lease (watermark.ts) ──held elsewhere──► skipped
 *   │ W = watermark (first run: now − EVENTS_RECONCILE_INITIAL_LOOKBACK_HOURS)
 *   ▼
 * GET referrals?$orderby=updatedDateTime desc ─ page ─ page ─ … stop at the first updatedDateTime < W − overlap
 *   │ (cost grows with the changes since W, not with all referrals)
 *   ▼
 * per engagement: its partner and Microsoft referral (listed, or one engagement list when one is missing
 * for a co-sell record) ─► ReferralSync.applyFound(…, 'reconcile')
 *   │
 *   ▼
 * advance W (conditional on the claim's ETag; never backwards): to the newest change seen, or only up to
 * the oldest one that could not be applied (deferred, failed), so the next run takes it again.
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { PartnerCenterReferral } from '../partner-center/types';
import { isRetryable } from '../platform/errors';
import type { Logger } from '../platform/logging';
import { Direction, HistorySource } from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { isMicrosoftReferral } from '../workflow/microsoftReferral';
import { describe } from '../workflow/stepFailure';
import { compareInstants } from './applySnapshot';
import { ReconcileDefaults } from './constants';
import { findRecordOf } from './ownership';
import type { SyncPartnerCenter } from './ports';
import type { EngagementSnapshot, ReferralSync } from './referralSync';
import type { WatermarkLease } from './watermark';

/** What one run did. */
export type ReconcileReport =
  | { kind: 'skipped'; why: 'lease-held' }
  | {
      kind: 'done';
      listed: number;
      engagements: number;
      applied: number;
      unchanged: number;
      deferred: number;
      failed: number;
      /** The watermark the run started from and the one it left. */
      from?: string;
      to?: string;
      /** False when the listing stopped at `maxItems` before reaching the watermark (not advanced). */
      complete: boolean;
    };

/** Options for {@link Reconciler}. */
export interface ReconcilerOptions {
  records: TrackingRecords;
  partnerCenter: SyncPartnerCenter;
  sync: ReferralSync;
  watermark: WatermarkLease;
  logger: Logger;
  /** @default ReconcileDefaults.overlapSeconds × 1000 */
  overlapMs?: number;
  /** @default ReconcileDefaults.initialLookbackHours */
  initialLookbackMs?: number;
  /** @default ReconcileDefaults.maxItems */
  maxItems?: number;
  /** @default ReconcileDefaults.leaseSeconds × 1000 */
  leaseMs?: number;
  /** Engagements applied at once. @default 4 */
  concurrency?: number;
  instanceId?: string;
  nowMs?: () => number;
}

/** The reconciliation run (see the module comment). */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #nowMs: () => number;
  readonly #ownerId: string;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
    this.#ownerId = options.instanceId ?? randomUUID();
  }

  /** Runs one reconciliation. Transient failures before the watermark write throw (the next run retries). */
  async run(): Promise<ReconcileReport> {
    const nowMs = this.#nowMs();
    const claim = await this.#o.watermark.claim(
      this.#ownerId,
      this.#o.leaseMs ?? ReconcileDefaults.leaseSeconds * 1000,
      nowMs,
    );
    if (!claim) return { kind: 'skipped', why: 'lease-held' };
    const overlapMs = this.#o.overlapMs ?? ReconcileDefaults.overlapSeconds * 1000;
    const floorMs = claim.watermark
      ? Date.parse(claim.watermark) - overlapMs
      : nowMs - (this.#o.initialLookbackMs ?? ReconcileDefaults.initialLookbackHours * 3_600_000);
    const floor = new Date(floorMs).toISOString();
    let listing: { changed: PartnerCenterReferral[]; complete: boolean };
    try {
      listing = await this.#listChangedSince(floor);
    } catch (error) {
      // Release the lease at once (watermark unchanged) so the next run need not wait for it to expire.
      await this.#o.watermark.advance(claim, claim.watermark).catch(() => undefined);
      throw error;
    }
    const { changed, complete } = listing;
    const engagements = groupByEngagement(changed);
    const counts = { applied: 0, unchanged: 0, deferred: 0, failed: 0 };
    let oldestMissed: string | undefined;
    await eachLimited([...engagements.values()], this.#o.concurrency ?? 4, async (group) => {
      try {
        const outcome = await this.#o.sync.applyFound(await this.#complete(group), HistorySource.Reconcile);
        if (outcome.kind === 'applied') counts.applied++;
        else counts.unchanged++;
      } catch (error) {
        // Whatever the failure, the watermark stays below this engagement: the next run takes it again.
        if (error instanceof Error && error.name === 'SyncDeferredError') counts.deferred++;
        else {
          counts.failed++;
          this.#o.logger.warn('Reconciliation could not apply an engagement', {
            reason: describe(error),
            retryable: isRetryable(error),
          });
        }
        const oldest = group.map((r) => updatedOf(r)).sort(compareInstants)[0];
        if (oldest && (!oldestMissed || compareInstants(oldest, oldestMissed) < 0)) oldestMissed = oldest;
      }
    });
    const newest = changed[0] ? updatedOf(changed[0]) : undefined;
    let target = complete ? (oldestMissed ?? newest) : undefined;
    if (!target || (claim.watermark && compareInstants(target, claim.watermark) < 0)) target = claim.watermark;
    await this.#o.watermark.advance(claim, target);
    const report: ReconcileReport = {
      kind: 'done',
      listed: changed.length,
      engagements: engagements.size,
      ...counts,
      ...(claim.watermark ? { from: claim.watermark } : {}),
      ...(target ? { to: target } : {}),
      complete,
    };
    if (counts.applied || counts.deferred || counts.failed || !complete)
      this.#o.logger.info('Reconciliation applied what the events missed', { ...report });
    return report;
  }

  /** Referrals changed at or after `floor`, newest first, one page at a time; stops at the floor. */
  async #listChangedSince(floor: string): Promise<{ changed: PartnerCenterReferral[]; complete: boolean }> {
    const maxItems = this.#o.maxItems ?? ReconcileDefaults.maxItems;
    const changed: PartnerCenterReferral[] = [];
    for await (const page of this.#o.partnerCenter.listReferralPages(
      { orderBy: 'updatedDateTime desc' },
      { logFields: { step: 'reconcile' } },
    )) {
      for (const referral of page) {
        if (compareInstants(updatedOf(referral), floor) < 0) return { changed, complete: true };
        if (changed.length >= maxItems) {
          this.#o.logger.warn('Reconciliation stopped at its item cap; the watermark stays', { maxItems });
          return { changed, complete: false };
        }
        changed.push(referral);
      }
    }
    return { changed, complete: true };
  }

  /** An engagement's partner and Microsoft referral: what was listed, plus one engagement list when needed. */
  async #complete(group: PartnerCenterReferral[]): Promise<EngagementSnapshot> {
    const partner = group.find((r) => !isMicrosoftReferral(r));
    const microsoft = group.find((r) => isMicrosoftReferral(r));
    if (!partner) return this.#o.sync.engagementOf(group[0]);
    if (microsoft) return { partner, microsoft };
    const record = await findRecordOf(this.#o.records, partner.id);
    const coSell =
      record &&
      (record.direction ?? Direction.Outbound) === Direction.Outbound &&
      (record.microsoftReferralId !== undefined || record.dealType === 'CoSell');
    return coSell ? this.#o.sync.engagementOf(partner) : { partner };
  }
}

function updatedOf(referral: PartnerCenterReferral): string {
  return typeof referral.updatedDateTime === 'string' ? referral.updatedDateTime : '';
}

function groupByEngagement(referrals: readonly PartnerCenterReferral[]): Map<string, PartnerCenterReferral[]> {
  const groups = new Map<string, PartnerCenterReferral[]>();
  for (const referral of referrals) {
    const key = (referral.engagementId ?? referral.id).toLowerCase();
    const group = groups.get(key) ?? [];
    group.push(referral);
    groups.set(key, group);
  }
  return groups;
}

async function eachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
