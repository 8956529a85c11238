/**
 * Upgrade a deal to co-sell later (`POST /api/referrals/{trackingId}/co-sell`): a Private or PartnerLed
 * deal the bridge created gets its Microsoft referral in the same engagement, exactly once.
 *
 * ```
 * read record ──► refusals (inbound 409, Rejected 409, not yet created 409, already co-sell 200/202,
 *   │              Private without shareWithMicrosoft 400, COSELL_UPGRADE_PRIVATE=refuse 409)
 *   ▼
 * Partner Center snapshot Closed? ──► 409 terminal-state
 * GET the partner referral  (fresh eTag; Closed ──► 409 terminal-state)
 *   │
 *   ├─ Private: PATCH type Shared + consentToShareReferralWithMicrosoftSellers true (If-Match; 412 → GET again)
 *   ▼
 * claim: conditional write Completed ──► CreatingMicrosoft under this instance's lease (LINK_MODE=inline)
 *        or ──► LinkQueued + a `referral-link` message (LINK_MODE=queue); dealType CoSell, a minimal request
 *        (the coSell block and the referral fields buildMicrosoftReferral reads), an `upgrade` history entry
 *   │     412 ──► re-read: another upgrade won; answer with the record as it stands (202 in flight, 200 Linked)
 *   ▼
 * the `microsoft` step of the step table, as for a deal created as CoSell (MS-RequestId from trackingId,
 * `microsoft` and the generation; adopt-before-create on a retry): Linked, request purged.
 * ```
 *
 * The share is not a step of its own: it creates nothing and is idempotent (a referral already Shared is not
 * patched again), so it runs before the claim. A crash between the share and the claim leaves a partner
 * referral shared and the record Private/Completed; the caller's retry of the same upgrade sees the referral
 * shared, skips the PATCH and claims. A step row would need its own states and queue for no duplicate it
 * could prevent.
 *
 * Beside this use case: the body (upgradeBody.ts), the outcomes and what the record alone decides
 * (upgradeDecision.ts), and the share (upgradeShare.ts).
 */
import type { PartnerCenterReferral } from '../partner-center/types';
import { isRetryable } from '../platform/errors';
import type { Logger } from '../platform/logging';
import { DealType } from '../referral/constants';
import { problem } from '../referral/problem';
import type { Referral } from '../referral/referralSchema';
import type { ReferralRequest } from '../referral/validateReferralRequest';
import { TrackingConflictError } from '../tracking/errors';
import {
  CallbackState,
  HistorySource,
  withHistory,
  type TrackingChanges,
  type TrackingRecord,
} from '../tracking/trackingRecord';
import type { TrackingRecords } from '../tracking/trackingRecords';
import { RELEASED_LEASE, leaseChanges, type LeaseHolder } from './lease';
import { describe } from './stepFailure';
import type { StepRunner } from './stepRunner';
import { STEPS, StepName } from './stepTable';
import { parseUpgradeBody, type UpgradeBody } from './upgradeBody';
import {
  PrivateUpgrade,
  decideUpgrade,
  isTerminalReferral,
  terminalRefusal,
  type UpgradeOutcome,
} from './upgradeDecision';
import { SHARE_FLAG, shareWithMicrosoft, type ReferralUpdatesApi } from './upgradeShare';

/** Options for {@link CoSellUpgrade}. */
export interface CoSellUpgradeOptions {
  records: TrackingRecords;
  /** The workflow's step runner: the Microsoft step runs through it, as for a deal created as CoSell. */
  runner: StepRunner;
  partnerCenter: ReferralUpdatesApi;
  logger: Logger;
  /** The workflow's lease holder (same instance id as its step runner). */
  lease: LeaseHolder;
  /** LINK_MODE=inline: the Microsoft step runs in this invocation, else through `referral-link`. */
  linkInline: boolean;
  /** COSELL_UPGRADE_PRIVATE. @default 'patch' */
  privateUpgrade?: PrivateUpgrade;
}

/** Input of an upgrade. */
export interface UpgradeInput {
  trackingId: string;
  /** The parsed JSON body: `{ coSell: { notes, assistanceRequestCode, contacts? }, shareWithMicrosoft? }`. */
  body: unknown;
  /** Stop waiting for Partner Center after this long and leave the Microsoft step to `referral-link`. */
  timeBudgetMs?: number;
}

/** Tries of the claim when another writer changes the record in between (412 on our write). */
const CLAIM_TRIES = 3;

/**
 * The use case behind `POST /api/referrals/{trackingId}/co-sell` (see the module comment). Never stores
 * more of the partner referral than the Microsoft referral is built from, and only until the record is Linked.
 */
export class CoSellUpgrade {
  readonly #o: CoSellUpgradeOptions & { privateUpgrade: PrivateUpgrade };

  constructor(options: CoSellUpgradeOptions) {
    this.#o = { ...options, privateUpgrade: options.privateUpgrade ?? PrivateUpgrade.Patch };
  }

