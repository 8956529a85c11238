import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getAppServices } from '../shared/app/composition';
import { jsonResponse } from './edge/http';

/** GET /api/health: version and the state of each configured dependency; 503 when one is down. */
export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  // Loaded on the first call, not at cold start (bench:coldstart).
  const { checkHealth } = require('../shared/app/health') as typeof import('../shared/app/health');
  const report = await checkHealth(() => getAppServices());
  if (report.status !== 'ok') context.warn(`Health: ${report.status}`);
  return jsonResponse(report.status === 'unhealthy' ? 503 : 200, report, { 'Cache-Control': 'no-store' });
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: health });
