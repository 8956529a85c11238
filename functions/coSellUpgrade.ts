import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import {
  baseUrlOf,
  guard,
  jsonResponse,
  problemResponse,
  readJsonBody,
  RETRY_AFTER_SECONDS,
  trackingIdParam,
  trackingRecordNotFound,
  trackingView,
} from './edge/http';

/**
 * POST /api/referrals/{trackingId}/co-sell: upgrade a Private or PartnerLed deal to co-sell (docs/contract.md,
 * "Upgrade to co-sell"). 200 when the record is Linked (now, or already), 202 + Location while the Microsoft
 * referral is being created, 400 for a bad body (or a Private deal without `shareWithMicrosoft: true`), 404,
 * 409 for a closed, inbound or not yet created deal, 422 when Partner Center refused.
 */
export async function coSellUpgrade(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const trackingId = trackingIdParam(request);
    if (!trackingId) return trackingRecordNotFound();
    const body = await readJsonBody(request);
    if (!body.ok) return body.response;
    const services = getAppServices();
    const outcome = await services.coSellUpgrade().upgrade({
      trackingId,
      body: body.value,
      timeBudgetMs: services.settings.SUBMIT_TIME_BUDGET_MS,
    });
    if (outcome.kind === 'invalid' || outcome.kind === 'notFound' || outcome.kind === 'refused')
      return problemResponse(outcome.problem);
    const location = `${baseUrlOf(request, services.settings.PUBLIC_BASE_URL)}/api/referrals/${trackingId}`;
    const { partnerCenterRejectedProblem, toTrackingView } = trackingView();
    const view = toTrackingView(outcome.record, location);
    if (outcome.kind === 'rejected') return problemResponse(partnerCenterRejectedProblem(view), { Location: location });
    if (!view.final) return jsonResponse(202, view, { Location: location, 'Retry-After': RETRY_AFTER_SECONDS });
    return jsonResponse(200, view, { Location: location });
  });
}

app.http('coSellUpgrade', {
  methods: ['POST'],
  route: 'referrals/{trackingId}/co-sell',
  authLevel: 'function',
  handler: coSellUpgrade,
});
