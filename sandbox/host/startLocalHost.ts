/**
 * Starts the local Functions host for an app in a CHILD process (the `@azure/functions` library keeps
 * one app per process) and returns a handle to it.
 *
 * ```
 *  startLocalHost ──fork──► node dist/sandbox/host/main.js --app-dir <appDir> --port <port>
 *       ▲                         │ loads local.settings.json, host.json, the app's entry points
 *       └──── IPC 'ready' ◄───────┘ listening; queue pollers and timers started
 *  stop():  SIGTERM → polling stops, in-flight invocations finish (a few seconds), exit
 *  kill():  SIGKILL → in-flight queue messages reappear after their visibility timeout
 * ```
 *
 * The child runs the BUILT host (`dist/sandbox/host/main.js`): run `npm run build` first when the
 * host's sources changed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { DEFAULT_START_TIMEOUT_MS, HostEnv, OUTPUT_BUFFER_LINES } from './constants';
import { loadAppSettings } from './appSettings';
import { LocalHostError } from './errors';
import type { HostedFunction } from './functionHost';
import { HostMessageType, type HostMessage } from './hostMessages';

/** Options of {@link startLocalHost}. */
export interface LocalHostOptions {
  /** The function app: a folder with package.json (`main`), host.json and the built entry points. */
  appDir: string;
  /** 0 = a free port. @default local.settings.json Host.LocalHttpPort, else 7071 */
  port?: number;
  /** Extra environment of the child (app settings; they win over local.settings.json; NODE_EXTRA_CA_CERTS...). */
  env?: Record<string, string>;
  /** Deep-merged over the app's host.json (e.g. `{ extensions: { queues: { maxDequeueCount: 2 } } }`). */
  hostJson?: object;
  /** Do not echo the child's output (it is still kept: {@link RunningHost.output}); also drops per-invocation lines. */
  quiet?: boolean;
  /** Interface to bind. @default '127.0.0.1' */
  hostname?: string;
  /** Request body limit; larger bodies get 413. @default 100 MB */
  maxRequestBodyBytes?: number;
  /** Visibility timeout of a running queue message (renewed at half-interval). @default 10 min */
  queueLeaseMs?: number;
  /** Time stop() lets in-flight invocations finish. @default 5000 */
  drainMs?: number;
  /** @default 60000 */
  startTimeoutMs?: number;
  /** The host entry script. @default the built dist/sandbox/host/main.js */
  entry?: string;
  /** Receives each output line of the child. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /**
   * The Node.js binary the host and app run on (e.g. the major the infrastructure deploys).
   * @default the parent's own (process.execPath)
   */
  execPath?: string;
}

/** A running host process. */
export interface RunningHost {
  /** Origin, e.g. `http://127.0.0.1:7071` (HTTP functions are under `${url}/api/...`). */
  url: string;
  port: number;
  /** The child's process id. */
  pid: number;
  functions: ReadonlyArray<{
    name: string;
    trigger: string;
    route?: string;
    methods?: string[];
    queueName?: string;
    schedule?: string;
  }>;
  /** The last output lines of the child (stdout and stderr). */
  output(): readonly string[];
  /** Resolves with the first output line (already printed or future) matching `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Settles when the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Graceful stop (SIGTERM; SIGKILL if it does not exit in time). */
  stop(): Promise<void>;
  /** SIGKILL: no draining, no cleanup (chaos tests). */
  kill(): Promise<void>;
}

