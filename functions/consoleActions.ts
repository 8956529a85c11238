import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import {
  baseUrlOf,
  guard,
  jsonResponse,
  problemResponse,
  readJsonBody,
  statusUrlOf,
  trackingIdParam,
  trackingRecordNotFound,
  trackingView,
} from './edge/http';

/**
 * The operations console's actions (docs/console.md): poison replay/discard and resending a fixed deal. Off
 * unless CONSOLE_ACTIONS_ENABLED, same-origin only (CSRF). The console's reads: consoleApi.ts.
 */
const requests = () => import('../shared/listing/consoleRequests');
const consoleResend = () => import('../shared/listing/consoleResend');
const noStore = { 'Cache-Control': 'no-store' };

/** 403 unless actions are on and the request comes from the console's own origin (CSRF), else undefined. */
async function refuseAction(request: HttpRequest): Promise<HttpResponseInit | undefined> {
  const { listing, settings } = getAppServices();
  const refusal = (await requests()).actionRefusal({
    actionsEnabled: listing.actionsEnabled,
    origins: [baseUrlOf(request), ...(settings.PUBLIC_BASE_URL ? [settings.PUBLIC_BASE_URL] : [])],
    headers: { origin: request.headers.get('origin'), secFetchSite: request.headers.get('sec-fetch-site') },
  });
  return refusal ? problemResponse(refusal) : undefined;
}

/** POST /api/console/actions/poison `{ queue, messageId, action: replay|discard }`: 403 unless CONSOLE_ACTIONS_ENABLED. */
export async function consolePoisonAction(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const refusal = await refuseAction(request);
    if (refusal) return refusal;
    const body = await readJsonBody(request);
    if (!body.ok) return body.response;
    const outcome = await (await requests()).runPoisonAction(getAppServices().listing.queueFor, body.value);
    if (!outcome.ok) return problemResponse(outcome.problem);
    const { queue, messageId, action } = outcome.value;
    context.log(`Console poison action: ${action} ${messageId} of ${queue}-poison`);
    return jsonResponse(200, { queue, messageId, action, done: true }, noStore);
  });
}

/**
 * POST /api/console/actions/resend/{trackingId}: the corrected request body (what POST /api/referrals takes),
 * the deal's Idempotency-Key as that header when it had one. 200 `{ resent, tracking }`; 403 unless actions are
 * on and same-origin; 400/409/422 problems with nothing written (shared/listing/consoleResend.ts). The body is
 * never logged or echoed.
 */
export async function consoleResendAction(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const refusal = await refuseAction(request);
    if (refusal) return refusal;
    const trackingId = trackingIdParam(request);
    if (!trackingId) return trackingRecordNotFound();
    const body = await readJsonBody(request);
    if (!body.ok) return body.response;
    const { workflow, settings } = getAppServices();
    const { resendFixedDeal } = await consoleResend();
    const outcome = await resendFixedDeal(workflow, {
      trackingId,
      body: body.value,
      idempotencyKey: request.headers.get('idempotency-key') ?? undefined,
      timeBudgetMs: settings.SUBMIT_TIME_BUDGET_MS,
      traceparent: context.traceContext?.traceParent ?? undefined,
      baseUrl: baseUrlOf(request, settings.PUBLIC_BASE_URL),
    });
    if (outcome.kind === 'refused') return problemResponse(outcome.problem);
    const view = trackingView().toTrackingView(
      outcome.record,
      statusUrlOf(request, settings.PUBLIC_BASE_URL, trackingId),
    );
    context.log(`Console resend of ${trackingId}: now ${view.state}${outcome.replayed ? ' (replayed)' : ''}`);
    return jsonResponse(200, { resent: true, replayed: outcome.replayed, tracking: view }, noStore);
  });
}

app.http('consolePoisonAction', {
  methods: ['POST'],
  route: 'console/actions/poison',
  authLevel: 'function',
  handler: consolePoisonAction,
});
app.http('consoleResendAction', {
  methods: ['POST'],
  route: 'console/actions/resend/{trackingId}',
  authLevel: 'function',
  handler: consoleResendAction,
});
