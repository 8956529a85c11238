/**
 * The local host process: killed mid-invocation, its queue message comes back after the visibility
 * timeout and the restarted host processes it (at-least-once, as in Azure); a graceful stop finishes
 * in-flight work; start-up failures are reported with their cause; local.settings.json is merged
 * under the environment.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectMessages, useAzurite } from '../../helpers/azurite';
import { LocalHostError, startLocalHost, type RunningHost } from '../../../sandbox/host';
import { FIXTURE_APP_DIR, startFixtureHost } from './fixtureHost';

jest.setTimeout(45_000);

interface Recorded {
  tag?: string;
  metadata: { dequeueCount: number };
}

/** Short lease so a killed host's message reappears in about two seconds. */
const LEASE_MS = 2_000;

describe('local host: process lifecycle with queue messages in flight', () => {
  const azurite = useAzurite();
  const hosts: RunningHost[] = [];
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.kill()));
  });
  const start = async (): Promise<RunningHost> => {
    const host = await startFixtureHost(azurite.connectionString, {
      queueLeaseMs: LEASE_MS,
      hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.200' } } },
    });
    hosts.push(host);
    return host;
  };

  it('redelivers a message whose host was killed mid-invocation, after its visibility timeout, to the restarted host', async () => {
    const first = await start();
    const tag = randomUUID();
    await azurite.queue('fixture-in').sendMessage(JSON.stringify({ tag, sleepMs: 60_000 }));
    await first.waitForOutput(new RegExp(`started ${tag} attempt 1`), 15_000);
    await first.kill();
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const second = await start();
    const [recorded] = await collectMessages<Recorded>(azurite.queue('fixture-out'), {
      count: 1,
      filter: (m) => m.tag === tag,
      timeoutMs: 20_000,
    });
    expect(recorded?.metadata.dequeueCount).toBe(2);
    await second.waitForOutput(new RegExp(`started ${tag} attempt 2`));
    await second.stop();
  });

  it('keeps renewing the lease of a long invocation, so the message is not delivered a second time meanwhile', async () => {
    const host = await start();
    const tag = randomUUID();
    // Runs for twice the lease: without renewal the message would reappear and start attempt 2.
    await azurite.queue('fixture-in').sendMessage(JSON.stringify({ tag, sleepMs: 2 * LEASE_MS }));
    const [recorded] = await collectMessages<Recorded>(azurite.queue('fixture-out'), {
      count: 1,
      filter: (m) => m.tag === tag,
      timeoutMs: 15_000,
    });
    expect(recorded?.metadata.dequeueCount).toBe(1);
    expect(host.output().filter((line) => line.includes(`started ${tag}`))).toHaveLength(1);
    await host.stop();
  });

  it('finishes an in-flight invocation on stop() and exits cleanly', async () => {
    const host = await start();
    const tag = randomUUID();
    await azurite.queue('fixture-in').sendMessage(JSON.stringify({ tag, sleepMs: 1_500 }));
    await host.waitForOutput(new RegExp(`started ${tag} attempt 1`), 15_000);
    await host.stop();
    expect(await host.exited).toEqual({ code: 0, signal: null });
    const [recorded] = await collectMessages<Recorded>(azurite.queue('fixture-out'), {
      count: 1,
      filter: (m) => m.tag === tag,
      timeoutMs: 5_000,
    });
    expect(recorded?.metadata.dequeueCount).toBe(1);
    const left = await azurite.queue('fixture-in').peekMessages({ numberOfMessages: 32 });
    expect(left.peekedMessageItems.filter((m) => m.messageText.includes(tag))).toEqual([]);
  });

  it('can be started again on the port a killed host used', async () => {
    const host = await start();
    const port = host.port;
    await host.kill();
    const again = await startFixtureHost(azurite.connectionString, { port });
    hosts.push(again);
    expect(again.port).toBe(port);
    expect((await fetch(`${again.url}/api/items/1`)).status).toBe(200);
    await again.stop();
  });
});

