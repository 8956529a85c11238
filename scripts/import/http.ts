/**
 * The importer's HTTP calls (node-fetch, the project's client): one request with a timeout and the
 * function key, the answer read as JSON when it is JSON, `Retry-After` read as a delay, and the
 * back-off used when an answer gives none. Network failures and timeouts come back as values
 * (`{ status: 0 }`), never as throws, so the submitter decides about every failure in one place.
 */
import nodeFetch from 'node-fetch';

/** One answer (status 0: no answer: network failure, timeout or abort). */
export interface HttpAnswer {
  status: number;
  headers: { get(name: string): string | null };
  /** The parsed JSON body, or undefined. */
  json: unknown;
  /** For status 0: what went wrong (`timeout`, `aborted`, or the network error's code). */
  failure?: string;
}

/** Options of {@link sendRequest}. */
export interface RequestOptions {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Aborts the request (the hard stop after Ctrl-C). */
  signal?: AbortSignal;
}

const NO_HEADERS = { get: () => null };

function networkCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'network error';
}

/** Sends one request; never throws. */
export async function sendRequest(options: RequestOptions): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const response = await nodeFetch(options.url, {
      method: options.method,
      headers: {
        Accept: 'application/json',
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal,
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json };
  } catch (error) {
    const failure = timeout.aborted ? 'timeout' : options.signal?.aborted ? 'aborted' : networkCodeOf(error);
    return { status: 0, headers: NO_HEADERS, json: undefined, failure };
  }
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Full-jitter exponential back-off for attempt `attempt` (1-based): a random delay in [0, min(max, base·2^(n−1))]. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1)));
}

/** Waits `ms`, or less when `signal` aborts first; resolves to false when it was cut short. */
export function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
