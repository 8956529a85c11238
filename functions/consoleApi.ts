import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { problem } from '../shared/referral/problem';
import { guard, jsonResponse, problemResponse, readJsonBody } from './edge/http';

/**
 * The operations console's data (docs/console.md): status, chart summary, poison messages and the poison
 * actions (off unless CONSOLE_ACTIONS_ENABLED). The page itself: console.ts.
 */
const requests = () => import('../shared/listing/consoleRequests');
const poisonQueues = () => import('../shared/listing/poisonQueues');
const noStore = { 'Cache-Control': 'no-store' };
const ACTIONS_OFF = problem(
  403,
  'console-actions-disabled',
  'Console actions are off',
  'Set CONSOLE_ACTIONS_ENABLED=true.',
);

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

/** POST /api/console/actions/poison `{ queue, messageId, action: replay|discard }`: 403 unless CONSOLE_ACTIONS_ENABLED. */
export async function consolePoisonAction(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const { listing } = getAppServices();
    if (!listing.actionsEnabled) return problemResponse(ACTIONS_OFF);
    const body = await readJsonBody(request);
    if (!body.ok) return body.response;
    const action = (await requests()).parsePoisonAction(body.value);
    if (!action.ok) return problemResponse(action.problem);
    const { actOnPoisonMessage } = await poisonQueues();
    const { queue, messageId, action: kind } = action.value;
    const found = await actOnPoisonMessage(listing.queueFor, queue, messageId, kind);
    context.log(`Console poison action: ${kind} ${messageId} of ${queue}-poison (${found ? 'done' : 'not found'})`);
    if (!found) return problemResponse(problem(404, 'not-found', 'No such poison message (already moved?)'));
    return jsonResponse(200, { queue, messageId, action: kind, done: true }, noStore);
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
app.http('consolePoisonAction', {
  methods: ['POST'],
  route: 'console/actions/poison',
  authLevel: 'function',
  handler: consolePoisonAction,
});
