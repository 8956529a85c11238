import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import {
  baseUrlOf,
  guard,
  jsonResponse,
  problemResponse,
  readJsonBody,
  RETRY_AFTER_SECONDS,
  trackingView,
} from './edge/http';

/**
 * POST /api/referrals: submit a referral. 201 when the partner referral exists and nothing else is to
 * do, 202 + Location while work continues (co-sell link, or Partner Center slow), 200 for a replay of
 * a finished request, 400/415/413 for bad input, 422 for a Partner Center refusal or a reused key.
 */
export async function submitReferral(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const body = await readJsonBody(request);
    if (!body.ok) return body.response;
    const { workflow, settings } = getAppServices();
    const baseUrl = baseUrlOf(request, settings.PUBLIC_BASE_URL);
    const outcome = await workflow.submit({
      body: body.value,
      idempotencyKey: request.headers.get('idempotency-key') ?? undefined,
      source: 'http',
      timeBudgetMs: settings.SUBMIT_TIME_BUDGET_MS,
      traceparent: context.traceContext?.traceParent ?? undefined,
      baseUrl,
    });
    if (outcome.kind === 'invalid') return problemResponse(outcome.problem);
    if (outcome.kind === 'keyReused') return problemResponse(outcome.problem);
    const location = `${baseUrl}/api/referrals/${outcome.record.trackingId}`;
    const { toTrackingView, partnerCenterRejectedProblem } = trackingView();
    const view = toTrackingView(outcome.record, location);
    const replayHeader: Record<string, string> = outcome.replayed ? { 'Idempotent-Replayed': 'true' } : {};
    if (outcome.kind === 'rejected')
      return problemResponse(partnerCenterRejectedProblem(view), { Location: location, ...replayHeader });
    if (!view.final)
      return jsonResponse(202, view, { Location: location, 'Retry-After': RETRY_AFTER_SECONDS, ...replayHeader });
    return jsonResponse(outcome.replayed ? 200 : 201, view, { Location: location, ...replayHeader });
  });
}

app.http('submitReferral', { methods: ['POST'], route: 'referrals', authLevel: 'function', handler: submitReferral });
