import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { guard, jsonResponse, problemResponse, trackingIdParam, trackingRecordNotFound } from './edge/http';

/**
 * The operations console's data (docs/console.md): status, chart summary, poison messages, a refused deal's
 * resend eligibility. The page itself: console.ts; the actions (poison replay/discard, resend): consoleActions.ts.
 */
const requests = () => import('../shared/listing/consoleRequests');
const poisonQueues = () => import('../shared/listing/poisonQueues');
const consoleResend = () => import('../shared/listing/consoleResend');
const noStore = { 'Cache-Control': 'no-store' };

/** GET /api/console/status: health, re-consent, refresh-token age, queue depths, enabled actions. */
export async function consoleStatus(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const { checkHealth } = await import('../shared/app/health');
    const status = await getAppServices().listing.status.read(() => checkHealth(() => getAppServices()));
    return jsonResponse(200, status, noStore);
  });
}

/** GET /api/console/summary?days=N: the charts' data. */
export async function consoleSummary(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const days = (await requests()).parseSummaryDays(request.query.get('days'));
    if (!days.ok) return problemResponse(days.problem);
    return jsonResponse(200, await getAppServices().listing.summary(days.value), noStore);
  });
}

/** GET /api/console/poison/{queue}: ids, times and dequeue counts of poison messages (never their text). */
export async function consolePoison(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const queue = (await requests()).parseQueueName(request.params.queue);
    if (!queue.ok) return problemResponse(queue.problem);
    const { peekPoison } = await poisonQueues();
    const { listing } = getAppServices();
    return jsonResponse(
      200,
      { queue: queue.value, messages: await peekPoison(listing.queueFor, queue.value) },
      noStore,
    );
  });
}

/** GET /api/console/resend/{trackingId}: whether a refused deal can be resent, and what it needs (never its data). */
export async function consoleResendCheck(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const trackingId = trackingIdParam(request);
    const { workflow, listing } = getAppServices();
    const record = trackingId ? await workflow.get(trackingId) : undefined;
    if (!record) return trackingRecordNotFound();
    const eligibility = (await consoleResend()).resendEligibility(record);
    return jsonResponse(200, { ...eligibility, actionsEnabled: listing.actionsEnabled }, noStore);
  });
}

app.http('consoleStatus', { methods: ['GET'], route: 'console/status', authLevel: 'function', handler: consoleStatus });
app.http('consoleSummary', {
  methods: ['GET'],
  route: 'console/summary',
  authLevel: 'function',
  handler: consoleSummary,
});
app.http('consolePoison', {
  methods: ['GET'],
  route: 'console/poison/{queue}',
  authLevel: 'function',
  handler: consolePoison,
});
app.http('consoleResendCheck', {
  methods: ['GET'],
  route: 'console/resend/{trackingId}',
  authLevel: 'function',
  handler: consoleResendCheck,
});
