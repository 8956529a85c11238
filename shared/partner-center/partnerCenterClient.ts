/** The Partner Center referrals client (below); what an answer means is partnerCenterAnswer.ts, the API's types types.ts. */
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import nodeFetch, { type RequestInit } from 'node-fetch';
import type { Logger } from '../platform/logging';
import { createLogger, silentSink } from '../platform/logging';
import { partnerCenterOperation, recordPartnerCenterCall } from '../platform/metrics';
import { realSleep, verdictOf, withRetry, type RetryDeps, type RetryPolicy } from '../platform/retry';
import { AdaptiveConcurrencyLimiter } from './adaptiveConcurrency';
import { feedbackOfAnswer } from './callFeedback';
import { PartnerCenterError, PartnerCenterUnavailableError } from './errors';
import { interpretAnswer, type PartnerCenterAnswer } from './partnerCenterAnswer';
import type {
  AccessTokenSource,
  CallOptions,
  PartnerCenterReferral,
  PatchOptions,
  ReferralPatchOperation,
} from './types';

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
  /** Largest backoff ceiling between attempts. @default 30000 */
  maxBackoffMs?: number;
  /**
   * A longer Retry-After on a 429 is not waited for: the throttling error is raised (retryable) so the
   * queue retries later, instead of calling again before Partner Center asked. @default maxBackoffMs
   */
  maxRetryAfterMs?: number;
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

/**
 * Typed Partner Center referrals client (node-fetch, keep-alive).
 *
 * Retries 429 (honouring Retry-After), 5xx, 408, timeouts and network failures with the bridge's retry
 * helper (exponential backoff, full jitter) within `maxAttempts` and the caller's deadline; the last
 * attempt's timeout is cut to the deadline, so no reserve is kept before it. A 401 forces one token
 * refresh and one retry. Every call sends `MS-RequestId` (stable across retries) and a fresh
 * `MS-CorrelationId` (logged). Failures are typed {@link PartnerCenterError}s with a retryable flag.
 */
export class PartnerCenterClient {
  readonly #baseUrl: string;
  readonly #tokens: AccessTokenSource;
  readonly #limiter: AdaptiveConcurrencyLimiter;
  readonly #timeoutMs: number;
  readonly #retryPolicy: RetryPolicy;
  readonly #retryDeps: RetryDeps;
  readonly #fetch: typeof nodeFetch;
  readonly #logger: Logger;
  readonly #nowMs: () => number;
  readonly #agent: http.Agent;
  readonly #stats: PartnerCenterClientStats = { calls: 0, byStatus: {}, retries: 0 };

  constructor(options: PartnerCenterClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#tokens = options.tokens;
    const concurrency = options.concurrency ?? 16;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    const maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#retryPolicy = {
      maxAttempts: options.maxAttempts ?? 4,
      baseDelayMs: options.baseBackoffMs ?? 250,
      maxDelayMs: maxBackoffMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? maxBackoffMs,
      deadlineReserveMs: 0,
    };
    this.#fetch = options.fetch ?? nodeFetch;
    this.#logger = options.logger ?? createLogger({ sink: silentSink });
    this.#nowMs = options.nowMs ?? Date.now;
    this.#retryDeps = { random: options.random ?? Math.random, sleep: options.sleep ?? realSleep, nowMs: this.#nowMs };
    this.#limiter =
      options.limiter ??
      new AdaptiveConcurrencyLimiter({ ceiling: concurrency, nowMs: this.#nowMs, sleep: this.#retryDeps.sleep });
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
   * `PATCH /v1.0/engagements/referrals/{id}` with a JSON Patch (`add`/`replace` only). Returns the referral as
   * changed, or undefined when Partner Center answered 204 (no representation). A stale `ifMatch` fails with
   * a {@link PartnerCenterRejectedError} of status 412. The same `requestId` on every retry of one call.
   */
  async patchReferral(
    id: string,
    operations: readonly ReferralPatchOperation[],
    options: PatchOptions = {},
  ): Promise<PartnerCenterReferral | undefined> {
    const headers: Record<string, string> = {
      ...(options.ifMatch === undefined ? {} : { 'If-Match': options.ifMatch }),
      ...(options.returnRepresentation === false ? {} : { Prefer: 'return=representation' }),
    };
    return this.#call<PartnerCenterReferral | undefined>(
      'PATCH',
      `${REFERRALS_PATH}/${encodeURIComponent(id)}`,
      operations,
      options,
      headers,
    );
  }

  /**
   * `GET /v1.0/engagements/referrals?$filter=...`, following `@odata.nextLink` up to `maxItems`.
   * Build `filter` with {@link odataEquals} so values are escaped.
   */
  async listReferrals(
    query: { filter?: string; orderBy?: string; top?: number; maxItems?: number },
    options: CallOptions = {},
  ): Promise<PartnerCenterReferral[]> {
    const items: PartnerCenterReferral[] = [];
    const maxItems = query.maxItems ?? 1000;
    for await (const page of this.listReferralPages(query, options)) {
      items.push(...page);
      if (items.length >= maxItems) break;
    }
    return items.slice(0, maxItems);
  }

  /**
   * The pages of `GET /v1.0/engagements/referrals?$filter=…&$orderby=…&$top=…`, one call per page,
   * following `@odata.nextLink` (on the configured origin) until the caller stops or there is none.
   */
  async *listReferralPages(
    query: { filter?: string; orderBy?: string; top?: number },
    options: CallOptions = {},
  ): AsyncGenerator<PartnerCenterReferral[]> {
    const params = new URLSearchParams();
    if (query.filter) params.set('$filter', query.filter);
    if (query.orderBy) params.set('$orderby', query.orderBy);
    if (query.top) params.set('$top', String(query.top));
    let path: string | undefined = `${REFERRALS_PATH}${params.size ? `?${params.toString()}` : ''}`;
    while (path) {
      const page: { value?: PartnerCenterReferral[]; '@odata.nextLink'?: string } = await this.#call(
        'GET',
        path,
        undefined,
        { ...options, requestId: undefined },
      );
      const next = page['@odata.nextLink'];
      path = next ? this.#relativePath(next) : undefined;
      yield page.value ?? [];
    }
  }

