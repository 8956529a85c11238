import { odataEquals } from '../partner-center/odata';
import type { PartnerCenterReferral } from '../partner-center/types';
import { TrackingState } from '../tracking/states';
import { StepPreconditionError } from './errors';
import { RELEASED_LEASE } from './lease';
import { buildMicrosoftReferral, isMicrosoftReferral } from './microsoftReferral';
import { requestOf } from './partnerStep';
import { LinkAdoptLookup } from './ports';
import type { StepFunction } from './stepResult';
import { StepName, stepRequestId } from './stepTable';

/**
 * The Microsoft step (co-sell): adopts the Microsoft referral of an earlier attempt (or, with
 * `LINK_ADOPT_LOOKUP=always`, any in the engagement), else creates it in the partner referral's engagement
 * (MS-RequestId from trackingId + `microsoft`); then `Linked`, request purged.
 */
export const linkMicrosoftReferral: StepFunction = async (claimed, context) => {
  const { trackingId } = claimed;
  const request = requestOf(claimed);
  const coSell = request.coSell;
  const engagementId = claimed.engagementId;
  if (!coSell) throw new StepPreconditionError(trackingId, 'coSell block');
  if (!engagementId) throw new StepPreconditionError(trackingId, 'engagementId');
  const { deadlineEpochMs } = context;
  let microsoftReferral: PartnerCenterReferral | undefined;
  if (context.earlierAttempt || context.linkAdoptLookup === LinkAdoptLookup.Always) {
    const related = await context.partnerCenter.listReferrals(
      { filter: odataEquals('engagementId', engagementId), maxItems: 500 },
      { deadlineEpochMs, logFields: { trackingId, step: 'microsoft-lookup' } },
    );
    microsoftReferral = related.find((r) => r.id !== claimed.partnerReferralId && isMicrosoftReferral(r));
    if (microsoftReferral)
      context.logger.info('Adopted the Microsoft referral of an earlier attempt', {
        trackingId,
        microsoftReferralId: microsoftReferral.id,
      });
  }
  microsoftReferral ??= await context.partnerCenter.createReferral(
    buildMicrosoftReferral(request.referral, coSell, {
      engagementId,
      organizationId: claimed.partnerOrganizationId,
      organizationName: claimed.partnerOrganizationName,
    }),
    {
      requestId: stepRequestId(trackingId, StepName.Microsoft, claimed.generation),
      deadlineEpochMs,
      logFields: { trackingId, step: StepName.Microsoft },
    },
  );
  const record = await context.records.update(claimed, {
    state: TrackingState.Linked,
    microsoftReferralId: microsoftReferral.id,
    ...RELEASED_LEASE,
    lastError: undefined,
    request: undefined,
  });
  context.logger.info('Microsoft referral linked', {
    trackingId,
    microsoftReferralId: microsoftReferral.id,
    engagementId,
  });
  return { kind: 'done', record };
};
