import {
  planTelemetry,
  resetTelemetryStatus,
  startTelemetry,
  telemetryStatus,
  TelemetryStartError,
} from '../../../shared/platform/telemetry';
import { instrumentAzureFunctions } from '../../../functions/telemetry';

const CONNECTION_STRING =
  'InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://example.invalid/';

/** A fake module loader that records what was loaded, in order, and what the fakes were called with. */
function fakeLoader(overrides: { useAzureMonitor?: (options: unknown) => void } = {}) {
  const loaded: string[] = [];
  const calls: Array<{ what: string; args: unknown }> = [];
  const load = (id: string): unknown => {
    loaded.push(id);
    switch (id) {
      case '@azure/monitor-opentelemetry':
        return {
          useAzureMonitor: (options: unknown) => {
            calls.push({ what: 'useAzureMonitor', args: options });
            overrides.useAzureMonitor?.(options);
          },
        };
      case '@azure/identity':
        return {
          DefaultAzureCredential: class {
            constructor(options: unknown) {
              calls.push({ what: 'DefaultAzureCredential', args: options });
            }
          },
        };
      case '@azure/functions-opentelemetry-instrumentation':
        return {
          AzureFunctionsInstrumentation: class {
            constructor() {
              calls.push({ what: 'AzureFunctionsInstrumentation', args: undefined });
            }
          },
        };
      case '@opentelemetry/sdk-node':
        return {
          NodeSDK: class {
            constructor(options: unknown) {
              calls.push({ what: 'NodeSDK', args: options });
            }
            start(): void {
              calls.push({ what: 'NodeSDK.start', args: undefined });
            }
          },
        };
      case '@opentelemetry/instrumentation-http':
        return {
          HttpInstrumentation: class {
            constructor(readonly config: unknown) {}
          },
        };
      case '@opentelemetry/sdk-trace-base':
        return {
          BatchSpanProcessor: class {
            constructor(readonly exporter: unknown) {}
          },
        };
      case '@opentelemetry/sdk-metrics':
        return {
          PeriodicExportingMetricReader: class {
            constructor(readonly options: unknown) {}
          },
        };
      case '@opentelemetry/exporter-trace-otlp-http':
        return {
          OTLPTraceExporter: class {
            readonly kind = 'otlp-traces';
          },
        };
      case '@opentelemetry/exporter-metrics-otlp-http':
        return {
          OTLPMetricExporter: class {
            readonly kind = 'otlp-metrics';
          },
        };
      case '@azure/functions':
        return {};
      default:
        throw new Error(`unexpected module ${id}`);
    }
  };
  return { load, loaded, calls };
}

beforeEach(() => resetTelemetryStatus());

describe('planTelemetry', () => {
  it.each([
    { case: 'nothing configured', env: {}, plan: {} },
    {
      case: 'blank settings',
      env: { APPLICATIONINSIGHTS_CONNECTION_STRING: '  ', OTEL_EXPORTER_OTLP_ENDPOINT: '' },
      plan: {},
    },
    {
      case: 'a connection string with key authentication',
      env: { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING },
      plan: { azureMonitor: { connectionString: CONNECTION_STRING } },
    },
    {
      case: 'Entra authentication with the user-assigned identity of infra/',
      env: {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=abc-123;Authorization=AAD',
      },
      plan: { azureMonitor: { connectionString: CONNECTION_STRING, entra: { clientId: 'abc-123' } } },
    },
    {
      case: 'Entra authentication with a system-assigned identity (any key case)',
      env: {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'authorization=aad',
      },
      plan: { azureMonitor: { connectionString: CONNECTION_STRING, entra: {} } },
    },
    {
      case: 'an OTLP endpoint only',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
      plan: { otlp: { endpoint: 'http://collector:4318' } },
    },
    {
      case: 'both destinations',
      env: {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      },
      plan: { azureMonitor: { connectionString: CONNECTION_STRING }, otlp: { endpoint: 'http://collector:4318' } },
    },
  ])('reads $case', ({ env, plan }) => {
    expect(planTelemetry(env)).toEqual(plan);
  });
});

