/**
 * The local Functions host inside its own process: settings, host.json, the app's own
 * registrations, and one listener per trigger (HTTP, storage queue, timer).
 *
 * ```
 *  local.settings.json ─┐ (under process.env)        package.json main ─► entry points ─► app.*()
 *  host.json (+override)┤                                               │ registerFunction (FunctionsCore)
 *                       ▼                                               ▼
 *                 HostConfig ──► HttpListener / QueueListener / TimerListener ──► invokeFunction
 *                                                        (the library's own InvocationModel)
 * ```
 *
 * `@azure/functions` keeps module-level state (one app per process), so this runs in a child
 * process started by {@link startLocalHost} (`main.ts`); call it directly only in a process of its own.
 */
import path from 'node:path';
import { applyAppSettings, loadAppSettings } from './appSettings';
import {
  DEFAULT_DRAIN_MS,
  DEFAULT_HOST_PORT,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_QUEUE_LEASE_MS,
  HostEnv,
  LOCAL_HOST_VERSION,
} from './constants';
import type { RpcInvocationResponse } from './coreTypes';
import { LocalHostError } from './errors';
import { planFunction, TriggerKind, type FunctionPlan } from './functionBindings';
import { FunctionsCore } from './functionsCore';
import { loadHostConfig, type HostConfig } from './hostConfig';
import { HostLog } from './hostLog';
import { HttpListener, type AdminResponse } from './httpListener';
import { invokeFunction, type InvocationInput } from './invokeFunction';
import { loadFunctionApp } from './loadFunctionApp';
import { toTriggerData } from './queueMessages';
import { QueueListener } from './queueListener';
import { QueueOutputSender } from './queueOutputSender';
import { StorageConnections } from './storageConnection';
import { TimerListener } from './timerListener';

/** One function as the host runs it (what `func start` lists). */
export interface HostedFunction {
  name: string;
  /** Binding type of the trigger: `httpTrigger`, `queueTrigger`, `timerTrigger`... */
  trigger: string;
  /** Full path, e.g. `/api/referrals/{trackingId}`. */
  route?: string;
  methods?: string[];
  queueName?: string;
  schedule?: string;
}

/** Options of {@link runFunctionHost}. */
export interface FunctionHostOptions {
  appDir: string;
  /** 0 = a free port. @default local.settings.json Host.LocalHttpPort, else 7071 */
  port?: number;
  /** @default '127.0.0.1' */
  hostname?: string;
  /** Deep-merged over host.json. */
  hostJson?: object;
  /** @default env LOCAL_HOST_MAX_BODY_BYTES, else 100 MB */
  maxRequestBodyBytes?: number;
  /** Visibility timeout of a running queue message. @default env LOCAL_HOST_QUEUE_LEASE_MS, else 10 min */
  queueLeaseMs?: number;
  /** Time stop() waits for in-flight invocations. @default env LOCAL_HOST_DRAIN_MS, else 5 s */
  drainMs?: number;
  log?: HostLog;
}

/** A host running in this process. */
export interface RunningFunctionHost {
  url: string;
  port: number;
  functions: HostedFunction[];
  config: HostConfig;
  /** Stops every listener (draining in-flight work), then runs the appTerminate hooks. */
  stop(): Promise<void>;
}

