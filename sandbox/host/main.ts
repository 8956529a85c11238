/**
 * Process entry of the local Functions host:
 *
 *   node dist/sandbox/host/main.js --app-dir . [--port 7071] [--hostname 127.0.0.1]
 *        [--host-json '{"extensions":{...}}'] [--max-body-bytes N] [--quiet]
 *
 * When forked with an IPC channel it reports `{ type: 'local-host:ready', url, port, pid, functions }`
 * (or `local-host:error`) to the parent; it always prints `Host started on <url>`. SIGTERM/SIGINT or a
 * `local-host:stop` message stop it gracefully (polling stops, in-flight invocations get a few
 * seconds); a lost parent (IPC disconnect) stops it too.
 */
import { LocalHostError } from './errors';
import { runFunctionHost, type RunningFunctionHost } from './functionHost';
import { HostLog } from './hostLog';
import { HostMessageType, type HostErrorMessage, type HostReadyMessage } from './hostMessages';

/** Command-line options of the host process. */
export interface HostArguments {
  appDir: string;
  port: number | undefined;
  hostname: string | undefined;
  hostJson: object | undefined;
  maxRequestBodyBytes: number | undefined;
  quiet: boolean;
}

/** Parses the command line; throws {@link LocalHostError} (`config`) on a bad option. */
export function parseHostArguments(argv: readonly string[]): HostArguments {
  const args: HostArguments = {
    appDir: '.',
    port: undefined,
    hostname: undefined,
    hostJson: undefined,
    maxRequestBodyBytes: undefined,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new LocalHostError(`${flag} needs a value`, { code: 'config', subject: flag });
      return next;
    };
    switch (flag) {
      case '--app-dir':
        args.appDir = value();
        break;
      case '--port':
        args.port = integerArg(flag, value(), 0, 65535);
        break;
      case '--hostname':
        args.hostname = value();
        break;
      case '--host-json': {
        const text = value();
        try {
          args.hostJson = JSON.parse(text) as object;
        } catch (error) {
          throw new LocalHostError(`--host-json is not JSON: ${(error as Error).message}`, {
            code: 'config',
            subject: flag,
            cause: error,
          });
        }
        break;
      }
      case '--max-body-bytes':
        args.maxRequestBodyBytes = integerArg(flag, value(), 1, Number.MAX_SAFE_INTEGER);
        break;
      case '--quiet':
        args.quiet = true;
        break;
      default:
        throw new LocalHostError(`Unknown option ${flag}`, { code: 'config', subject: flag });
    }
  }
  return args;
}

function integerArg(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LocalHostError(`${flag} must be an integer from ${min} to ${max}`, { code: 'config', subject: flag });
  }
  return n;
}

async function main(): Promise<void> {
  let host: RunningFunctionHost | undefined;
  let log = new HostLog();
  let stopping = false;
  const stop = async (exitCode: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await host?.stop();
    } finally {
      process.exit(exitCode);
    }
  };
  const onSignal = (): void => {
    if (stopping) process.exit(1); // a second signal: leave now
    void stop(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('message', (message: { type?: string }) => {
    if (message?.type === HostMessageType.stop) void stop(0);
  });
  process.on('disconnect', () => void stop(0));
  process.on('unhandledRejection', (reason) => {
    log.host(
      'error',
      `Unhandled promise rejection in the app: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)}`,
    );
  });

  try {
    const args = parseHostArguments(process.argv.slice(2));
    log = new HostLog({ verbose: !args.quiet });
    host = await runFunctionHost({
      appDir: args.appDir,
      port: args.port,
      hostname: args.hostname,
      hostJson: args.hostJson,
      maxRequestBodyBytes: args.maxRequestBodyBytes,
      log,
    });
    log.always(`Host started on ${host.url}`);
    const ready: HostReadyMessage = {
      type: HostMessageType.ready,
      url: host.url,
      port: host.port,
      pid: process.pid,
      functions: host.functions,
    };
    process.send?.(ready);
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const code = error instanceof LocalHostError ? error.code : 'appLoad';
    process.stderr.write(`Local host failed to start: ${err.message}\n`);
    if (err.cause instanceof Error && err.cause.stack) process.stderr.write(`${err.cause.stack}\n`);
    if (process.send) {
      const failed: HostErrorMessage = { type: HostMessageType.error, message: err.message, code };
      process.send(failed, () => process.exit(1));
    } else {
      process.exit(1);
    }
  }
}

if (require.main === module) void main();