/** Starts the host process and resolves once it listens; rejects with {@link LocalHostError} on failure. */
export async function startLocalHost(options: LocalHostOptions): Promise<RunningHost> {
  const appDir = path.resolve(options.appDir);
  const entry = options.entry ?? resolveEntry();
  const args = ['--app-dir', appDir];
  if (options.port !== undefined) args.push('--port', String(options.port));
  if (options.hostname) args.push('--hostname', options.hostname);
  if (options.hostJson) args.push('--host-json', JSON.stringify(options.hostJson));
  if (options.maxRequestBodyBytes !== undefined) args.push('--max-body-bytes', String(options.maxRequestBodyBytes));
  if (options.quiet) args.push('--quiet');
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.queueLeaseMs !== undefined) env[HostEnv.queueLeaseMs] = String(options.queueLeaseMs);
  if (options.drainMs !== undefined) env[HostEnv.drainMs] = String(options.drainMs);

  // Node.js options of the app, as Azure passes them to the worker: the `languageWorkers__node__arguments`
  // app setting (environment first, then local.settings.json, or its sample before the host has copied it).
  const settings = await loadAppSettings(appDir, { env, sample: 'read' });
  const execArgv = workerArguments(settings.merged);
  const child = fork(entry, args, {
    cwd: appDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv,
    ...(options.execPath ? { execPath: options.execPath } : {}),
  });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onLine = (line: string, stream: 'stdout' | 'stderr'): void => {
    lines.push(line);
    if (lines.length > OUTPUT_BUFFER_LINES) lines.splice(0, lines.length - OUTPUT_BUFFER_LINES);
    if (!options.quiet) (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`);
    options.onLine?.(line, stream);
    for (const waiter of waiters) {
      if (waiter.pattern.test(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  };
  // A spawn failure surfaces as an early exit below; keep the 'error' event from throwing in the parent.
  child.on('error', (error) => onLine(`[local-host] ${error.message}`, 'stderr'));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => onLine(line, 'stdout'));
  readline.createInterface({ input: child.stderr! }).on('line', (line) => onLine(line, 'stderr'));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  // The parent going away must not leave a host behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const ready = await waitForReady(child, exited, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, () =>
    lines.slice(-20),
  );
  const stopTimeoutMs = (options.drainMs ?? 5_000) + 5_000;

  const host: RunningHost = {
    url: ready.url,
    port: ready.port,
    pid: child.pid!,
    functions: ready.functions,
    output: () => [...lines],
    exited,
    waitForOutput(pattern, timeoutMs = 10_000) {
      const already = lines.find((line) => pattern.test(line));
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = {
          pattern,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new LocalHostError(`No host output matched ${pattern} within ${timeoutMs}ms`, { code: 'process' }));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return host;
}

function waitForReady(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
  recentOutput: () => string[],
): Promise<{ url: string; port: number; functions: HostedFunction[] }> {
  return new Promise((resolve, reject) => {
    let startError: string | undefined;
    let code: string | undefined;
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(
        new LocalHostError(`The local host did not start within ${timeoutMs}ms.\n${recentOutput().join('\n')}`, {
          code: 'process',
        }),
      );
    }, timeoutMs);
    const onMessage = (message: HostMessage): void => {
      if (message?.type === HostMessageType.ready) {
        cleanup();
        resolve({ url: message.url, port: message.port, functions: message.functions });
      } else if (message?.type === HostMessageType.error) {
        startError = message.message;
        code = message.code;
      }
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
    };
    child.on('message', onMessage);
    void exited.then(({ code: exitCode, signal }) => {
      cleanup();
      const detail = startError ?? `exited (code ${exitCode}, signal ${signal}) before it was ready`;
      reject(
        new LocalHostError(`The local host failed to start: ${detail}\n${recentOutput().join('\n')}`, {
          code: (code as LocalHostError['code'] | undefined) ?? 'process',
        }),
      );
    });
  });
}

/** The built host entry: beside this file when running from dist/, else the repository's dist/. */
function resolveEntry(): string {
  const sibling = path.join(__dirname, 'main.js');
  if (existsSync(sibling)) return sibling;
  const built = path.resolve(__dirname, '..', '..', 'dist', 'sandbox', 'host', 'main.js');
  if (existsSync(built)) return built;
  throw new LocalHostError(`The local host is not built (${built} is missing): run \`npm run build\` first`, {
    code: 'process',
  });
}

/** App setting (and its `:` form) whose value Azure Functions passes to the Node.js worker as command-line options. */
export const WORKER_ARGUMENTS_SETTINGS = [
  'languageWorkers__node__arguments',
  'languageWorkers:node:arguments',
] as const;

/**
 * The Node.js options in `languageWorkers__node__arguments` (space-separated, e.g.
 * `--max-old-space-size=1536`), or none.
 */
export function workerArguments(settings: Record<string, string | undefined>): string[] {
  const value = WORKER_ARGUMENTS_SETTINGS.map((name) => settings[name]).find((v) => v !== undefined && v.trim() !== '');
  return value === undefined ? [] : value.trim().split(/\s+/);
}
