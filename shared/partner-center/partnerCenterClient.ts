import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import nodeFetch, { type RequestInit } from 'node-fetch';
import type { Logger } from '../platform/logging';
import { createLogger, silentSink } from '../platform/logging';
import { partnerCenterOperation, recordPartnerCenterCall } from '../platform/metrics';
import { AdaptiveConcurrencyLimiter, feedbackOfAnswer } from './adaptiveConcurrency';
import {
  PartnerCenterError,
  PartnerCenterRejectedError,
  PartnerCenterThrottledError,
  PartnerCenterUnauthorizedError,
  PartnerCenterUnavailableError,
} from './errors';

/** Anything that hands out Partner Center access tokens (the token broker in shared/auth). */
export interface AccessTokenSource {
  getAccessToken(options?: { forceRefresh?: boolean; rejectedToken?: string }): Promise<string>;
}

/** A referral as Partner Center returns it (only the fields the bridge reads are typed). */
export interface PartnerCenterReferral {
  id: string;
  engagementId: string;
  organizationId?: string;
  organizationName?: string;
  eTag?: string;
  status?: string;
  substatus?: string;
  target?: Array<{ type?: string; id?: string }>;
  [field: string]: unknown;
}

/** Per-call options. */
export interface CallOptions {
  /** MS-RequestId: the same value on every retry of one logical call. @default a new GUID per call */
  requestId?: string;
  /** Give up retrying when the next attempt could not finish by then (epoch ms). */
  deadlineEpochMs?: number;
  /** Extra log fields (trackingId). */
  logFields?: Record<string, unknown>;
}

/** Options for {@link PartnerCenterClient}. */
export interface PartnerCenterClientOptions {
  /** API origin, e.g. https://api.partner.microsoft.com (the sandbox simulator locally). */
  baseUrl: string;
  tokens: AccessTokenSource;
  /** Calls in flight at once. @default 16 */
  concurrency?: number;
  /** Admission of calls (throttle-aware). @default an adaptive limiter with `concurrency` as its ceiling */
  limiter?: AdaptiveConcurrencyLimiter;
  /** Time budget of one HTTP attempt. @default 30000 */
  timeoutMs?: number;
  /** Attempts per call (429, 5xx, timeouts). @default 4 */
  maxAttempts?: number;
  /** First backoff step; doubles per attempt, full jitter. @default 250 */
  baseBackoffMs?: number;
  /** Largest wait between attempts (also caps Retry-After). @default 30000 */
  maxBackoffMs?: number;
  fetch?: typeof nodeFetch;
  logger?: Logger;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  nowMs?: () => number;
}

/** Counters for benchmarks and metrics. */
export interface PartnerCenterClientStats {
  calls: number;
  byStatus: Record<string, number>;
  retries: number;
}

const REFERRALS_PATH = '/v1.0/engagements/referrals';

/** One answer, read whole inside the concurrency slot (what {@link PartnerCenterClient} interprets). */
interface PartnerCenterAnswer {
  status: number;
  /** The `Retry-After` header, if any. */
  retryAfter: string | null;
  text: string;
}

/**
 * Typed Partner Center referrals client (node-fetch, keep-alive).
 *
 * Retries 429 (honouring Retry-After), 5xx, 408, timeouts and network failures with exponential
 * backoff and full jitter, within `maxAttempts` and the caller's deadline; a 401 forces one token
 * refresh and one retry. Every call sends `MS-RequestId` (stable across retries) and a fresh
 * `MS-CorrelationId` (logged). Failures are typed {@link PartnerCenterError}s with a retryable flag.
 */
export class PartnerCenterClient {
  readonly #baseUrl: string;
  readonly #tokens: AccessTokenSource;
  readonly #limiter: AdaptiveConcurrencyLimiter;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #fetch: typeof nodeFetch;
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #nowMs: () => number;
  readonly #agent: http.Agent;
  readonly #stats: PartnerCenterClientStats = { calls: 0, byStatus: {}, retries: 0 };