  #relativePath(link: string): string {
    const url = new URL(link, this.#baseUrl);
    return `${url.pathname}${url.search}`;
  }

  async #call<T>(
    method: string,
    path: string,
    body: unknown,
    options: CallOptions,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const requestId = options.requestId ?? randomUUID();
    let refreshedAfter401 = false;
    return withRetry(
      async (attempt) => {
        const correlationId = randomUUID();
        let token = await this.#tokens.getAccessToken();
        let response = await this.#attempt(method, path, body, token, { requestId, correlationId, headers }, options);
        if (!(response instanceof PartnerCenterError) && response.status === 401 && !refreshedAfter401) {
          refreshedAfter401 = true;
          token = await this.#tokens.getAccessToken({ forceRefresh: true, rejectedToken: token });
          response = await this.#attempt(method, path, body, token, { requestId, correlationId, headers }, options);
        }
        const outcome =
          response instanceof PartnerCenterError
            ? response
            : interpretAnswer<T>(response, { requestId, correlationId, nowMs: this.#nowMs });
        const fields = { ...options.logFields, method, attempt, requestId, correlationId };
        if (!(outcome instanceof PartnerCenterError)) {
          this.#logger.debug('Partner Center call succeeded', fields);
          return outcome;
        }
        this.#logger.warn('Partner Center call failed', {
          ...fields,
          status: outcome.status,
          code: outcome.code,
          retryable: outcome.retryable,
        });
        throw outcome;
      },
      {
        policy: this.#retryPolicy,
        deps: this.#retryDeps,
        deadlineEpochMs: options.deadlineEpochMs,
        // A throttle holds every call of the instance: a retry waits for the hold's end (plus the helper's jitter).
        classify: (error) => {
          const own = verdictOf(error);
          const holdMs = this.#limiter.holdRemainingMs();
          return holdMs > 0 ? { ...own, retryAfterMs: Math.max(own.retryAfterMs ?? 0, holdMs) } : own;
        },
        onRetry: () => this.#stats.retries++,
      },
    );
  }

  async #attempt(
    method: string,
    path: string,
    body: unknown,
    token: string,
    ids: { requestId: string; correlationId: string; headers: Record<string, string> },
    options: CallOptions,
  ): Promise<PartnerCenterAnswer | PartnerCenterError> {
    const { requestId, correlationId } = ids;
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
      const signal = AbortSignal.timeout(remainingMs);
      this.#stats.calls++;
      const init: RequestInit = {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          'MS-RequestId': requestId,
          'MS-CorrelationId': correlationId,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...ids.headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        agent: this.#agent,
        signal,
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
        const aborted = signal.aborted;
        this.#count(aborted ? 'timeout' : 'network');
        recordPartnerCenterCall(operation, aborted ? 'timeout' : 'network', this.#nowMs() - startedAtMs);
        return new PartnerCenterUnavailableError(
          aborted
            ? `Partner Center did not answer within ${remainingMs} ms`
            : 'The connection to Partner Center failed',
          { code: aborted ? 'timeout' : 'network', requestId, correlationId, cause: error },
        );
      }
    }, feedbackOfAnswer);
  }

  #count(key: string): void {
    this.#stats.byStatus[key] = (this.#stats.byStatus[key] ?? 0) + 1;
  }
}
