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
 * PATCH /api/referrals/{trackingId}: change a referral with a JSON merge patch (docs/contract.md, "Changing
 * a referral"). 200 with the tracking view when applied, 202 + Location while it continues from the queue,
 * `?dryRun=true` 200 with the JSON Patch that would be sent; 400 (a pointer per field), 404, 409
 * (`#terminal-state`, `#conflict`, `#not-created`), 422 (key reused, Partner Center refused).
 */
export async function patchReferral(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const trackingId = trackingIdParam(request);
    if (!trackingId) return trackingRecordNotFound();
    const body = await readJsonBody(request);
    if (!body.ok) return body.response;
    const { updates, settings } = getAppServices();
    const dryRun = /^(true|1)$/i.test(request.query.get('dryRun') ?? '');
    const outcome = await updates.change({
      trackingId,
      body: body.value,
      idempotencyKey: request.headers.get('idempotency-key') ?? undefined,
      source: 'http',
      dryRun,
      timeBudgetMs: settings.SUBMIT_TIME_BUDGET_MS,
      traceparent: context.traceContext?.traceParent ?? undefined,
    });
    if (outcome.kind === 'problem') return problemResponse(outcome.problem);
    if (outcome.kind === 'dryRun')
      return jsonResponse(200, { dryRun: true, ifMatch: outcome.ifMatch, operations: outcome.operations });
    const location = `${baseUrlOf(request, settings.PUBLIC_BASE_URL)}/api/referrals/${trackingId}`;
    const replayHeader: Record<string, string> = outcome.replayed ? { 'Idempotent-Replayed': 'true' } : {};
    if (outcome.kind === 'answered' && outcome.problem) return problemResponse(outcome.problem, replayHeader);
    const { toTrackingView } = trackingView();
    const view = toTrackingView(outcome.record, location);
    if (outcome.kind === 'pending')
      return jsonResponse(202, view, { Location: location, 'Retry-After': RETRY_AFTER_SECONDS, ...replayHeader });
    return jsonResponse(200, view, replayHeader);
  });
}

app.http('patchReferral', {
  methods: ['PATCH'],
  route: 'referrals/{trackingId}',
  authLevel: 'function',
  handler: patchReferral,
});
