/**
 * Azurite (the storage emulator, from node_modules) as a child process on 127.0.0.1, on free ports
 * by default, with telemetry off. Resolves once the queue and table endpoints answer, with a
 * connection string naming each endpoint explicitly (the well-known devstoreaccount1 key).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { BridgeError } from '../shared/platform/errors';
import { DEVSTORE_ACCOUNT_KEY, DEVSTORE_ACCOUNT_NAME } from './host/constants';

/** Azurite failed to start or to answer. */
export class AzuriteError extends BridgeError {
  /** The last lines Azurite printed. */
  readonly output: readonly string[];
  constructor(message: string, output: readonly string[], cause?: unknown) {
    super(`${message}${output.length ? `\n${output.join('\n')}` : ''}`, { cause, retryable: true });
    this.name = 'AzuriteError';
    this.output = output;
  }
}

/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /** Workspace folder (data files). @default a new temp dir, removed by stop() */
  location?: string;
  /** Keep all data in memory (then no folder is used). @default false */
  inMemory?: boolean;
  /** 0 or omitted = a free port. */
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  /** Do not echo Azurite's output. @default true */
  quiet?: boolean;
  /** @default 30000 */
  startTimeoutMs?: number;
  /** Profile Azurite's CPU (`node --cpu-prof`): a `.cpuprofile` lands in this folder when Azurite stops. */
  cpuProfileDir?: string;
}

/** A running Azurite. */
export interface RunningAzurite {
  /** `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;BlobEndpoint=...;QueueEndpoint=...;TableEndpoint=...;` */
  connectionString: string;
  /** e.g. `http://127.0.0.1:10001/devstoreaccount1` */
  queueUrl: string;
  tableUrl: string;
  blobUrl: string;
  /** The data folder (undefined in memory). */
  location: string | undefined;
  pid: number;
  /** Kills Azurite and removes the temp folder it made. */
  stop(): Promise<void>;
}

const LISTENING = /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/;

/** Starts Azurite; rejects with {@link AzuriteError} when it does not come up. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const packageJson = require.resolve('azurite/package.json');
  const bin = path.join(
    path.dirname(packageJson),
    (JSON.parse(readFileSync(packageJson, 'utf8')) as { bin: Record<string, string> }).bin.azurite,
  );
  const inMemory = options.inMemory ?? false;
  const madeTempDir = !inMemory && options.location === undefined;
  const location = inMemory ? undefined : (options.location ?? (await mkdtemp(path.join(os.tmpdir(), 'azurite-'))));

  const args = [
    ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
    bin,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(options.blobPort ?? 0),
    '--queueHost',
    '127.0.0.1',
    '--queuePort',
    String(options.queuePort ?? 0),
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    String(options.tablePort ?? 0),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
    '--silent',
    // Azurite refuses --location together with --inMemoryPersistence.
    ...(inMemory ? ['--inMemoryPersistence'] : ['--location', location!]),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: location ?? os.tmpdir() });
  const output: string[] = [];
  const ports: Partial<Record<'Blob' | 'Queue' | 'Table', number>> = {};
  let allListening: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => (allListening = resolve));
  const onLine = (line: string): void => {
    output.push(line);
    if (output.length > 50) output.shift();
    if (options.quiet === false) process.stdout.write(`[azurite] ${line}\n`);
    const match = LISTENING.exec(line);
    if (match) {
      ports[match[1] as 'Blob' | 'Queue' | 'Table'] = Number(match[2]);
      if (ports.Blob && ports.Queue && ports.Table) allListening();
    }
  };
  readline.createInterface({ input: child.stdout }).on('line', onLine);
  readline.createInterface({ input: child.stderr }).on('line', onLine);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const cleanup = async (): Promise<void> => {
    process.off('exit', killOnExit);
    await stopChild(child, exited);
    if (madeTempDir && location) await rm(location, { recursive: true, force: true });
  };

  try {
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      listening.then(() => 'ok' as const),
      exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (outcome === 'exited') throw new AzuriteError('Azurite exited before it was listening', output);
    if (outcome === 'timeout') throw new AzuriteError(`Azurite did not listen within ${timeoutMs}ms`, output);
    const base = (port: number | undefined): string => `http://127.0.0.1:${port}/${DEVSTORE_ACCOUNT_NAME}`;
    const blobUrl = base(ports.Blob);
    const queueUrl = base(ports.Queue);
    const tableUrl = base(ports.Table);
    await Promise.all([waitUntilAnswering(queueUrl, output), waitUntilAnswering(tableUrl, output)]);
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${DEVSTORE_ACCOUNT_NAME};AccountKey=${DEVSTORE_ACCOUNT_KEY};` +
      `BlobEndpoint=${blobUrl};QueueEndpoint=${queueUrl};TableEndpoint=${tableUrl};`;
    let stopped: Promise<void> | undefined;
    return {
      connectionString,
      queueUrl,
      tableUrl,
      blobUrl,
      location,
      pid: child.pid!,
      stop: () => (stopped ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** Any HTTP answer (even 4xx) means the endpoint is up; bounded retries. */
async function waitUntilAnswering(url: string, output: readonly string[]): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(url, { timeout: 2_000, agent: false }, (res) => {
          res.resume();
          resolve();
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new AzuriteError(`Azurite endpoint ${url} does not answer`, output, lastError);
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 3_000))),
  ]);
  clearTimeout(timer);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}