  constructor(options: PartnerCenterClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#tokens = options.tokens;
    const concurrency = options.concurrency ?? 16;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxAttempts = options.maxAttempts ?? 4;
    this.#baseBackoffMs = options.baseBackoffMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#fetch = options.fetch ?? nodeFetch;
    this.#logger = options.logger ?? createLogger({ sink: silentSink });
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#nowMs = options.nowMs ?? Date.now;
    this.#limiter =
      options.limiter ??
      new AdaptiveConcurrencyLimiter({ ceiling: concurrency, nowMs: this.#nowMs, sleep: this.#sleep });
    const agentOptions = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency };
    this.#agent = this.#baseUrl.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** Calls made so far, by HTTP status. */
  stats(): PartnerCenterClientStats {
    return { ...this.#stats, byStatus: { ...this.#stats.byStatus } };
  }

  /** `POST /v1.0/engagements/referrals`: creates a referral. Pass a stable `requestId` for idempotency. */
  async createReferral(body: unknown, options: CallOptions = {}): Promise<PartnerCenterReferral> {
    return this.#call<PartnerCenterReferral>('POST', REFERRALS_PATH, body, options);
  }

  /** `GET /v1.0/engagements/referrals/{id}`. */
  async getReferral(id: string, options: CallOptions = {}): Promise<PartnerCenterReferral> {
    return this.#call<PartnerCenterReferral>('GET', `${REFERRALS_PATH}/${encodeURIComponent(id)}`, undefined, options);
  }

  /**
   * `GET /v1.0/engagements/referrals?$filter=...`, following `@odata.nextLink` up to `maxItems`.
   * Build `filter` with {@link odataEquals} so values are escaped.
   */
  async listReferrals(
    query: { filter?: string; top?: number; maxItems?: number },
    options: CallOptions = {},
  ): Promise<PartnerCenterReferral[]> {
    const params = new URLSearchParams();
    if (query.filter) params.set('$filter', query.filter);
    if (query.top) params.set('$top', String(query.top));
    let path: string | undefined = `${REFERRALS_PATH}${params.size ? `?${params.toString()}` : ''}`;
    const items: PartnerCenterReferral[] = [];
    const maxItems = query.maxItems ?? 1000;
    while (path && items.length < maxItems) {
      const page: { value?: PartnerCenterReferral[]; '@odata.nextLink'?: string } = await this.#call(
        'GET',
        path,
        undefined,
        {
          ...options,
          requestId: undefined,
        },
      );
      items.push(...(page.value ?? []));
      const next = page['@odata.nextLink'];
      path = next ? this.#relativePath(next) : undefined;
    }
    return items.slice(0, maxItems);
  }

  #relativePath(link: string): string {
    const url = new URL(link, this.#baseUrl);
    return `${url.pathname}${url.search}`;
  }

  async #call<T>(method: string, path: string, body: unknown, options: CallOptions): Promise<T> {
    const requestId = options.requestId ?? randomUUID();
    let refreshedAfter401 = false;
    let lastError: PartnerCenterError | undefined;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const correlationId = randomUUID();
      let token = await this.#tokens.getAccessToken();
      let response = await this.#attempt(method, path, body, token, requestId, correlationId, options);
      if (response instanceof PartnerCenterError === false && response.status === 401 && !refreshedAfter401) {
        refreshedAfter401 = true;
        token = await this.#tokens.getAccessToken({ forceRefresh: true, rejectedToken: token });
        response = await this.#attempt(method, path, body, token, requestId, correlationId, options);
      }
      const outcome =
        response instanceof PartnerCenterError ? response : this.#interpret<T>(response, requestId, correlationId);
      if (!(outcome instanceof PartnerCenterError)) {
        this.#logger.debug('Partner Center call succeeded', {
          ...options.logFields,
          method,
          attempt,
          requestId,
          correlationId,
        });
        return outcome;
      }
      lastError = outcome;
      this.#logger.warn('Partner Center call failed', {
        ...options.logFields,
        method,
        status: outcome.status,
        code: outcome.code,
        attempt,
        retryable: outcome.retryable,
        requestId,
        correlationId,
      });
      if (!outcome.retryable || attempt === this.#maxAttempts) throw outcome;
      const delayMs = this.#delayBeforeRetry(outcome, attempt);
      if (options.deadlineEpochMs !== undefined && this.#nowMs() + delayMs >= options.deadlineEpochMs) throw outcome;
      this.#stats.retries++;
      await this.#sleep(delayMs);
    }
    throw lastError ?? new PartnerCenterUnavailableError('No attempt was made', { code: 'noAttempt', requestId });
  }

  async #attempt(
    method: string,
    path: string,
    body: unknown,
    token: string,
    requestId: string,
    correlationId: string,
    options: CallOptions,
  ): Promise<PartnerCenterAnswer | PartnerCenterError> {
    return this.#limiter.run(async () => {
      const remainingMs =
        options.deadlineEpochMs === undefined
          ? this.#timeoutMs
          : Math.min(this.#timeoutMs, options.deadlineEpochMs - this.#nowMs());
      if (remainingMs <= 0) {
        return new PartnerCenterUnavailableError('The time budget ran out before the call', {
          code: 'timeout',
          requestId,
          correlationId,
        });
      }
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), remainingMs);
      this.#stats.calls++;
      const init: RequestInit = {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          'MS-RequestId': requestId,
          'MS-CorrelationId': correlationId,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        agent: this.#agent,
        signal: controller.signal,
      };
      const startedAtMs = this.#nowMs();
      const operation = partnerCenterOperation(method, path);
      try {
        const response = await this.#fetch(`${this.#baseUrl}${path}`, init);
        this.#count(String(response.status));
        recordPartnerCenterCall(operation, response.status, this.#nowMs() - startedAtMs);
        // Read the body inside the slot so the socket is free for the next caller.
        const text = await response.text();
        return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
      } catch (error) {
        const aborted = controller.signal.aborted;
        this.#count(aborted ? 'timeout' : 'network');
        recordPartnerCenterCall(operation, aborted ? 'timeout' : 'network', this.#nowMs() - startedAtMs);
        return new PartnerCenterUnavailableError(
          aborted
            ? `Partner Center did not answer within ${remainingMs} ms`
            : 'The connection to Partner Center failed',
          { code: aborted ? 'timeout' : 'network', requestId, correlationId, cause: error },
        );
      } finally {
        clearTimeout(timer);
      }
    }, feedbackOfAnswer);
  }

  #interpret<T>(response: PartnerCenterAnswer, requestId: string, correlationId: string): T | PartnerCenterError {
    const text = response.text;
    if (response.status >= 200 && response.status < 300) {
      if (!text) return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        return new PartnerCenterUnavailableError('Partner Center answered with a body that is not JSON', {
          status: response.status,
          code: 'invalidResponse',
          requestId,
          correlationId,
          cause: error,
        });
      }
    }
    const detail = parseErrorBody(text);
    const context = {
      status: response.status,
      code: detail.code ?? `http${response.status}`,
      target: detail.target,
      requestId,
      correlationId,
    };
    const message = `Partner Center answered ${response.status}${detail.code ? ` ${detail.code}` : ''}: ${detail.message ?? 'no message'}`;
    if (response.status === 429)
      return new PartnerCenterThrottledError(message, parseRetryAfterMs(response.retryAfter), context);
    if (response.status === 401) return new PartnerCenterUnauthorizedError(message, context);
    if (response.status === 408 || response.status >= 500) return new PartnerCenterUnavailableError(message, context);
    return new PartnerCenterRejectedError(message, context);
  }

  #delayBeforeRetry(error: PartnerCenterError, attempt: number): number {
    const holdMs = this.#limiter.holdRemainingMs(); // a throttle holds every call: wait it out, plus full jitter
    if (holdMs > 0)
      return Math.min(this.#maxBackoffMs, holdMs + Math.floor(this.#random() * this.#baseBackoffMs * 2 ** attempt));
    if (error instanceof PartnerCenterThrottledError && error.retryAfterMs !== undefined) {
      return Math.min(this.#maxBackoffMs, error.retryAfterMs + Math.floor(this.#random() * 100));
    }
    const ceilingMs = Math.min(this.#maxBackoffMs, this.#baseBackoffMs * 2 ** (attempt - 1));
    return Math.floor(this.#random() * ceilingMs);
  }

  #count(key: string): void {
    this.#stats.byStatus[key] = (this.#stats.byStatus[key] ?? 0) + 1;
  }
}

/** Parses `{ error: { code, message, target } }`, tolerating other shapes (e.g. the throttling body). */
function parseErrorBody(text: string): { code?: string; message?: string; target?: string } {
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; target?: unknown };
      message?: unknown;
    };
    const error = parsed.error;
    const pick = (v: unknown) => (typeof v === 'string' ? v.slice(0, 1024) : undefined);
    if (error && typeof error === 'object')
      return { code: pick(error.code), message: pick(error.message), target: pick(error.target) };
    return { message: pick(parsed.message) };
  } catch {
    return {};
  }
}

/** Retry-After as delta-seconds or an HTTP date, in ms. */
export function parseRetryAfterMs(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
