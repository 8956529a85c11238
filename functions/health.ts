import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from '../shared/app/composition';
import { checkHealth } from '../shared/app/health';
import { jsonResponse } from './edge/http';

/** GET /api/health: version and the state of each configured dependency; 503 when one is down. */
export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const report = await checkHealth(() => getAppServices());
  if (report.status !== 'ok') context.warn(`Health: ${report.status}`);
  return jsonResponse(report.status === 'unhealthy' ? 503 : 200, report, { 'Cache-Control': 'no-store' });
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health });
