/**
 * The sandbox as the benchmarks and the chaos and fuzz runs use it: free loopback ports, in-memory
 * Azurite, a temporary state folder, quiet host output, fast queue polling, and optionally a
 * {@link startCountingProxy counting proxy} in front of Azurite's table endpoint (the app's table
 * traffic goes through it; queue traffic stays direct).
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fastQueuesHostJson, startSandbox, type RunningSandbox } from '../../sandbox/sandbox';
import { startLocalHost, type RunningHost } from '../../sandbox/host';
import { repoRoot } from './repo';
import { startCountingProxy, withTableEndpoint, type RunningCountingProxy } from './countingProxy';

/** host.json override of the runs: fast queues, an idle queue checked at least every 100 ms. */
export const BENCH_HOST_JSON = fastQueuesHostJson(100);

/** The repository's own host.json (what a deployment runs with). */
export function projectHostJson(): object {
  return JSON.parse(readFileSync(path.join(repoRoot(), 'host.json'), 'utf8')) as object;
}

/** Options for {@link startBenchSandbox}. */
export interface BenchSandboxOptions {
  /** App settings over the sandbox's own. */
  appSettings?: Record<string, string>;
  /** @default {@link BENCH_HOST_JSON} */
  hostJson?: object;
  /** Seed of the stand-ins' fault injection. */
  seed?: number;
  /** Put a counting proxy in front of the table endpoint. @default false */
  countTableOperations?: boolean;
  /** With the counting proxy: append `<epoch ms> <method> <path and query>` of every table request to this file. */
  tableLogPath?: string;
  /** Profile Azurite's CPU into this folder (`.cpuprofile` when the sandbox stops). */
  azuriteCpuProfileDir?: string;
  /** Lifetime of the access tokens the Entra stand-in issues. @default 3600 */
  accessTokenLifetimeSeconds?: number;
  /** Echo the host's output. @default false */
  verbose?: boolean;
  /** Node.js binary of the host and the app (e.g. the major infra/ deploys). @default this process's own */
  nodeBinary?: string;
  /** Register the app's events URL with the simulator (deliveries then reach the app). @default false: runs measure without events */
  registerEvents?: boolean;
  /**
   * App instances: separate host processes on their own ports against the same Azurite and stand-ins, as
   * scale-out runs them (own instance ids, token caches, leases and timers). @default 1
   */
  instances?: number;
}

/** A running bench sandbox. */
export interface BenchSandbox {
  sandbox: RunningSandbox;
  /** The current host of instance `index` (default 0; changes after {@link restartHost}). */
  host(index?: number): RunningHost;
  /** How many app instances run. */
  readonly instances: number;
  /** `http://127.0.0.1:<port>/api` of instance `index` (default 0). */
  functionsUrl(index?: number): string;
  /** The table proxy, when asked for. */
  tableProxy?: RunningCountingProxy;
  /** Kills instance `index`'s host (SIGKILL, a crash) and starts it again on the same port. */
  restartHost(index?: number): Promise<RunningHost>;
  /** Host processes started so far (each restart and each instance counts one). */
  hostsStarted(): number;
  stop(): Promise<void>;
}

/** Starts the sandbox for a bench run; see {@link BenchSandboxOptions}. */
export async function startBenchSandbox(options: BenchSandboxOptions = {}): Promise<BenchSandbox> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'bridge-bench-'));
  const countTables = options.countTableOperations === true;
  const instances = Math.max(1, options.instances ?? 1);
  const ownHosts = countTables || instances > 1;
  const sandbox = await startSandbox({
    appDir: repoRoot(),
    stateDir,
    freePorts: true,
    inMemoryStorage: true,
    ...(options.azuriteCpuProfileDir ? { azuriteCpuProfileDir: path.resolve(options.azuriteCpuProfileDir) } : {}),
    quiet: !options.verbose,
    hostJson: options.hostJson ?? BENCH_HOST_JSON,
    seed: options.seed,
    appSettings: options.appSettings,
    ...(options.accessTokenLifetimeSeconds !== undefined
      ? { accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds }
      : {}),
    startHost: !ownHosts,
    registerEvents: options.registerEvents ?? false,
    ...(options.nodeBinary ? { hostExecPath: options.nodeBinary } : {}),
  });
  let tableProxy: RunningCountingProxy | undefined;
  const own: RunningHost[] = [];
  let started = ownHosts ? 0 : 1;
  let env: Record<string, string> = sandbox.appSettings;
  const launch = async (port: number): Promise<RunningHost> => {
    started++;
    return startLocalHost({
      appDir: repoRoot(),
      port,
      env,
      hostJson: options.hostJson ?? BENCH_HOST_JSON,
      quiet: !options.verbose,
      ...(options.nodeBinary ? { execPath: options.nodeBinary } : {}),
    });
  };
  try {
    if (countTables) {
      const { upstreamOrigin } = withTableEndpoint(sandbox.azurite.connectionString, 'http://127.0.0.1:1');
      const logPath = options.tableLogPath;
      tableProxy = await startCountingProxy({
        upstreamUrl: upstreamOrigin,
        ...(logPath ? { onRequest: (method, url) => appendFileSync(logPath, `${Date.now()} ${method} ${url}\n`) } : {}),
      });
      env = {
        ...sandbox.appSettings,
        AzureWebJobsStorage: withTableEndpoint(sandbox.azurite.connectionString, tableProxy.url).connectionString,
      };
    }
    if (ownHosts) for (let i = 0; i < instances; i++) own.push(await launch(0));
  } catch (error) {
    await Promise.all(own.map((h) => h.stop().catch(() => undefined)));
    await tableProxy?.close();
    await sandbox.stop();
    throw error;
  }
  const host = (index = 0): RunningHost => {
    const current = ownHosts ? own[index % instances] : sandbox.host;
    if (!current) throw new Error('The sandbox has no host');
    return current;
  };
  return {
    sandbox,
    host,
    instances,
    functionsUrl: (index = 0) => `${host(index).url}/api`,
    tableProxy,
    hostsStarted: () => started,
    async restartHost(index = 0) {
      if (!ownHosts) {
        started++;
        return sandbox.restartHost({ kill: true });
      }
      const slot = index % instances;
      const port = own[slot].port;
      await own[slot].kill();
      own[slot] = await launch(port);
      return own[slot];
    },
    async stop() {
      await Promise.all(own.map((h) => h.stop().catch(() => undefined)));
      await sandbox.stop();
      await tableProxy?.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
