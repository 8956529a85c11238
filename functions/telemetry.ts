/**
 * Not a function: the worker loads package.json `main` (`dist/bundle/functions.js`, every module of
 * functions/ in one file; scripts/build-functions.ts), so this module starts OpenTelemetry for the worker
 * at load time, before the first invocation.
 *
 * With neither `APPLICATIONINSIGHTS_CONNECTION_STRING` nor `OTEL_EXPORTER_OTLP_ENDPOINT` set (the
 * sandbox, tests) it does nothing and loads nothing. See docs/observability.md.
 */
import type * as InstrumentationModule from '@azure/functions-opentelemetry-instrumentation';
import { startTelemetry } from '../shared/platform/telemetry';

/**
 * `AzureFunctionsInstrumentation` (constructed after the SDK so its logger is the SDK's): tells the host
 * the worker sends its own logs, turns `context.log` into OpenTelemetry logs, and runs each handler in
 * the host's invocation trace. Constructing it enables it; requiring `@azure/functions` once more applies
 * its patch even though the function modules loaded the package before this one.
 */
export function instrumentAzureFunctions(load: (id: string) => unknown): void {
  const { AzureFunctionsInstrumentation } = load(
    '@azure/functions-opentelemetry-instrumentation',
  ) as typeof InstrumentationModule;
  new AzureFunctionsInstrumentation();
  load('@azure/functions');
}

/** What telemetry start did in this worker (reported once in the log when it started). */
export const telemetry = startTelemetry(process.env, { instrumentHost: instrumentAzureFunctions });

if (telemetry.started) console.log(`OpenTelemetry started: ${telemetry.exporters.join(', ')}`);
