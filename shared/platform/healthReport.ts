/**
 * The shape of the app's health report (GET /api/health), below both the app (shared/app/health.ts, which
 * builds it) and the console (shared/listing/consoleStatus.ts, which shows it), so neither imports the other.
 */

/** State of one dependency. */
export interface DependencyHealth {
  status: 'ok' | 'degraded' | 'down' | 'not-configured';
  detail?: string;
  [extra: string]: unknown;
}

/** The body of GET /api/health. */
export interface HealthReport {
  status: 'ok' | 'degraded' | 'unhealthy';
  version: string;
  time: string;
  dependencies: Record<string, DependencyHealth>;
}
