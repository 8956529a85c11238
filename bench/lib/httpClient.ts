/**
 * A small keep-alive HTTP client for the benchmarks (node:http, no retries): JSON or raw bodies in,
 * status, headers, parsed JSON and the time to the full answer out. Network errors are answers with
 * `status: 0` and the error, so a load run counts them instead of stopping.
 */
import http, { type IncomingHttpHeaders } from 'node:http';

/** One answer. */
export interface HttpAnswer {
  /** 0 when the request failed before an answer (see `error`). */
  status: number;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  text: string;
  /** From the request start to the last byte of the answer. */
  durationMs: number;
  error?: Error;
}

/** Options of one request. */
export interface HttpRequestOptions {
  method?: string;
  /** An object (sent as JSON) or a string / Buffer sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
  /** @default 60000 */
  timeoutMs?: number;
}

/** A client with its own keep-alive agent. */
export class HttpClient {
  readonly #agent: http.Agent;

  constructor(options: { maxSockets?: number } = {}) {
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  }

  /** Sends one request to `url`. Never throws. */
  request(url: string, options: HttpRequestOptions = {}): Promise<HttpAnswer> {
    const started = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e6;
    const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
    let payload: Buffer | undefined;
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) {
      payload = Buffer.isBuffer(options.body)
        ? options.body
        : Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body), 'utf8');
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve) => {
      const req = http.request(
        url,
        { method, headers, agent: this.#agent, timeout: options.timeoutMs ?? 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) =>
            resolve({ status: 0, headers: {}, json: undefined, text: '', durationMs: elapsed(), error }),
          );
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text, durationMs: elapsed() });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`No answer within ${options.timeoutMs ?? 60_000} ms`)));
      req.on('error', (error) =>
        resolve({ status: 0, headers: {}, json: undefined, text: '', durationMs: elapsed(), error }),
      );
      req.end(payload);
    });
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.#agent.destroy();
  }
}

/**
 * Runs `worker` over `items` with at most `concurrency` in flight; results keep the input order.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index], index);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** `setTimeout` as a promise. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
