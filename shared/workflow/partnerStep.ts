import { partnerSnapshotOf } from '../sync/applySnapshot';
import { TrackingState } from '../tracking/states';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { StepPreconditionError } from './errors';
import { RELEASED_LEASE } from './lease';
import type { StepFunction } from './stepResult';
import { StepName, stepRequestId } from './stepTable';

/**
 * The partner step: creates the partner referral (MS-RequestId from trackingId + `partner`) and records
 * its ids and Partner Center's snapshot of it with the next state in one conditional write: `Completed` (request purged), or for co-sell the
 * Microsoft step's waiting state (`LinkQueued`) or, linked inline, its running state under a renewed lease.
 */
export const createPartnerReferral: StepFunction = async (claimed, context) => {
  const { trackingId } = claimed;
  const request = requestOf(claimed);
  const created = await context.partnerCenter.createReferral(request.referral, {
    requestId: stepRequestId(trackingId, StepName.Partner, claimed.generation),
    deadlineEpochMs: context.deadlineEpochMs,
    logFields: { trackingId, step: StepName.Partner },
  });
  // Before the record names the id: an event for it that arrives first finds this index row, or a record
  // still in this step (shared/sync/ownership.ts), never neither; so it is never taken for an inbound referral.
  await context.records.rememberReferral(created.id, trackingId);
  const record = await context.records.update(claimed, {
    partnerReferralId: created.id,
    engagementId: created.engagementId,
    partnerOrganizationId: created.organizationId,
    partnerOrganizationName: created.organizationName,
    // The baseline of the apply path: a later change (an event, or reconciliation when every event was
    // lost) is then compared with what was created, so a status moved in the UI is a status change.
    partnerCenter: partnerSnapshotOf(created),
    lastError: undefined,
    ...(request.dealType === 'CoSell'
      ? context.handOn(claimed, StepName.Microsoft)
      : { state: TrackingState.Completed, ...RELEASED_LEASE, request: undefined }),
  });
  context.logger.info('Partner referral created', {
    trackingId,
    partnerReferralId: created.id,
    engagementId: created.engagementId,
    state: record.state,
  });
  return { kind: 'done', record };
};

/** The validated request a step works from (kept on the record until it is final). */
export function requestOf(record: TrackingRecord): NonNullable<TrackingRecord['request']> {
  if (!record.request) throw new StepPreconditionError(record.trackingId, 'request');
  return record.request;
}
