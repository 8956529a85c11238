/**
 * The parts of host.json the local host honours, read once at start-up:
 * `extensions.http.routePrefix`, `extensions.queues.*` and `functionTimeout`.
 *
 * Sources, later wins: the app's host.json, the caller's override (deep-merged, so a test can change
 * only `extensions.queues`), then app settings `AzureFunctionsJobHost__a__b` (the documented way to
 * override a host.json value per environment).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_ROUTE_PREFIX, HOST_JSON_ENV_PREFIX } from './constants';
import { LocalHostError } from './errors';
import { parseTimeSpanMs } from './timeSpan';

/** host.json `extensions.queues.messageEncoding`. */
export const MessageEncoding = { base64: 'base64', none: 'none' } as const;
export type MessageEncoding = (typeof MessageEncoding)[keyof typeof MessageEncoding];

/** Queue trigger settings with the real host's defaults applied. */
export interface QueueSettings {
  /** Messages fetched per poll (1-32). @default 16 */
  batchSize: number;
  /** A new batch is fetched when in-flight messages drop to this. @default batchSize / 2 */
  newBatchThreshold: number;
  /** Longest idle wait between polls. @default 2 s (the development default; 1 min in Azure) */
  maxPollingIntervalMs: number;
  /** Delay before a failed message is retried (its visibility is set to this). @default 0 */
  visibilityTimeoutMs: number;
  /** Attempts before a message goes to `<queue>-poison`. @default 5 */
  maxDequeueCount: number;
  /** @default 'base64' */
  messageEncoding: MessageEncoding;
}

/** What the local host takes from host.json. */
export interface HostConfig {
  /** Route prefix without slashes ('' = none). @default 'api' */
  routePrefix: string;
  queues: QueueSettings;
  /** Invocation time limit; undefined when host.json says -1 (unbounded). @default 30 min */
  functionTimeoutMs: number | undefined;
  /** The merged host.json object. */
  raw: Record<string, unknown>;
}

/** Options of {@link loadHostConfig}. */
export interface LoadHostConfigOptions {
  /** Deep-merged over the file. */
  override?: object;
  /** App settings (`AzureFunctionsJobHost__*` overrides). @default process.env */
  env?: Record<string, string | undefined>;
}

/** Reads `<appDir>/host.json` (absent = `{}`) and resolves it into a {@link HostConfig}. */
export async function loadHostConfig(appDir: string, options: LoadHostConfigOptions = {}): Promise<HostConfig> {
  const file = path.join(appDir, 'host.json');
  let fromFile: Record<string, unknown> = {};
  try {
    fromFile = asObject(JSON.parse(await readFile(file, 'utf8')), 'host.json');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new LocalHostError(`Cannot read ${file}: ${(error as Error).message}`, {
        code: 'config',
        subject: file,
        cause: error,
      });
    }
  }
  return resolveHostConfig(fromFile, options);
}

/** Resolves a host.json object (plus override and env) into a {@link HostConfig}. Pure. */
export function resolveHostConfig(hostJson: Record<string, unknown>, options: LoadHostConfigOptions = {}): HostConfig {
  let raw = deepMerge(hostJson, (options.override ?? {}) as Record<string, unknown>);
  raw = deepMerge(raw, envOverrides(options.env ?? process.env));
  const extensions = asObject(getKey(raw, 'extensions') ?? {}, 'extensions');
  const http = asObject(getKey(extensions, 'http') ?? {}, 'extensions.http');
  const queues = asObject(getKey(extensions, 'queues') ?? {}, 'extensions.queues');

  const prefixValue = getKey(http, 'routePrefix');
  const routePrefix =
    prefixValue === undefined ? DEFAULT_ROUTE_PREFIX : scalarText(prefixValue).replace(/^\/+|\/+$/g, '');

  const batchSize = integer(getKey(queues, 'batchSize'), 'extensions.queues.batchSize', 16, 1, 32);
  const newBatchThreshold = integer(
    getKey(queues, 'newBatchThreshold'),
    'extensions.queues.newBatchThreshold',
    Math.floor(batchSize / 2),
    0,
    1000,
  );
  const maxPollingValue = getKey(queues, 'maxPollingInterval');
  const maxPollingIntervalMs = Math.max(
    100,
    maxPollingValue === undefined ? 2000 : parseTimeSpanMs(maxPollingValue, 'extensions.queues.maxPollingInterval'),
  );
  const visibilityValue = getKey(queues, 'visibilityTimeout');
  const visibilityTimeoutMs =
    visibilityValue === undefined ? 0 : parseTimeSpanMs(visibilityValue, 'extensions.queues.visibilityTimeout');
  const maxDequeueCount = integer(getKey(queues, 'maxDequeueCount'), 'extensions.queues.maxDequeueCount', 5, 1, 1000);
  const encodingValue = scalarText(getKey(queues, 'messageEncoding') ?? 'base64').toLowerCase();
  if (encodingValue !== 'base64' && encodingValue !== 'none') {
    throw new LocalHostError(`extensions.queues.messageEncoding must be "base64" or "none" (got "${encodingValue}")`, {
      code: 'config',
      subject: 'extensions.queues.messageEncoding',
    });
  }

  const timeoutValue = getKey(raw, 'functionTimeout');
  const functionTimeoutMs =
    timeoutValue === undefined
      ? 30 * 60 * 1000
      : scalarText(timeoutValue).trim() === '-1'
        ? undefined
        : parseTimeSpanMs(timeoutValue, 'functionTimeout');

  return {
    routePrefix,
    queues: {
      batchSize,
      newBatchThreshold,
      maxPollingIntervalMs,
      visibilityTimeoutMs,
      maxDequeueCount,
      messageEncoding: encodingValue,
    },
    functionTimeoutMs,
    raw,
  };
}

/** `AzureFunctionsJobHost__extensions__queues__batchSize=4` → `{ extensions: { queues: { batchSize: '4' } } }`. */
function envOverrides(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith(HOST_JSON_ENV_PREFIX)) continue;
    const keys = name.slice(HOST_JSON_ENV_PREFIX.length).split('__').filter(Boolean);
    if (keys.length === 0) continue;
    let node = out;
    for (const key of keys.slice(0, -1)) {
      const child = node[key];
      node = (node[key] = child && typeof child === 'object' ? child : {}) as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

/** Merges `over` into a copy of `base`; objects merge key by key (case-insensitively, keeping base's spelling), other values replace. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existingKey = Object.keys(out).find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
    const existing = out[existingKey];
    out[existingKey] = isPlainObject(existing) && isPlainObject(value) ? deepMerge(existing, value) : value;
  }
  return out;
}

/** host.json keys are case-insensitive in the real host. */
function getKey(object: Record<string, unknown>, key: string): unknown {
  if (key in object) return object[key];
  const found = Object.keys(object).find((k) => k.toLowerCase() === key.toLowerCase());
  return found === undefined ? undefined : object[found];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(value))
    throw new LocalHostError(`${name} must be a JSON object`, { code: 'config', subject: name });
  return value;
}

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LocalHostError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`, {
      code: 'config',
      subject: name,
    });
  }
  return n;
}

/** A host.json value as text: strings, numbers and booleans as `String` writes them, anything else as JSON. */
function scalarText(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}
