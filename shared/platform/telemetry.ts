/**
 * OpenTelemetry for the Node.js worker: start it when it is configured (a trace's continuation across a
 * queue hop is tracing.ts).
 *
 * Nothing heavy is loaded unless telemetry is configured: `@azure/monitor-opentelemetry` costs hundreds
 * of milliseconds to require, so it (and every other OpenTelemetry package) is required inside
 * {@link startTelemetry}, only when `APPLICATIONINSIGHTS_CONNECTION_STRING` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
 */
import type { TokenCredential } from '@azure/core-auth';
import type * as AzureMonitorModule from '@azure/monitor-opentelemetry';
import type * as IdentityModule from '@azure/identity';
import type * as SdkTraceBaseModule from '@opentelemetry/sdk-trace-base';
import type * as SdkMetricsModule from '@opentelemetry/sdk-metrics';
import type * as TraceExporterModule from '@opentelemetry/exporter-trace-otlp-http';
import type * as MetricExporterModule from '@opentelemetry/exporter-metrics-otlp-http';
import type * as SdkNodeModule from '@opentelemetry/sdk-node';
import type * as InstrumentationHttpModule from '@opentelemetry/instrumentation-http';
import { BridgeError, ensureError } from './errors';

/** Where telemetry goes. */
export const TelemetryExporter = { AzureMonitor: 'azureMonitor', Otlp: 'otlp' } as const;
export type TelemetryExporter = (typeof TelemetryExporter)[keyof typeof TelemetryExporter];

/** The environment variables {@link startTelemetry} reads. */
export const TELEMETRY_SETTINGS = {
  connectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
  authenticationString: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
} as const;

