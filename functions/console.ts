import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { problem } from '../shared/referral/problem';
import { guard, problemResponse } from './edge/http';

/**
 * The operations console (docs/console.md): the page and its bundled files (its data: consoleApi.ts). Same
 * authentication as the API: a function key (`?code=`, carried by the page into its asset and API URLs) or
 * Entra in front of the app.
 */

/** GET /api/console: the page. */
export async function consolePage(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, () => {
    const { assets } = getAppServices().listing;
    if (!assets.available()) {
      return Promise.resolve(
        problemResponse(problem(503, 'console-not-built', 'The console is not built', 'Run npm run build.')),
      );
    }
    const page = assets.page(request.query.get('code') ?? undefined);
    return Promise.resolve({ status: 200, body: page.body, headers: page.headers });
  });
}

/** GET /api/console/assets/{file}: a bundled script or style sheet. */
export async function consoleAsset(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return guard(context, () => {
    const asset = getAppServices().listing.assets.asset(request.params.file ?? '');
    if (!asset) return Promise.resolve(problemResponse(problem(404, 'not-found', 'No such console file')));
    return Promise.resolve({ status: 200, body: asset.body, headers: asset.headers });
  });
}

app.http('consolePage', { methods: ['GET'], route: 'console', authLevel: 'function', handler: consolePage });
app.http('consoleAsset', {
  methods: ['GET'],
  route: 'console/assets/{file}',
  authLevel: 'function',
  handler: consoleAsset,
});
