/**
 * Small HTTP plumbing shared by the offline stand-ins (Partner Center simulator, Entra token endpoint,
 * Key Vault): body reading with a size cap, JSON replies, loopback listening and closing, a seeded PRNG,
 * and the {@link FaultInjector} every stand-in uses for latency, 429, 5xx and commit-then-drop faults.
 *
 * Nothing here imports the app: the stand-ins are separate parties.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { BridgeError, type BridgeErrorOptions } from '../shared/platform/errors';

/** A request a stand-in refuses before it reaches its own logic (body too large, malformed JSON or form). */
export class SandboxHttpError extends BridgeError {
  readonly status: number;
  constructor(status: number, message: string, options: BridgeErrorOptions = {}) {
    super(message, options);
    this.name = 'SandboxHttpError';
    this.status = status;
  }
}

/** Largest request body any stand-in reads. @default 1 MiB */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads the whole request body (up to `limitBytes`, else a 413 {@link SandboxHttpError}). */
export function readBody(req: IncomingMessage, options: { limitBytes?: number } = {}): Promise<Buffer> {
  const limitBytes = options.limitBytes ?? MAX_BODY_BYTES;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limitBytes) {
        failed = true;
        reject(new SandboxHttpError(413, `Request body exceeds ${limitBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      if (!failed) reject(new SandboxHttpError(400, 'Request body could not be read', { cause: error }));
    });
  });
}

/** Parses a JSON body; an empty body is `undefined`; malformed JSON is a 400 {@link SandboxHttpError}. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new SandboxHttpError(400, 'The request body is not valid JSON', { cause: error });
  }
}

/** Writes a JSON reply (`body` undefined: no body). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** True for IPv4/IPv6 loopback peers (`127.0.0.0/8`, `::1`, `::ffff:127.x`). */
export function isLoopback(remoteAddress: string | undefined): boolean {
  if (!remoteAddress) return false;
  return remoteAddress === '::1' || remoteAddress.startsWith('127.') || remoteAddress.startsWith('::ffff:127.');
}

/** Listens on 127.0.0.1 (`port` 0 or absent: a free port) and resolves the bound port. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, drops idle and active keep-alive sockets, and resolves when the server is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A repeatable PRNG (mulberry32) returning numbers in [0, 1); the same seed gives the same sequence. */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `setTimeout` as a promise (never blocks other requests). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------------------------------

/** Kinds of injected faults, as counted in `/_sandbox/stats`. */
export const FaultKind = {
  latency: 'latency',
  latencySpike: 'latencySpike',
  rateLimit: 'rateLimit',
  status500: 'status500',
  status503: 'status503',
  commitThenDrop: 'commitThenDrop',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

const operationsSchema = z.array(z.string().min(1)).min(1).optional();
const probabilitySchema = z.number().min(0).max(1);

/** Latency: a fixed delay or a uniform one in [minMs, maxMs], plus an optional spike. */
const latencySchema = z
  .object({
    fixedMs: z.number().int().min(0).max(600_000).optional(),
    minMs: z.number().int().min(0).max(600_000).optional(),
    maxMs: z.number().int().min(0).max(600_000).optional(),
    /** Share of requests that wait `spikeMs` instead. */
    spikeProbability: probabilitySchema.optional(),
    /** @default 1000 */
    spikeMs: z.number().int().min(0).max(600_000).optional(),
    operations: operationsSchema,
  })
  .strict()
  .refine((l) => l.minMs === undefined || l.maxMs === undefined || l.minMs <= l.maxMs, {
    message: 'minMs must not exceed maxMs',
  });

/** Rate limit: a requests-per-second budget (fixed one-second windows) and/or a probability of 429. */
const rateLimitSchema = z
  .object({
    requestsPerSecond: z.number().int().min(1).optional(),
    probability: probabilitySchema.optional(),
    /** Retry-After sent with the 429. @default the rest of the current window (≥ 1 s) for the budget, 1 s for the probability */
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    operations: operationsSchema,
  })
  .strict();

/** A share of 500/503 answers. */
const serverErrorsSchema = z
  .object({
    probability: probabilitySchema,
    /** Statuses to pick from, uniformly. @default [500, 503] */
    statuses: z
      .array(z.union([z.literal(500), z.literal(503)]))
      .min(1)
      .optional(),
    operations: operationsSchema,
  })
  .strict();

/** The request is processed and its effect stored, then the socket is destroyed before any response. */
const commitThenDropSchema = z
  .object({
    probability: probabilitySchema,
    operations: operationsSchema,
  })
  .strict();

/** The fault configuration every stand-in accepts (options at start or `POST /_sandbox/faults`). */
export const faultConfigSchema = z
  .object({
    /** Reseeds the PRNG when the configuration is set. */
    seed: z.number().int().optional(),
    /** A number is shorthand for `{ fixedMs }`. */
    latency: z.union([z.number().int().min(0).max(600_000), latencySchema]).optional(),
    rateLimit: rateLimitSchema.optional(),
    serverErrors: serverErrorsSchema.optional(),
    commitThenDrop: commitThenDropSchema.optional(),
  })
  .strict();

/** Fault configuration; each fault may name the operations it targets (default: every operation). */
export type FaultConfig = z.input<typeof faultConfigSchema>;

/** What the injector decided for one request. */
export interface FaultPlan {
  /** Wait this long before handling (0: none). */
  delayMs: number;
  /** Answer with this instead of handling the request. */
  reject?: { kind: 'rateLimit' | 'status500' | 'status503'; status: 429 | 500 | 503; retryAfterSeconds?: number };
  /** Handle the request (commit its effect), then destroy the socket without answering. */
  dropAfterCommit: boolean;
}

/** Parses a fault configuration, or throws a 400 {@link SandboxHttpError} naming the problems. */
export function parseFaultConfig(input: unknown): FaultConfig {
  const result = faultConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SandboxHttpError(400, `Invalid fault configuration: ${problems}`);
  }
  return result.data;
}

/** Options for {@link FaultInjector}. */
export interface FaultInjectorOptions {
  /** PRNG seed. @default 1 */
  seed?: number;
  /** Initial faults. */
  faults?: FaultConfig;
  /** Operations commit-then-drop targets when its `operations` is absent. @default every operation */
  defaultDropOperations?: readonly string[];
  nowMs?: () => number;
}

/**
 * Decides, per request, which faults to inject: latency, 429 (budget or probability), 500/503, and
 * commit-then-drop. Decisions come from a seeded PRNG, so a run with the same seed, configuration and
 * request order injects the same faults. Every injected fault is counted by kind.
 */
export class FaultInjector {
  #config: FaultConfig = {};
  #random: () => number;
  #seed: number;
  readonly #defaultDropOperations?: readonly string[];
  readonly #nowMs: () => number;
  readonly #counts: Record<FaultKind, number> = emptyFaultCounts();
  #windowStartMs = 0;
  #windowCount = 0;

  constructor(options: FaultInjectorOptions = {}) {
    this.#seed = options.seed ?? 1;
    this.#random = createPrng(this.#seed);
    this.#defaultDropOperations = options.defaultDropOperations;
    this.#nowMs = options.nowMs ?? Date.now;
    if (options.faults) this.set(options.faults);
  }

  /** Replaces the configuration (validated; throws {@link SandboxHttpError} 400). A `seed` reseeds the PRNG. */
  set(config: unknown): FaultConfig {
    const parsed = parseFaultConfig(config);
    this.#config = parsed;
    if (parsed.seed !== undefined) {
      this.#seed = parsed.seed;
      this.#random = createPrng(parsed.seed);
    }
    this.#windowCount = 0;
    return parsed;
  }

  /** Removes every fault (counters are kept). */
  clear(): void {
    this.#config = {};
    this.#windowCount = 0;
  }

  /** The current configuration. */
  config(): FaultConfig {
    return structuredClone(this.#config);
  }

  /** Injected faults so far, by kind. */
  counts(): Record<FaultKind, number> {
    return { ...this.#counts };
  }

  /** Zeroes the counters and restarts the PRNG from its seed. */
  resetCounts(): void {
    for (const kind of Object.keys(this.#counts) as FaultKind[]) this.#counts[kind] = 0;
    this.#random = createPrng(this.#seed);
  }

  /** Decides the faults of one request to `operation`. */
  plan(operation: string): FaultPlan {
    const config = this.#config;
    const plan: FaultPlan = { delayMs: 0, dropAfterCommit: false };
    const latency = typeof config.latency === 'number' ? { fixedMs: config.latency } : config.latency;
    if (latency && targets(latency.operations, operation)) {
      if (latency.spikeProbability !== undefined && this.#random() < latency.spikeProbability) {
        plan.delayMs = latency.spikeMs ?? 1000;
        this.#counts.latencySpike++;
      } else if (latency.fixedMs !== undefined) {
        plan.delayMs = latency.fixedMs;
      } else if (latency.minMs !== undefined || latency.maxMs !== undefined) {
        const min = latency.minMs ?? 0;
        const max = latency.maxMs ?? min;
        plan.delayMs = Math.round(min + this.#random() * (max - min));
      }
      if (plan.delayMs > 0) this.#counts.latency++;
    }
    const rateLimit = config.rateLimit;
    if (rateLimit && targets(rateLimit.operations, operation)) {
      if (rateLimit.requestsPerSecond !== undefined) {
        const now = this.#nowMs();
        if (now - this.#windowStartMs >= 1000) {
          this.#windowStartMs = now;
          this.#windowCount = 0;
        }
        this.#windowCount++;
        if (this.#windowCount > rateLimit.requestsPerSecond) {
          const restSeconds = Math.max(1, Math.ceil((this.#windowStartMs + 1000 - now) / 1000));
          plan.reject = {
            kind: 'rateLimit',
            status: 429,
            retryAfterSeconds: rateLimit.retryAfterSeconds ?? restSeconds,
          };
        }
      }
      if (!plan.reject && rateLimit.probability !== undefined && this.#random() < rateLimit.probability) {
        plan.reject = { kind: 'rateLimit', status: 429, retryAfterSeconds: rateLimit.retryAfterSeconds ?? 1 };
      }
      if (plan.reject) this.#counts.rateLimit++;
    }
    const errors = config.serverErrors;
    if (!plan.reject && errors && targets(errors.operations, operation) && this.#random() < errors.probability) {
      const statuses = errors.statuses ?? [500, 503];
      const status = statuses[Math.floor(this.#random() * statuses.length)] ?? 500;
      plan.reject =
        status === 503 ? { kind: 'status503', status: 503, retryAfterSeconds: 1 } : { kind: 'status500', status: 500 };
      this.#counts[plan.reject.kind]++;
    }
    const drop = config.commitThenDrop;
    if (
      !plan.reject &&
      drop &&
      targets(drop.operations ?? this.#defaultDropOperations, operation) &&
      this.#random() < drop.probability
    ) {
      plan.dropAfterCommit = true;
      this.#counts.commitThenDrop++;
    }
    return plan;
  }
}

/**
 * Serves the fault routes of a control surface on `faults`: `GET /_sandbox/faults` (the configuration),
 * `POST` (replace it; 400 {@link SandboxHttpError} when invalid), `DELETE` (clear). False when the
 * request is not one of them.
 */
export async function serveFaultControl(
  req: IncomingMessage,
  res: ServerResponse,
  faults: FaultInjector,
): Promise<boolean> {
  if ((req.url ?? '').split('?')[0] !== '/_sandbox/faults') return false;
  switch (req.method) {
    case 'GET':
      sendJson(res, 200, faults.config());
      return true;
    case 'POST':
      sendJson(res, 200, faults.set(parseJson(await readBody(req)) ?? {}));
      return true;
    case 'DELETE':
      faults.clear();
      sendJson(res, 204, undefined);
      return true;
    default:
      return false;
  }
}

function targets(operations: readonly string[] | undefined, operation: string): boolean {
  return operations === undefined || operations.includes(operation);
}

/** Fault counters, all zero. */
export function emptyFaultCounts(): Record<FaultKind, number> {
  return { latency: 0, latencySpike: 0, rateLimit: 0, status500: 0, status503: 0, commitThenDrop: 0 };
}

/** Adds one to `counts[key]`. */
export function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Command-line stand-ins: closes `close()` on SIGINT/SIGTERM, then exits. */
export function closeOnSignal(close: () => Promise<void>): void {
  const stop = () => {
    void close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