  /** Upgrades the deal of `trackingId` to co-sell (see {@link UpgradeOutcome}). */
  async upgrade(input: UpgradeInput): Promise<UpgradeOutcome> {
    const body = parseUpgradeBody(input.body);
    if (!body.ok) return { kind: 'invalid', problem: body.problem };
    const { records, lease } = this.#o;
    const deadlineEpochMs = input.timeBudgetMs === undefined ? undefined : lease.nowMs() + input.timeBudgetMs;
    let record = await records.read(input.trackingId);
    for (let attempt = 0; attempt < CLAIM_TRIES && record; attempt++) {
      const decision = decideUpgrade(record, body.value, this.#o.privateUpgrade);
      if (decision.kind === 'answer') return decision.outcome;
      if (isTerminalReferral(record.partnerCenter)) return terminalRefusal(record, record.partnerCenter?.substatus);
      const log = this.#o.logger.child({ trackingId: record.trackingId });
      const calls = { deadlineEpochMs, logFields: { trackingId: record.trackingId, step: 'upgrade' } };
      let partnerReferral = await this.#o.partnerCenter.getReferral(decision.partnerReferralId, calls);
      if (isTerminalReferral(partnerReferral)) return terminalRefusal(record, partnerReferral.substatus);
      if (decision.share) {
        const shared = await shareWithMicrosoft(record, partnerReferral, calls, this.#o);
        if ('kind' in shared) return shared;
        partnerReferral = shared.referral;
      }
      try {
        const claimed = await records.update(
          record,
          this.#claimChanges(record, partnerReferral, body.value, decision.share, deadlineEpochMs),
        );
        log.info('Co-sell upgrade claimed', { from: record.dealType, state: claimed.state, shared: decision.share });
        return await this.#run(claimed, deadlineEpochMs);
      } catch (error) {
        if (!(error instanceof TrackingConflictError)) throw error;
        record = await records.read(input.trackingId);
      }
    }
    if (!record) {
      return {
        kind: 'notFound',
        problem: problem(404, 'not-found', 'No such referral request', 'No tracking record has this id.'),
      };
    }
    return { kind: 'tracked', record, upgraded: false };
  }

  /** The claim's one conditional write: co-sell now, with the minimal request the Microsoft step needs. */
  #claimChanges(
    record: TrackingRecord,
    partnerReferral: PartnerCenterReferral,
    body: UpgradeBody,
    shared: boolean,
    deadlineEpochMs: number | undefined,
  ): TrackingChanges {
    const { lease } = this.#o;
    const inline = this.#o.linkInline && (deadlineEpochMs === undefined || lease.nowMs() < deadlineEpochMs);
    const request: ReferralRequest = {
      dealType: DealType.CoSell,
      referral: microsoftReferralSource(partnerReferral),
      coSell: body.coSell,
    };
    return {
      dealType: DealType.CoSell,
      request,
      lastError: undefined,
      history: withHistory(record.history, {
        at: new Date(lease.nowMs()).toISOString(),
        source: HistorySource.Us,
        kind: 'upgrade',
        from: record.dealType,
        to: DealType.CoSell,
        ...(shared ? { note: 'shared with Microsoft sellers' } : {}),
      }),
      ...(record.callbackUrl ? { callbackState: CallbackState.Pending, callbackFailure: undefined } : {}),
      ...(inline
        ? { state: STEPS.microsoft.running, ...leaseChanges(lease, record) }
        : { state: STEPS.microsoft.waiting, ...RELEASED_LEASE }),
    };
  }

  /** Runs the claimed Microsoft step inline, or hands it to `referral-link`. */
  async #run(claimed: TrackingRecord, deadlineEpochMs: number | undefined): Promise<UpgradeOutcome> {
    const { runner } = this.#o;
    if (claimed.state === STEPS.microsoft.waiting) {
      await runner.send(StepName.Microsoft, claimed).catch((error: unknown) => {
        this.#o.logger.warn('Could not enqueue the upgrade’s Microsoft step; the sweeper will resume it', {
          trackingId: claimed.trackingId,
          reason: describe(error),
        });
      });
      return { kind: 'tracked', record: claimed, upgraded: true };
    }
    const result = await runner.runClaimed(StepName.Microsoft, claimed, { deadlineEpochMs, earlierAttempt: false });
    if (result.kind === 'rejected') return { kind: 'rejected', record: result.record };
    if (result.kind !== 'retry' || result.queued) return { kind: 'tracked', record: result.record, upgraded: true };
    if (!isRetryable(result.error)) throw result.error;
    this.#o.logger.warn('The upgrade’s Microsoft step is handed to its queue', {
      trackingId: claimed.trackingId,
      reason: describe(result.error),
    });
    return { kind: 'tracked', record: await runner.defer(result), upgraded: true };
  }
}

/**
 * What {@link buildMicrosoftReferral} reads of the partner referral (name, customer profile, consent, details,
 * qualification), as Partner Center holds it now, shared: kept in the record's request until it is Linked.
 */
function microsoftReferralSource(partnerReferral: PartnerCenterReferral): Referral {
  const consent = (partnerReferral.consent ?? {}) as Record<string, unknown>;
  const source: Record<string, unknown> = {
    ...(typeof partnerReferral.name === 'string' ? { name: partnerReferral.name } : {}),
    type: 'Shared',
    ...(partnerReferral.qualification ? { qualification: partnerReferral.qualification } : {}),
    customerProfile: partnerReferral.customerProfile,
    consent: { ...consent, [SHARE_FLAG]: true },
    details: partnerReferral.details ?? {},
  };
  // Partner Center's own representation of a referral it accepted: not re-validated against the request schema.
  return source as Referral;
}
