import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { problem } from '../shared/referral/problem';
import { guard, jsonResponse, problemResponse } from './edge/http';

/**
 * POST /api/partner-center/events: a Partner Center webhook delivery (docs/events.md). The signature is
 * verified over the raw body bytes before anything parses them; a verified referral event is stored on
 * `referral-sync` and answered 200 at once (the sync step GETs and applies it from the queue).
 * 401 for anything not verifiable or outside the replay window, 400 for a verified body that is not an
 * event, 200 (not enqueued) for `test-created` and unknown event names, 503 when the queue fails.
 * Nothing of the body is logged or echoed.
 */
export async function partnerCenterEvents(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const services = getAppServices();
    const body = await readBodyBytes(request, services.settings.EVENTS_MAX_BODY_BYTES);
    const events = services.eventsHealth();
    const outcome = await services
      .eventReceiver()
      .receive({ headers: request.headers, body, traceparent: context.traceContext?.traceParent ?? undefined })
      .catch(async (error: unknown) => {
        await events.recordDelivery('failed');
        throw error;
      });
    // Counted by outcome; an authentic delivery's time is kept for /api/health (table row at most once a minute).
    await events.recordDelivery(
      outcome.kind,
      outcome.kind === 'enqueued'
        ? outcome.message.eventName
        : outcome.kind === 'ignored'
          ? outcome.eventName
          : undefined,
    );
    switch (outcome.kind) {
      case 'refused':
        context.warn(`Partner Center event refused: ${outcome.reason}${outcome.detail ? ` (${outcome.detail})` : ''}`);
        return problemResponse(
          problem(401, 'event-unauthenticated', 'The delivery could not be verified', `Refused: ${outcome.reason}.`, {
            reason: outcome.reason,
          }),
          { 'WWW-Authenticate': 'Signature' },
        );
      case 'invalid':
        context.warn(`Partner Center event verified but not readable: ${outcome.problem}`);
        return problemResponse(
          problem(400, 'event-invalid', 'The delivery is not a Partner Center event', outcome.problem),
        );
      case 'ignored':
        context.log(`Partner Center event ignored: ${outcome.eventName} (${outcome.why})`);
        return jsonResponse(200, { status: 'ignored', eventName: outcome.eventName, reason: outcome.why });
      case 'enqueued':
        context.log(
          `Partner Center event queued: ${outcome.message.eventName} referral ${outcome.message.referralId} (${outcome.message.dedupeKey})`,
        );
        return jsonResponse(200, { status: 'queued', dedupeKey: outcome.message.dedupeKey });
    }
  });
}

/** The raw body, unread (empty) when Content-Length already says it is over the cap: the verifier refuses it. */
async function readBodyBytes(request: HttpRequest, maxBytes: number): Promise<Uint8Array> {
  if (Number(request.headers.get('content-length') ?? '0') > maxBytes) return new Uint8Array(0);
  try {
    return new Uint8Array(await request.arrayBuffer());
  } catch {
    return new Uint8Array(0);
  }
}

app.http('partnerCenterEvents', {
  methods: ['POST'],
  route: 'partner-center/events',
  authLevel: 'function',
  handler: partnerCenterEvents,
});
