import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import {
  baseUrlOf,
  guard,
  jsonResponse,
  RETRY_AFTER_SECONDS,
  trackingIdParam,
  trackingRecordNotFound,
  trackingView,
} from './edge/http';

/**
 * GET /api/referrals/{trackingId}: the tracking view. 202 + Retry-After while work continues (the
 * async pattern Power Automate polls), 200 once final, 404 for an unknown id.
 */
export async function getReferral(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    const trackingId = trackingIdParam(request);
    if (!trackingId) return trackingRecordNotFound();
    const { workflow, settings } = getAppServices();
    const record = await workflow.get(trackingId);
    if (!record) return trackingRecordNotFound();
    const location = `${baseUrlOf(request, settings.PUBLIC_BASE_URL)}/api/referrals/${trackingId}`;
    const view = trackingView().toTrackingView(record, location);
    return view.final
      ? jsonResponse(200, view)
      : jsonResponse(202, view, { Location: location, 'Retry-After': RETRY_AFTER_SECONDS });
  });
}

app.http('getReferral', {
  methods: ['GET'],
  route: 'referrals/{trackingId}',
  authLevel: 'function',
  handler: getReferral,
});