describe('startTelemetry', () => {
  it('leaves the Functions library alone unless the edge asks for its instrumentation', () => {
    const { load, loaded } = fakeLoader();
    startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING }, { load });
    expect(loaded).not.toContain('@azure/functions');
    expect(loaded).not.toContain('@azure/functions-opentelemetry-instrumentation');
  });

  it('does nothing and loads no module when neither destination is configured', () => {
    const { load, loaded } = fakeLoader();
    const status = startTelemetry({}, { load });
    expect(status.started).toBe(false);
    expect(status.reason).toMatch(/APPLICATIONINSIGHTS_CONNECTION_STRING/);
    expect(loaded).toEqual([]);
  });

  it('starts the Azure Monitor distro first, then the Functions instrumentation, then re-requires @azure/functions to patch it', () => {
    const { load, loaded, calls } = fakeLoader();
    const status = startTelemetry(
      { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING },
      { load, instrumentHost: instrumentAzureFunctions },
    );
    expect(status).toEqual({ started: true, exporters: ['azureMonitor'] });
    expect(calls.map((c) => c.what)).toEqual(['useAzureMonitor', 'AzureFunctionsInstrumentation']);
    expect(loaded.at(-1)).toBe('@azure/functions');
    const options = calls[0].args as Record<string, any>;
    expect(options.azureMonitorExporterOptions).toEqual({ connectionString: CONNECTION_STRING });
    expect(options.instrumentationOptions.http).toMatchObject({
      enabled: true,
      disableIncomingRequestInstrumentation: true,
    });
    expect(options.samplingRatio).toBe(1);
    expect(options.tracesPerSecond).toBe(0);
    expect(options.spanProcessors).toBeUndefined();
  });

  it('authenticates the exporter with DefaultAzureCredential for the client id of the authentication string', () => {
    const { load, calls } = fakeLoader();
    startTelemetry(
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=uami-client;Authorization=AAD',
      },
      { load },
    );
    expect(calls.find((c) => c.what === 'DefaultAzureCredential')?.args).toEqual({
      managedIdentityClientId: 'uami-client',
    });
    const options = calls.find((c) => c.what === 'useAzureMonitor')!.args as Record<string, any>;
    expect(options.azureMonitorExporterOptions.credential).toBeDefined();
  });

  it('uses a credential it is given instead of building one', () => {
    const { load, calls } = fakeLoader();
    const credential = { getToken: async () => null };
    startTelemetry(
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD',
      },
      { load, credential },
    );
    expect(calls.some((c) => c.what === 'DefaultAzureCredential')).toBe(false);
    const options = calls.find((c) => c.what === 'useAzureMonitor')!.args as Record<string, any>;
    expect(options.azureMonitorExporterOptions.credential).toBe(credential);
  });

  it('adds OTLP trace and metric pipelines to the distro when both destinations are set', () => {
    const { load, calls } = fakeLoader();
    const status = startTelemetry(
      {
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      },
      { load },
    );
    expect(status.exporters).toEqual(['azureMonitor', 'otlp']);
    const options = calls.find((c) => c.what === 'useAzureMonitor')!.args as Record<string, any>;
    expect(options.spanProcessors).toHaveLength(1);
    expect(options.spanProcessors[0].exporter.kind).toBe('otlp-traces');
    expect(options.metricReaders[0].options.exporter.kind).toBe('otlp-metrics');
  });

  it('starts the plain OpenTelemetry SDK, configured from OTEL_* variables, for an OTLP endpoint alone', () => {
    const { load, loaded, calls } = fakeLoader();
    const status = startTelemetry(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
      { load, instrumentHost: instrumentAzureFunctions },
    );
    expect(status).toEqual({ started: true, exporters: ['otlp'] });
    expect(loaded).not.toContain('@azure/monitor-opentelemetry');
    expect(calls.map((c) => c.what)).toEqual(['NodeSDK', 'NodeSDK.start', 'AzureFunctionsInstrumentation']);
  });

  it('starts once per process', () => {
    const { load, calls } = fakeLoader();
    const first = startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING }, { load });
    const second = startTelemetry({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING }, { load });
    expect(second).toBe(first);
    expect(telemetryStatus()).toBe(first);
    expect(calls.filter((c) => c.what === 'useAzureMonitor')).toHaveLength(1);
  });

  it('reports a failing SDK and lets the app run without telemetry', () => {
    const { load } = fakeLoader({
      useAzureMonitor: () => {
        throw new Error('Invalid instrumentation key');
      },
    });
    const errors: TelemetryStartError[] = [];
    const status = startTelemetry(
      { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING },
      { load, onError: (e) => errors.push(e) },
    );
    expect(status.started).toBe(false);
    expect(status.reason).toMatch(/Invalid instrumentation key/);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TelemetryStartError);
    expect(errors[0].retryable).toBe(false);
  });
});

describe('functions/telemetry.ts', () => {
  it('loads no OpenTelemetry SDK when telemetry is not configured (cold start)', () => {
    const names = ['APPLICATIONINSIGHTS_CONNECTION_STRING', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const;
    const saved = names.map((name) => process.env[name]);
    for (const name of names) delete process.env[name];
    const touched: string[] = [];
    try {
      jest.isolateModules(() => {
        for (const id of [
          '@azure/monitor-opentelemetry',
          '@azure/functions-opentelemetry-instrumentation',
          '@opentelemetry/sdk-node',
          '@opentelemetry/api',
        ]) {
          jest.doMock(id, () => {
            touched.push(id);
            return {};
          });
        }
        // A fresh copy of the module inside jest.isolateModules: a static import would be the cached one.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const module = require('../../../functions/telemetry') as { telemetry: { started: boolean } };
        expect(module.telemetry.started).toBe(false);
      });
    } finally {
      names.forEach((name, i) => {
        if (saved[i] !== undefined) process.env[name] = saved[i];
      });
    }
    expect(touched).toEqual([]);
  });
});