/** Starts the host for the app in `options.appDir` in this process. */
export async function runFunctionHost(options: FunctionHostOptions): Promise<RunningFunctionHost> {
  const appDir = path.resolve(options.appDir);
  const log = options.log ?? new HostLog();

  const settings = await loadAppSettings(appDir);
  if (settings.createdFromSample) log.host('information', `Created ${settings.file} from local.settings.sample.json`);
  applyAppSettings(settings);
  process.env.AZURE_FUNCTIONS_ENVIRONMENT ??= 'Development';
  const env = process.env;
  const config = await loadHostConfig(appDir, { override: options.hostJson, env });
  const maxRequestBodyBytes =
    options.maxRequestBodyBytes ?? positiveInt(env[HostEnv.maxRequestBodyBytes]) ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const queueLeaseMs = options.queueLeaseMs ?? positiveInt(env[HostEnv.queueLeaseMs]) ?? DEFAULT_QUEUE_LEASE_MS;
  const drainMs = options.drainMs ?? positiveInt(env[HostEnv.drainMs]) ?? DEFAULT_DRAIN_MS;

  const core = new FunctionsCore({
    log: ({ level, message }) => {
      if (level !== 'debug' && level !== 'trace') log.host(level, message);
    },
  });
  await loadFunctionApp(appDir, core);
  const plans = [...core.functions.values()].map((fn) => planFunction(fn, env));
  if (plans.length === 0) log.host('warning', 'No job functions found: the entry points registered nothing.');
  for (const plan of plans) {
    for (const ignored of plan.ignored)
      log.host('warning', `Function '${plan.name}': the local host does not run ${ignored}; it is ignored`);
  }

  const connections = new StorageConnections(env);
  for (const plan of plans) {
    if (plan.queue) connections.queueService(plan.queue.connection);
    for (const output of plan.queueOutputs) connections.queueService(output.connection);
  }
  const outputs = new QueueOutputSender({ connections, encoding: config.queues.messageEncoding });
  const invoke = (plan: FunctionPlan, input: InvocationInput): Promise<RpcInvocationResponse> =>
    invokeFunction(plan.fn, input, { core, log, timeoutMs: config.functionTimeoutMs });
  /** Invokes, then writes the queue outputs (before an HTTP answer goes out, as in the real host). */
  const invokeWithOutputs = async (plan: FunctionPlan, input: InvocationInput): Promise<RpcInvocationResponse> => {
    const response = await invoke(plan, input);
    try {
      await outputs.send(plan, response);
    } catch (error) {
      log.fn(plan.name, 'error', `Sending the queue outputs failed: ${(error as Error)?.message ?? String(error)}`);
      throw error;
    }
    return response;
  };

  const queueListeners = plans
    .filter((plan) => plan.kind === TriggerKind.queue)
    .map(
      (plan) =>
        new QueueListener({
          plan,
          settings: config.queues,
          connections,
          outputs,
          invoke: (input) => invoke(plan, input),
          log,
          leaseMs: queueLeaseMs,
        }),
    );
  const timerListeners = new Map(
    plans
      .filter((plan) => plan.kind === TriggerKind.timer)
      .map(
        (plan) =>
          [
            plan.name.toLowerCase(),
            new TimerListener({ plan, invoke: (input) => invokeWithOutputs(plan, input), log }),
          ] as const,
      ),
  );

  const functions: HostedFunction[] = [];
  const httpPlans = plans.filter((plan) => plan.kind === TriggerKind.http);
  const http = new HttpListener({
    plans: httpPlans,
    routePrefix: config.routePrefix,
    maxRequestBodyBytes,
    log,
    invoke: invokeWithOutputs,
    admin: (method, urlPath, body) => admin(method, urlPath, body),
  });
  for (const plan of plans) {
    functions.push({
      name: plan.name,
      trigger: plan.triggerType,
      ...(plan.http ? { route: http.routePath(plan), methods: plan.http.methods } : {}),
      ...(plan.queue ? { queueName: plan.queue.queueName } : {}),
      ...(plan.timer ? { schedule: plan.timer.schedule } : {}),
    });
  }

  const admin = (method: string, urlPath: string, body: Buffer): Promise<AdminResponse> =>
    Promise.resolve(adminAnswer(method, urlPath, body));
  const adminAnswer = (method: string, urlPath: string, body: Buffer): AdminResponse => {
    const lower = urlPath.toLowerCase().replace(/\/+$/, '');
    if (lower === '/admin/host/status' && method === 'GET') {
      return {
        status: 200,
        body: { id: 'local', state: 'Running', version: LOCAL_HOST_VERSION, functions: functions.length },
      };
    }
    if (lower === '/admin/functions' && method === 'GET') return { status: 200, body: functions };
    const match = /^\/admin\/functions\/([^/]+)$/.exec(lower);
    if (!match || method !== 'POST') return { status: 404 };
    const plan = plans.find((p) => p.name.toLowerCase() === decodeURIComponent(match[1]));
    if (!plan) return { status: 404 };
    let input = '';
    try {
      const parsed = body.length > 0 ? (JSON.parse(body.toString('utf8')) as { input?: unknown }) : {};
      input =
        typeof parsed.input === 'string'
          ? parsed.input
          : parsed.input === undefined
            ? ''
            : JSON.stringify(parsed.input);
    } catch {
      return { status: 400, body: { error: 'Body must be JSON: { "input": "..." }' } };
    }
    if (plan.kind === TriggerKind.timer) {
      void timerListeners.get(plan.name.toLowerCase())!.runNow();
      return { status: 202 };
    }
    if (plan.kind === TriggerKind.queue) {
      void invokeWithOutputs(plan, {
        inputData: [{ name: plan.triggerName, data: toTriggerData(input) }],
        triggerMetadata: { QueueTrigger: { string: input } },
        reason: 'This function was programmatically called via the host APIs.',
      }).catch(() => undefined);
      return { status: 202 };
    }
    return { status: 400, body: { error: `Function '${plan.name}' is HTTP-triggered: call its route instead` } };
  };

  const hostname = options.hostname ?? '127.0.0.1';
  let port: number;
  try {
    port = await http.listen(options.port ?? settings.localHttpPort ?? DEFAULT_HOST_PORT, hostname);
  } catch (error) {
    throw new LocalHostError(`Cannot listen on ${hostname}:${options.port}: ${(error as Error).message}`, {
      code: 'process',
      cause: error,
      retryable: true,
    });
  }
  const url = `http://${hostname}:${port}`;
  await Promise.all(queueListeners.map((listener) => listener.start()));
  for (const listener of timerListeners.values()) listener.start();

  log.always('');
  log.always('Functions:');
  for (const fn of functions) {
    const where = fn.route
      ? `[${fn.methods?.join(',')}] ${url}${fn.route}`
      : fn.queueName
        ? `queueTrigger (${fn.queueName})`
        : fn.schedule
          ? `timerTrigger (${fn.schedule})`
          : fn.trigger;
    log.always(`        ${fn.name}: ${where}`);
  }
  log.always('');
  log.host(
    'information',
    `Host started on ${url} (routePrefix '${config.routePrefix}', messageEncoding ${config.queues.messageEncoding}; every authLevel is anonymous locally)`,
  );

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    functions,
    config,
    stop() {
      stopping ??= (async () => {
        await Promise.all([
          ...queueListeners.map((listener) => listener.stop(drainMs)),
          ...[...timerListeners.values()].map((listener) => listener.stop(drainMs)),
          http.close(drainMs),
        ]);
        try {
          await core.executeHooks('appTerminate', {
            get hookData() {
              return core.appLevelOnlyHookData;
            },
            get appHookData() {
              return core.appHookData;
            },
          });
        } catch (error) {
          log.host('warning', `An appTerminate hook failed: ${(error as Error)?.message ?? String(error)}`);
        }
      })();
      return stopping;
    },
  };
}

function positiveInt(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
