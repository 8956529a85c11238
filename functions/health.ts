import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from './edge/services';
import { jsonResponse } from './edge/http';
import { lazy } from '../shared/platform/lazy';
import type * as HealthModule from '../shared/app/health';

/** Loaded on the first call, not at cold start (bench:coldstart). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a literal id, kept by the bundle (scripts/build-functions.ts)
const healthChecks = lazy(() => require('../shared/app/health') as typeof HealthModule);

/** GET /api/health: version and the state of each configured dependency; 503 when one is down. */
export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const report = await healthChecks().checkHealth(() => getAppServices());
  if (report.status !== 'ok') context.warn(`Health: ${report.status}`);
  return jsonResponse(report.status === 'unhealthy' ? 503 : 200, report, { 'Cache-Control': 'no-store' });
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health });
