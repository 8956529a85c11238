/**
 * What an upgrade answers ({@link UpgradeOutcome}) and what the tracking record alone decides before any
 * Partner Center call ({@link decideUpgrade}): the refusals, and whether the partner referral is shared first.
 */
import { problem, type ProblemDetails } from '../referral/problem';
import { DealType } from '../referral/constants';
import { TrackingState } from '../tracking/states';
import { Direction, type TrackingRecord } from '../tracking/trackingRecord';
import type { UpgradeBody } from './upgradeBody';

/** How a Private deal is upgraded (COSELL_UPGRADE_PRIVATE). */
export const PrivateUpgrade = {
  /** Share the partner referral first (PATCH type Shared and the consent flag, [inferred] accepted). */
  Patch: 'patch',
  /** Refuse with 409: a new co-sell deal is needed. */
  Refuse: 'refuse',
} as const;
export type PrivateUpgrade = (typeof PrivateUpgrade)[keyof typeof PrivateUpgrade];

/**
 * What an upgrade did. `invalid` (400), `notFound` (404), `refused` (409 or 422, nothing changed; `problem`
 * says why), `rejected` (Partner Center refused the Microsoft referral: the record is Rejected and says why),
 * `tracked`: the record as it stands (final: Linked → 200; else in flight → 202); `upgraded` is false when
 * the deal was co-sell already (or another upgrade claimed it first).
 */
export type UpgradeOutcome =
  | { kind: 'invalid'; problem: ProblemDetails }
  | { kind: 'notFound'; problem: ProblemDetails }
  | { kind: 'refused'; problem: ProblemDetails; record: TrackingRecord }
  | { kind: 'rejected'; record: TrackingRecord }
  | { kind: 'tracked'; record: TrackingRecord; upgraded: boolean };

/** What the record alone decides, before any Partner Center call. */
export type UpgradeDecision =
  { kind: 'answer'; outcome: UpgradeOutcome } | { kind: 'upgrade'; share: boolean; partnerReferralId: string };

/**
 * The refusals and the plan an upgrade of `record` gets from the record alone (pure):
 * inbound → 409; Rejected → 409; already co-sell → the record as it is; not yet created → 409;
 * Private without `shareWithMicrosoft: true` → 400; Private with `refuse` → 409; else upgrade (share first
 * when Private). A partner referral closed by Partner Center is refused later (snapshot or GET).
 */
export function decideUpgrade(
  record: TrackingRecord,
  body: UpgradeBody,
  privateUpgrade: PrivateUpgrade,
): UpgradeDecision {
  const refuse = (slug: string, title: string, detail: string, status = 409): UpgradeDecision => ({
    kind: 'answer',
    outcome: {
      kind: 'refused',
      record,
      problem: problem(status, slug, title, detail, { trackingId: record.trackingId }),
    },
  });
  if (record.direction === Direction.Inbound) {
    return refuse(
      'inbound-referral',
      'The referral is not the partner’s to upgrade',
      'This referral was made in Partner Center by another party (an inbound referral): only the organisation that owns a deal can ask Microsoft for help with it.',
    );
  }
  if (record.state === TrackingState.Rejected) {
    const nothingCreated = !record.partnerReferralId;
    return refuse(
      'not-upgradable',
      'The deal cannot be upgraded',
      nothingCreated
        ? 'Partner Center refused this deal, so there is nothing to upgrade: send the corrected deal again with the same key (fix and resend), as a CoSell deal if Microsoft’s help is wanted.'
        : 'Partner Center refused the Microsoft referral of this deal (see lastError on the tracking record): create a new co-sell deal.',
    );
  }
  if (record.dealType === DealType.CoSell)
    return { kind: 'answer', outcome: { kind: 'tracked', record, upgraded: false } };
  if (record.state !== TrackingState.Completed || !record.partnerReferralId) {
    return refuse(
      'not-upgradable',
      'The deal cannot be upgraded yet',
      `The partner referral is still being created (state ${record.state}): upgrade it once its tracking record is Completed.`,
    );
  }
  const partnerReferralId = record.partnerReferralId;
  if (record.dealType !== DealType.Private) return { kind: 'upgrade', share: false, partnerReferralId };
  if (body.shareWithMicrosoft !== true) {
    const message =
      'This is a Private deal: upgrading it to co-sell shares the partner referral with Microsoft sellers, which cannot be undone. Send "shareWithMicrosoft": true to confirm.';
    return {
      kind: 'answer',
      outcome: {
        kind: 'invalid',
        problem: problem(400, 'share-with-microsoft-required', 'Sharing with Microsoft must be confirmed', message, {
          trackingId: record.trackingId,
          errors: [{ pointer: '/shareWithMicrosoft', code: 'required', message: 'Must be true for a Private deal.' }],
        }),
      },
    };
  }
  if (privateUpgrade === PrivateUpgrade.Refuse) {
    return refuse(
      'private-upgrade-refused',
      'Private deals are not upgraded here',
      'This bridge does not share an existing Private referral with Microsoft (COSELL_UPGRADE_PRIVATE=refuse): create a new deal of type CoSell.',
    );
  }
  return { kind: 'upgrade', share: true, partnerReferralId };
}

/** True when Partner Center closed the referral (Won, Lost, Declined, Expired): it can no longer change. */
export function isTerminalReferral(referral: { status?: string } | undefined): boolean {
  return referral?.status === 'Closed';
}

/** The 409 refusal of an upgrade of a deal Partner Center closed (`substatus`: Won, Lost, …). */
export function terminalRefusal(record: TrackingRecord, substatus: string | undefined): UpgradeOutcome {
  return {
    kind: 'refused',
    record,
    problem: problem(
      409,
      'terminal-state',
      'The deal is closed',
      `The partner referral is Closed${substatus ? ` (${substatus})` : ''}: a deal in a terminal state can no longer be upgraded to co-sell.`,
      { trackingId: record.trackingId },
    ),
  };
}
