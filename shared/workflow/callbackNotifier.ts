import http from 'node:http';
import https from 'node:https';
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import nodeFetch from 'node-fetch';
import { isPublicAddress } from '../platform/addressPolicy';
import type { Logger } from '../platform/logging';
import { parseRetryAfterMs, withRetry, type RetryDeps, type RetryPolicy } from '../platform/retry';
import { WorkflowError } from './errors';
import type { TrackingView } from './trackingView';

/** Why a callback was not delivered: stable values, safe to store on the record and to alert on. */
export const CallbackFailureCode = {
  /** The callbackUrl is not an absolute URL. */
  InvalidUrl: 'invalid_url',
  /** http where only https is allowed (CALLBACK_ALLOW_PRIVATE_TARGETS=false). */
  InsecureTarget: 'insecure_target',
  /** The address, or one of the addresses the name resolves to, is not public (loopback, private, …). */
  TargetNotPublic: 'target_not_public',
  /** The name did not resolve. */
  NameNotResolved: 'name_not_resolved',
  /** The target answered, but not 2xx (redirects are not followed), after the retries. */
  HttpStatus: 'http_status',
  /** No answer within the time budget of an attempt, after the retries. */
  Timeout: 'timeout',
  /** The connection failed, after the retries. */
  Network: 'network',
} as const;
export type CallbackFailureCode = (typeof CallbackFailureCode)[keyof typeof CallbackFailureCode];

/**
 * The result of {@link CallbackNotifier.notify}. `state` is the record's next `callbackState`; a
 * failure carries a stable `code` and a `reason` for people (no body, no query string, no contact data).
 */
export type CallbackDeliveryResult =
  | { state: 'delivered'; status: number; attempts: number }
  | { state: 'failed'; code: CallbackFailureCode; reason: string; attempts: number; status?: number };

/** A CloudEvent POSTed to a callback URL (shared/sync/): its `subject` is the trackingId. */
export interface CallbackEventBody {
  readonly specversion: string;
  readonly subject: string;
}

/** Resolves a host name to all its addresses (`dns.lookup` with `all: true` by default). */
export type ResolveHost = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

/** Defaults of {@link CallbackNotifierOptions}: 3 attempts, 500 ms first backoff ceiling, 5 s per attempt. */
export const CALLBACK_DELIVERY_DEFAULTS = {
  timeoutMs: 5_000,
  retry: {
    maxAttempts: 3,
    baseDelayMs: 500,
    maxDelayMs: 5_000,
    /** Delivery runs inside a function invocation: a longer Retry-After ends it as failed. */
    maxRetryAfterMs: 5_000,
    deadlineReserveMs: 0,
  },
} as const satisfies { timeoutMs: number; retry: RetryPolicy };

/** Options for {@link CallbackNotifier}. */
export interface CallbackNotifierOptions {
  /** Allow http and loopback/private targets (the sandbox only; CALLBACK_ALLOW_PRIVATE_TARGETS). @default false */
  allowPrivateTargets?: boolean;
  /** Time budget of one attempt. @default 5000 */
  timeoutMs?: number;
  /** @default CALLBACK_DELIVERY_DEFAULTS.retry */
  retry?: Partial<RetryPolicy>;
  fetch?: typeof nodeFetch;
  /** @default dns.lookup(hostname, { all: true }) */
  resolve?: ResolveHost;
  logger: Logger;
  /** Sleep, randomness and clock of the retries. @default real ones */
  deps?: Partial<RetryDeps>;
}

/** One failed attempt, read by the retry loop (never leaves this module). */
class CallbackAttemptError extends WorkflowError {
  constructor(
    readonly code: CallbackFailureCode,
    readonly reason: string,
    options: { retryable: boolean; status?: number; retryAfterMs?: number },
  ) {
    super(reason, { retryable: options.retryable });
    this.name = 'CallbackAttemptError';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  readonly status?: number;
  readonly retryAfterMs?: number;
}

type CheckedTarget =
  | { ok: true; url: URL; addresses: Array<{ address: string; family: number }> }
  | { ok: false; code: CallbackFailureCode; reason: string };

/**
 * POSTs the tracking view to a caller's `callbackUrl` when a record ends (completed, linked or
 * rejected). https only, and only to public addresses, unless the sandbox allows private targets:
 *
 * ```
 * callbackUrl ──► literal IP? ──► that address ─┐
 *             └─► name ──► dns.lookup (all) ────┴─► every address public? ──no──► failed target_not_public
 *                                                          │ yes
 *                     connect pinned to these addresses ◄──┘  (the agent's lookup answers from the check:
 *                                                              no second DNS answer between check and connect)
 * ```
 * Retried (429, 408, 5xx, timeouts, network) with the bridge's retry helper; never throws, so it cannot
 * block the pipeline. Redirects are not followed.
 */
export class CallbackNotifier {
  readonly #allowPrivateTargets: boolean;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #fetch: typeof nodeFetch;
  readonly #resolve: ResolveHost;
  readonly #logger: Logger;
  readonly #deps: Partial<RetryDeps>;

  constructor(options: CallbackNotifierOptions) {
    this.#allowPrivateTargets = options.allowPrivateTargets ?? false;
    this.#timeoutMs = options.timeoutMs ?? CALLBACK_DELIVERY_DEFAULTS.timeoutMs;
    this.#retry = { ...CALLBACK_DELIVERY_DEFAULTS.retry, ...options.retry };
    this.#fetch = options.fetch ?? nodeFetch;
    this.#resolve = options.resolve ?? ((hostname) => lookup(hostname, { all: true, verbatim: true }));
    this.#logger = options.logger;
    this.#deps = options.deps ?? {};
  }