describe('local host: start-up', () => {
  let tempDir: string;
  beforeAll(async () => {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'local-host-app-'));
  });
  afterAll(async () => {
    await rm(tempDir, { recursive: true, force: true });
  });

  /** A throwaway app whose function file loads @azure/functions from this repository. */
  const writeApp = async (name: string, files: Record<string, string>): Promise<string> => {
    const dir = path.join(tempDir, name);
    await mkdir(path.join(dir, 'dist'), { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
    return dir;
  };
  const functionsLib = JSON.stringify(require.resolve('@azure/functions'));

  it('fails with a LocalHostError naming the pattern when package.json main matches no file', async () => {
    const appDir = await writeApp('no-entry', { 'package.json': JSON.stringify({ main: 'dist/functions/*.js' }) });
    const failure = startLocalHost({ appDir, port: 0, quiet: true });
    await expect(failure).rejects.toBeInstanceOf(LocalHostError);
    await expect(failure).rejects.toThrow(/Found zero files matching the supplied pattern/);
  });

  it('fails with a storage error when a queue trigger has no connection setting', async () => {
    const failure = startLocalHost({
      appDir: FIXTURE_APP_DIR,
      port: 0,
      quiet: true,
      env: { AzureWebJobsStorage: '', FIXTURE_TIMER_SCHEDULE: '0 0 0 1 1 *' },
    });
    await expect(failure).rejects.toMatchObject({
      code: 'storage',
      message: expect.stringMatching(/Missing value for AzureWebJobsStorage/),
    });
  });

  it('creates local.settings.json from the sample and lets the environment win over its values', async () => {
    const appDir = await writeApp('settings', {
      'package.json': JSON.stringify({ main: 'dist/*.js' }),
      'local.settings.sample.json': JSON.stringify({ IsEncrypted: false, Values: { FROM_FILE: 'file', BOTH: 'file' } }),
      'dist/settings.js': `const { app } = require(${functionsLib});
app.get('settings', { route: 'settings', handler: async () => ({ jsonBody: { fromFile: process.env.FROM_FILE, both: process.env.BOTH } }) });`,
    });
    const host = await startLocalHost({ appDir, port: 0, quiet: true, env: { BOTH: 'env' } });
    try {
      expect(await (await fetch(`${host.url}/api/settings`)).json()).toEqual({ fromFile: 'file', both: 'env' });
      expect(JSON.parse(await readFile(path.join(appDir, 'local.settings.json'), 'utf8'))).toMatchObject({
        Values: { FROM_FILE: 'file' },
      });
    } finally {
      await host.stop();
    }
  });

  it('starts the app with the Node.js options of languageWorkers__node__arguments, as Azure starts the worker', async () => {
    const appDir = await writeApp('worker-arguments', {
      'package.json': JSON.stringify({ main: 'dist/*.js' }),
      'local.settings.json': JSON.stringify({
        IsEncrypted: false,
        Values: { languageWorkers__node__arguments: '--max-old-space-size=96' },
      }),
      'dist/node.js': `const { app } = require(${functionsLib});
app.get('node', { route: 'node', handler: async () => ({ jsonBody: { execArgv: process.execArgv, heapLimitMiB: require('node:v8').getHeapStatistics().heap_size_limit / 1048576 } }) });`,
    });
    const fromFile = await startLocalHost({ appDir, port: 0, quiet: true });
    try {
      const seen = (await (await fetch(`${fromFile.url}/api/node`)).json()) as {
        execArgv: string[];
        heapLimitMiB: number;
      };
      expect(seen.execArgv).toEqual(['--max-old-space-size=96']);
      expect(seen.heapLimitMiB).toBeLessThan(200);
    } finally {
      await fromFile.stop();
    }
    // The environment wins over local.settings.json, as for every app setting.
    const fromEnv = await startLocalHost({
      appDir,
      port: 0,
      quiet: true,
      env: { languageWorkers__node__arguments: '--max-old-space-size=160 --stack-size=900' },
    });
    try {
      const seen = (await (await fetch(`${fromEnv.url}/api/node`)).json()) as { execArgv: string[] };
      expect(seen.execArgv).toEqual(['--max-old-space-size=160', '--stack-size=900']);
    } finally {
      await fromEnv.stop();
    }
  });

  it('applies a function timeout from host.json and answers 500 for the timed-out request', async () => {
    const appDir = await writeApp('timeout', {
      'package.json': JSON.stringify({ main: 'dist/*.js' }),
      'host.json': JSON.stringify({ version: '2.0', functionTimeout: '00:00:00.300' }),
      'dist/slow.js': `const { app } = require(${functionsLib});
app.get('slow', { route: 'slow', handler: () => new Promise((resolve) => setTimeout(() => resolve({ body: 'late' }), 5000)) });`,
    });
    const host = await startLocalHost({ appDir, port: 0, quiet: true, drainMs: 100 });
    try {
      expect((await fetch(`${host.url}/api/slow`)).status).toBe(500);
      await host.waitForOutput(/Timeout value of 300ms exceeded by function 'Functions\.slow'/);
    } finally {
      await host.kill();
    }
  });
});
