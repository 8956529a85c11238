import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import nodeFetch, { type Response } from 'node-fetch';
import { fastQueuesHostJson, startSandbox, type RunningSandbox, type SandboxOptions } from '../../sandbox/sandbox';

/** The repository root (the app the local host loads from dist/). */
export const APP_DIR = path.resolve(__dirname, '../..');

/** host.json overrides that make queue retries fast in tests. */
export const FAST_QUEUES_HOST_JSON = fastQueuesHostJson(200);

/** Starts the whole sandbox with free ports, in-memory storage and fast queues. */
export async function startTestSandbox(options: Partial<SandboxOptions> = {}): Promise<RunningSandbox> {
  return startSandbox({
    appDir: APP_DIR,
    stateDir: mkdtempSync(path.join(tmpdir(), 'bridge-sandbox-')),
    freePorts: true,
    inMemoryStorage: true,
    quiet: true,
    hostJson: FAST_QUEUES_HOST_JSON,
    ...options,
    appSettings: {
      SUBMIT_TIME_BUDGET_MS: '5000',
      SWEEPER_SCHEDULE: '*/2 * * * * *',
      SWEEPER_STALE_AFTER_SECONDS: '3',
      ...options.appSettings,
    },
  });
}

/** JSON request helper against the local host. */
export async function call(
  sandbox: RunningSandbox,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Response['headers']; body: any }> {
  const response = await nodeFetch(`${sandbox.endpoints.functions}${route}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Polls `check` until it returns a value, up to `timeoutMs` (bounded; fails the test when it runs out). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `Condition not met within ${timeoutMs} ms${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
  );
}

/** Polls the tracking view until it is final. */
export async function waitForFinal(sandbox: RunningSandbox, trackingId: string, timeoutMs = 30_000): Promise<any> {
  return eventually(async () => {
    const view = await call(sandbox, 'GET', `/referrals/${trackingId}`);
    return view.status === 200 && view.body.final ? view.body : undefined;
  }, timeoutMs);
}