  /**
   * Delivers `view` (or a CloudEvent, `contentType` `application/cloudevents+json`) to `url`; resolves to
   * what happened (see {@link CallbackDeliveryResult}), never rejects.
   */
  async notify(
    url: string,
    view: TrackingView | CallbackEventBody,
    options: { contentType?: string } = {},
  ): Promise<CallbackDeliveryResult> {
    const target = await this.#checkTarget(url);
    if (!target.ok) return this.#failed(view, url, { code: target.code, reason: target.reason, attempts: 0 });
    const agent = pinnedAgent(target.url, target.addresses);
    let attempts = 0;
    try {
      const status = await withRetry(
        async () => {
          attempts++;
          return this.#attempt(target.url, view, agent, options.contentType ?? 'application/json');
        },
        { policy: this.#retry, deps: this.#deps },
      );
      return { state: 'delivered', status, attempts };
    } catch (error) {
      const failure =
        error instanceof CallbackAttemptError
          ? error
          : new CallbackAttemptError(CallbackFailureCode.Network, 'The delivery failed unexpectedly', {
              retryable: false,
            });
      return this.#failed(view, url, {
        code: failure.code,
        reason: failure.reason,
        attempts,
        ...(failure.status === undefined ? {} : { status: failure.status }),
      });
    } finally {
      agent.destroy();
    }
  }

  async #attempt(
    url: URL,
    view: TrackingView | CallbackEventBody,
    agent: http.Agent,
    contentType: string,
  ): Promise<number> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let response: Awaited<ReturnType<typeof nodeFetch>>;
    try {
      response = await this.#fetch(url.href, {
        method: 'POST',
        headers: { 'Content-Type': contentType, 'User-Agent': 'cosell-referral-bridge' },
        body: JSON.stringify(view),
        redirect: 'manual',
        agent,
        signal,
      });
      await response.text().catch(() => undefined);
    } catch (error) {
      // node-fetch's message holds the whole URL (query string included): only the socket's code is kept.
      if (signal.aborted)
        throw new CallbackAttemptError(CallbackFailureCode.Timeout, `No answer within ${this.#timeoutMs} ms`, {
          retryable: true,
        });
      const code = (error as { code?: unknown }).code;
      throw new CallbackAttemptError(
        CallbackFailureCode.Network,
        `The connection failed${typeof code === 'string' ? ` (${code})` : ''}`,
        { retryable: true },
      );
    }
    const { status } = response;
    if (status >= 200 && status < 300) return status;
    throw new CallbackAttemptError(CallbackFailureCode.HttpStatus, `The target answered HTTP ${status}`, {
      status,
      retryable: status === 408 || status === 429 || status >= 500,
      retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after'), (this.#deps.nowMs ?? Date.now)()),
    });
  }

  async #checkTarget(url: string): Promise<CheckedTarget> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, code: CallbackFailureCode.InvalidUrl, reason: 'Not an absolute URL' };
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
      return { ok: false, code: CallbackFailureCode.InvalidUrl, reason: `Not an http(s) URL (${parsed.protocol})` };
    if (parsed.protocol !== 'https:' && !this.#allowPrivateTargets)
      return { ok: false, code: CallbackFailureCode.InsecureTarget, reason: 'Not https' };
    const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    let addresses: Array<{ address: string; family: number }>;
    if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
    else {
      try {
        addresses = await this.#resolve(host);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        return {
          ok: false,
          code: CallbackFailureCode.NameNotResolved,
          reason: `The name ${host} did not resolve${typeof code === 'string' ? ` (${code})` : ''}`,
        };
      }
    }
    if (addresses.length === 0)
      return { ok: false, code: CallbackFailureCode.NameNotResolved, reason: `The name ${host} has no address` };
    if (!this.#allowPrivateTargets) {
      const refused = addresses.filter((a) => !isPublicAddress(a.address)).map((a) => a.address);
      if (refused.length > 0) {
        return {
          ok: false,
          code: CallbackFailureCode.TargetNotPublic,
          reason: `${isIP(host) ? 'The address' : `The name ${host} resolves to`} ${refused.join(', ')}: not a public address`,
        };
      }
    }
    return { ok: true, url: parsed, addresses };
  }

  #failed(
    view: TrackingView | CallbackEventBody,
    url: string,
    failure: { code: CallbackFailureCode; reason: string; attempts: number; status?: number },
  ): CallbackDeliveryResult {
    this.#logger.warn('Callback delivery failed', {
      trackingId: 'trackingId' in view ? view.trackingId : view.subject,
      target: originOf(url),
      ...failure,
    });
    return { state: 'failed', ...failure };
  }
}

/** An agent whose sockets connect only to `addresses` (the checked ones), whatever DNS says later. */
function pinnedAgent(url: URL, addresses: ReadonlyArray<{ address: string; family: number }>): http.Agent {
  const pinned: LookupFunction = (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : undefined;
    const candidates = family === undefined ? addresses : addresses.filter((a) => a.family === family);
    const first = candidates[0];
    if (!first) {
      callback(Object.assign(new Error(`No checked address of ${hostname}`), { code: 'ENOTFOUND' }), '');
      return;
    }
    if (options.all) callback(null, [...candidates]);
    else callback(null, first.address, first.family);
  };
  const agentOptions = { keepAlive: false, lookup: pinned };
  return url.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
}

/** scheme://host:port of a URL for logs (never the path or the query string); '' when not a URL. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

/** True for loopback, private, link-local and every other non-public address (see shared/platform/addressPolicy.ts). */
export function isNonPublicAddress(address: string): boolean {
  return !isPublicAddress(address);
}
