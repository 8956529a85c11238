/**
 * Sharing a Private deal's partner referral with Microsoft sellers before its co-sell upgrade: PATCH type
 * Shared and the consent flag (If-Match its eTag; 412 → GET again), idempotent (a referral already shared is
 * not patched again), so it needs no step of its own (see upgrade.ts).
 */
import { PartnerCenterError, PartnerCenterRejectedError } from '../partner-center/errors';
import type { CallOptions, PartnerCenterReferral, PatchOptions, ReferralPatchOperation } from '../partner-center/types';
import { BridgeError } from '../platform/errors';
import type { Logger } from '../platform/logging';
import { problem } from '../referral/problem';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { isTerminalReferral, terminalRefusal, type UpgradeOutcome } from './upgradeDecision';

/** The Partner Center calls of an upgrade beyond the step table's (read and share the partner referral). */
export interface ReferralUpdatesApi {
  getReferral(id: string, options?: CallOptions): Promise<PartnerCenterReferral>;
  patchReferral(
    id: string,
    operations: readonly ReferralPatchOperation[],
    options?: PatchOptions,
  ): Promise<PartnerCenterReferral | undefined>;
}

/** Base of upgrade failures a retry may fix. */
export class CoSellUpgradeError extends BridgeError {
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options);
    this.name = 'CoSellUpgradeError';
  }
}

/** Tries of the share PATCH when the referral changes between the GET and the PATCH (412). */
const SHARE_TRIES = 3;
/** The consent flag that shares a referral with Microsoft sellers (with type Shared). */
export const SHARE_FLAG = 'consentToShareReferralWithMicrosoftSellers';

/** True when the referral is shared with Microsoft sellers (type Shared and the consent flag set). */
export function isSharedWithMicrosoft(referral: PartnerCenterReferral): boolean {
  const consent = referral.consent as Record<string, unknown> | undefined;
  return referral.type === 'Shared' && consent?.[SHARE_FLAG] === true;
}

/** What {@link shareWithMicrosoft} calls and logs with. */
export interface ShareWithMicrosoftOptions {
  partnerCenter: ReferralUpdatesApi;
  logger: Logger;
}

/**
 * Shares the partner referral `read` (idempotent): `{ referral }` as now shared, or the refusal to answer with
 * (Partner Center refused the PATCH, or closed the referral). Throws {@link CoSellUpgradeError} when the
 * referral keeps changing between the GET and the PATCH.
 */
export async function shareWithMicrosoft(
  record: TrackingRecord,
  read: PartnerCenterReferral,
  calls: CallOptions,
  options: ShareWithMicrosoftOptions,
): Promise<{ referral: PartnerCenterReferral } | UpgradeOutcome> {
  let referral = read;
  for (let attempt = 0; attempt < SHARE_TRIES; attempt++) {
    if (isSharedWithMicrosoft(referral)) return { referral };
    if (isTerminalReferral(referral)) return terminalRefusal(record, referral.substatus);
    const consent = (referral.consent ?? {}) as Record<string, unknown>;
    const operations: ReferralPatchOperation[] = [
      { op: 'replace', path: '/type', value: 'Shared' },
      { op: SHARE_FLAG in consent ? 'replace' : 'add', path: `/consent/${SHARE_FLAG}`, value: true },
    ];
    try {
      const patched = await options.partnerCenter.patchReferral(referral.id, operations, {
        ...calls,
        ifMatch: referral.eTag,
      });
      options.logger.info('Partner referral shared with Microsoft sellers', { trackingId: record.trackingId });
      return { referral: patched ?? { ...referral, type: 'Shared', consent: { ...consent, [SHARE_FLAG]: true } } };
    } catch (error) {
      if (error instanceof PartnerCenterRejectedError && error.status === 412) {
        referral = await options.partnerCenter.getReferral(referral.id, calls);
        continue;
      }
      if (error instanceof PartnerCenterError && !error.retryable) {
        options.logger.warn('Partner Center refused to share the partner referral', {
          trackingId: record.trackingId,
          status: error.status,
          code: error.code,
        });
        return {
          kind: 'refused',
          record,
          problem: problem(
            422,
            'partner-center-rejected',
            'Partner Center refused to share the referral with Microsoft',
            `Partner Center answered ${error.status ?? '?'} ${error.code} to the share (type Shared, consent to share with Microsoft sellers): the deal is unchanged. Create a new deal of type CoSell instead (or set COSELL_UPGRADE_PRIVATE=refuse).`,
            { trackingId: record.trackingId, partnerCenterError: { status: error.status, code: error.code } },
          ),
        };
      }
      throw error;
    }
  }
  throw new CoSellUpgradeError('The partner referral kept changing while it was being shared: try again', {
    retryable: true,
  });
}
