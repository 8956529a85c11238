/**
 * Not a function: the worker loads every file matching package.json `main` (`dist/functions/*.js`), so
 * this module starts OpenTelemetry for the worker at load time, before the first invocation.
 *
 * With neither `APPLICATIONINSIGHTS_CONNECTION_STRING` nor `OTEL_EXPORTER_OTLP_ENDPOINT` set (the
 * sandbox, tests) it does nothing and loads nothing. See docs/observability.md.
 */
import { startTelemetry } from '../shared/platform/telemetry';

/** What telemetry start did in this worker (reported once in the log when it started). */
export const telemetry = startTelemetry(process.env);

if (telemetry.started) console.log(`OpenTelemetry started: ${telemetry.exporters.join(', ')}`);
