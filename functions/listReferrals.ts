import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { baseUrlOf, guard, jsonResponse, problemResponse } from './edge/http';

/**
 * GET /api/referrals: a page of tracking views from the referral index, newest first, with filters
 * (`state`, `final`, `dealType`, `direction`, `decision`, `updatedSince`, `externalReferenceId`), `limit` and an
 * opaque `cursor`. A bad parameter answers 400 problem+json naming it. docs/console.md says what each filter costs.
 */
export async function listReferrals(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, async () => {
    // Loaded on the first call, not at cold start.
    const { parseListQuery, invalidQueryProblem } = await import('../shared/listing/listQuery');
    const parsed = parseListQuery(request.query.entries());
    if (!parsed.ok) return problemResponse(invalidQueryProblem(parsed.invalid));
    const { listing, settings } = getAppServices();
    const base = `${baseUrlOf(request, settings.PUBLIC_BASE_URL)}/api/referrals/`;
    const page = await listing.lister.list(parsed.query, (trackingId) => `${base}${trackingId}`);
    return jsonResponse(
      200,
      { items: page.items, nextCursor: page.nextCursor },
      {
        'Cache-Control': 'no-store',
        'Index-Days-Examined': String(page.cost.days),
        'Index-Partitions-Examined': String(page.cost.partitions),
        'Index-Entries-Returned': String(page.cost.entries),
        'Record-Reads': String(page.cost.recordReads),
      },
    );
  });
}

app.http('listReferrals', {
  methods: ['GET'],
  route: 'referrals',
  authLevel: 'function',
  handler: listReferrals,
});