/** What {@link planTelemetry} decided from the environment. */
export interface TelemetryPlan {
  /** Send to Application Insights (useAzureMonitor). */
  azureMonitor?: {
    connectionString: string;
    /** Entra ID (AAD) authentication, from `APPLICATIONINSIGHTS_AUTHENTICATION_STRING=...;Authorization=AAD`. */
    entra?: { clientId?: string };
  };
  /** Also (or only) send OTLP to `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  otlp?: { endpoint: string };
}

/** Result of {@link startTelemetry}. */
export interface TelemetryStatus {
  started: boolean;
  exporters: TelemetryExporter[];
  /** Why it did not start (not configured, or the SDK failed). */
  reason?: string;
}

/** Telemetry could not start; the app keeps running without it. */
export class TelemetryStartError extends BridgeError {
  constructor(message: string, cause?: unknown) {
    super(message, { cause, retryable: false });
    this.name = 'TelemetryStartError';
  }
}

/** Options of {@link startTelemetry}. */
export interface StartTelemetryOptions {
  /**
   * Instruments the hosting runtime once the SDK runs (the Functions edge passes one that enables
   * `AzureFunctionsInstrumentation`; shared/ itself never loads @azure/functions).
   */
  instrumentHost?: (load: (id: string) => unknown) => void;
  /** Loads a module (tests pass fakes). @default require */
  load?: (moduleId: string) => unknown;
  /** Credential for Entra authentication of the exporter. @default DefaultAzureCredential (with the ClientId of the authentication string) */
  credential?: TokenCredential;
  /** Where a start failure is reported. @default console.error */
  onError?: (error: TelemetryStartError) => void;
}

/** The `@opentelemetry/api` globals live under this key (API major version 1). */
const OTEL_API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

let status: TelemetryStatus | undefined;

/**
 * Reads the telemetry settings. `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` is
 * `Authorization=AAD` or `ClientId=<user-assigned identity client id>;Authorization=AAD` (what infra/
 * sets when the Application Insights resource has local authentication disabled).
 */
export function planTelemetry(env: Record<string, string | undefined>): TelemetryPlan {
  const plan: TelemetryPlan = {};
  const connectionString = env[TELEMETRY_SETTINGS.connectionString]?.trim();
  if (connectionString) {
    const auth = parseKeyValues(env[TELEMETRY_SETTINGS.authenticationString] ?? '');
    const entra = auth.authorization?.toUpperCase() === 'AAD';
    plan.azureMonitor = {
      connectionString,
      ...(entra ? { entra: auth.clientid ? { clientId: auth.clientid } : {} } : {}),
    };
  }
  const endpoint = env[TELEMETRY_SETTINGS.otlpEndpoint]?.trim();
  if (endpoint) plan.otlp = { endpoint };
  return plan;
}

/**
 * Starts OpenTelemetry for this process, once: the Azure Monitor distro (`useAzureMonitor`: traces,
 * metrics and logs to Application Insights, HTTP and Azure SDK dependencies instrumented) when
 * `APPLICATIONINSIGHTS_CONNECTION_STRING` is set, OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (both
 * when both are), and `AzureFunctionsInstrumentation` so that function logs and the host's invocation
 * trace reach the handlers. Does nothing, and loads nothing, when neither is set.
 *
 * Never throws: a telemetry failure is reported through `onError` and the app runs without it.
 * Pair it with host.json `"telemetryMode": "OpenTelemetry"` (docs/observability.md).
 */
export function startTelemetry(
  env: Record<string, string | undefined> = process.env,
  options: StartTelemetryOptions = {},
): TelemetryStatus {
  if (status) return status;
  const plan = planTelemetry(env);
  if (!plan.azureMonitor && !plan.otlp) {
    status = {
      started: false,
      exporters: [],
      reason: `neither ${TELEMETRY_SETTINGS.connectionString} nor ${TELEMETRY_SETTINGS.otlpEndpoint} is set`,
    };
    return status;
  }
  const load = options.load ?? require;
  try {
    if (plan.azureMonitor) startAzureMonitor(plan, load, options.credential);
    else startOtlpOnly(load);
    options.instrumentHost?.(load);
    status = { started: true, exporters: exportersOf(plan) };
  } catch (thrown) {
    const error = new TelemetryStartError(`OpenTelemetry did not start: ${ensureError(thrown).message}`, thrown);
    (options.onError ?? ((e: TelemetryStartError) => console.error(`${e.name}: ${e.message}`)))(error);
    status = { started: false, exporters: [], reason: error.message };
  }
  return status;
}

/** What {@link startTelemetry} did in this process (undefined before it ran). */
export function telemetryStatus(): TelemetryStatus | undefined {
  return status;
}

/** Forgets the start status (tests only: it does not stop an SDK that was started). */
export function resetTelemetryStatus(): void {
  status = undefined;
}

function startAzureMonitor(
  plan: TelemetryPlan,
  load: (id: string) => unknown,
  credential: TokenCredential | undefined,
): void {
  const azureMonitor = plan.azureMonitor!;
  const { useAzureMonitor } = load('@azure/monitor-opentelemetry') as typeof AzureMonitorModule;
  let exporterCredential = credential;
  if (azureMonitor.entra && !exporterCredential) {
    const { DefaultAzureCredential } = load('@azure/identity') as typeof IdentityModule;
    const clientId = azureMonitor.entra.clientId;
    exporterCredential = new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
  }
  const otlp = plan.otlp ? otlpPipelines(load) : undefined;
  useAzureMonitor({
    // Keep every trace: a referral's trace spans an HTTP request and queue hops in other processes,
    // and the volume is small. The ratio sampler decides from the trace id, so every process agrees.
    // OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG override this (the distro reads them last).
    samplingRatio: 1,
    tracesPerSecond: 0,
    azureMonitorExporterOptions: {
      connectionString: azureMonitor.connectionString,
      ...(azureMonitor.entra ? { credential: exporterCredential } : {}),
    },
    instrumentationOptions: {
      // Outgoing calls (Partner Center, Entra, Key Vault, Storage) become dependencies. Incoming HTTP
      // reaches the worker over the host's gRPC channel, so the host's invocation span is the request.
      http: { enabled: true, disableIncomingRequestInstrumentation: true } as { enabled: boolean },
      azureSdk: { enabled: true },
    },
    ...(otlp ?? {}),
  });
}

/**
 * OTLP pipelines added to the Azure Monitor distro when both destinations are configured: traces and
 * metrics over OTLP http/json to `OTEL_EXPORTER_OTLP_ENDPOINT` (the exporters the distro itself depends
 * on); logs go to Application Insights only.
 */
function otlpPipelines(load: (id: string) => unknown) {
  const { BatchSpanProcessor } = load('@opentelemetry/sdk-trace-base') as typeof SdkTraceBaseModule;
  const { PeriodicExportingMetricReader } = load('@opentelemetry/sdk-metrics') as typeof SdkMetricsModule;
  const { OTLPTraceExporter } = load('@opentelemetry/exporter-trace-otlp-http') as typeof TraceExporterModule;
  const { OTLPMetricExporter } = load('@opentelemetry/exporter-metrics-otlp-http') as typeof MetricExporterModule;
  return {
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
    metricReaders: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter() })],
  };
}

/** OTLP only: the SDK reads every OTEL_* variable itself (endpoint, headers, protocol, exporters). */
function startOtlpOnly(load: (id: string) => unknown): void {
  const { NodeSDK } = load('@opentelemetry/sdk-node') as typeof SdkNodeModule;
  const { HttpInstrumentation } = load('@opentelemetry/instrumentation-http') as typeof InstrumentationHttpModule;
  new NodeSDK({ instrumentations: [new HttpInstrumentation({ disableIncomingRequestInstrumentation: true })] }).start();
}

function exportersOf(plan: TelemetryPlan): TelemetryExporter[] {
  return [
    ...(plan.azureMonitor ? [TelemetryExporter.AzureMonitor] : []),
    ...(plan.otlp ? [TelemetryExporter.Otlp] : []),
  ];
}

/** `A=1;B=2` → `{ a: '1', b: '2' }` (keys lower-cased). */
function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  return out;
}

/** True once an OpenTelemetry SDK (ours, or a test's) registered the global `type` provider. */
export function isRegistered(type: 'trace' | 'metrics'): boolean {
  const globals = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[OTEL_API_GLOBAL];
  return globals?.[type] !== undefined;
}
