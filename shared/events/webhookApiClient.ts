/**
 * The Webhook API client (docs/events.md "Registration"): the registration's GET/POST/PUT, the supported
 * events and the validation events, over HTTP with one retry for a 401 (fresh token), a 5xx or no answer.
 *
 * Another host and token audience than the referrals API [V]: `https://api.partnercenter.microsoft.com`
 * (settings PARTNER_CENTER_WEBHOOK_API_URL and PARTNER_CENTER_WEBHOOK_RESOURCE). Tokens travel only in the
 * Authorization header and are never logged.
 */
import type { Agent as HttpsAgent } from 'node:https';
import nodeFetch from 'node-fetch';
import type { AccessTokenProvider, FetchLike } from '../auth/types';
import type { BridgeErrorOptions } from '../platform/errors';
import { EventsError } from './errors';

/** Paths of the Webhook API [V]. */
export const WebhookApiPath = {
  registration: '/webhooks/v1/registration',
  supportedEvents: '/webhooks/v1/registration/events',
  validationEvents: '/webhooks/v1/registration/validationEvents',
} as const;

/** A registration as the Webhook API returns it (keys read case-insensitively). */
export interface WebhookRegistration {
  subscriberId?: string;
  webhookUrl: string;
  webhookEvents: string[];
  signatureTokenToMsSignatureHeader?: boolean;
}

/** What a validation event (`test-created` sent by Partner Center on request) became [V]. */
export interface ValidationEventResult {
  correlationId: string;
  partnerId?: string;
  /** `pending`, `completed` or `failed` in the simulator [I: values not documented]. */
  status: string;
  callbackUrl?: string;
  results: Array<{ responseCode: number; responseMessage?: string; systemError?: string | null; dateTimeUtc?: string }>;
}

/** A Webhook API call failed; `status` is the HTTP status (0 when no answer came). Never carries a token. */
export class WebhookApiError extends EventsError {
  readonly status: number;
  /** Seconds from a 429's Retry-After. */
  readonly retryAfterSeconds?: number;
  constructor(message: string, status: number, options: BridgeErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(message, { retryable: status === 0 || status === 429 || status >= 500, ...options });
    this.name = 'WebhookApiError';
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Options of {@link WebhookRegistrationClient}. */
export interface WebhookRegistrationClientOptions {
  /** Origin of the Webhook API (PARTNER_CENTER_WEBHOOK_API_URL). */
  baseUrl: string;
  /** Tokens for the webhook audience (PARTNER_CENTER_WEBHOOK_RESOURCE). */
  tokens: AccessTokenProvider;
  /** @default node-fetch */
  fetch?: FetchLike;
  httpsAgent?: HttpsAgent;
  /** Time budget of one HTTP attempt. @default 15000 */
  timeoutMs?: number;
}

/** The Webhook API client: registration GET/POST/PUT, supported events, validation events. */
export class WebhookRegistrationClient {
  readonly #baseUrl: string;
  readonly #tokens: AccessTokenProvider;
  readonly #fetch: FetchLike;
  readonly #agent?: HttpsAgent;
  readonly #timeoutMs: number;

  constructor(options: WebhookRegistrationClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#tokens = options.tokens;
    this.#fetch = options.fetch ?? nodeFetch;
    this.#agent = options.httpsAgent;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** The current registration, or undefined when none exists (404). */
  async get(): Promise<WebhookRegistration | undefined> {
    const answer = await this.#call('GET', WebhookApiPath.registration, undefined, [404]);
    return answer.status === 404 ? undefined : parseRegistration(answer.body);
  }

  /** Creates (`POST`) or replaces (`PUT`) the registration; answers what Partner Center stored. */
  async register(
    registration: { webhookUrl: string; events: readonly string[]; signatureTokenToMsSignatureHeader?: boolean },
    method: 'POST' | 'PUT' = 'POST',
  ): Promise<WebhookRegistration> {
    const answer = await this.#call(method, WebhookApiPath.registration, {
      WebhookUrl: registration.webhookUrl,
      WebhookEvents: [...registration.events],
      ...(registration.signatureTokenToMsSignatureHeader ? { SignatureTokenToMsSignatureHeader: true } : {}),
    });
    return parseRegistration(answer.body);
  }

  /** The event names Partner Center can deliver. */
  async supportedEvents(): Promise<string[]> {
    const answer = await this.#call('GET', WebhookApiPath.supportedEvents);
    if (!Array.isArray(answer.body)) throw new WebhookApiError('The supported events are not a list', answer.status);
    return answer.body.filter((name): name is string => typeof name === 'string');
  }

  /** Asks Partner Center to send a `test-created` event (throttled to 2 a minute [V]); answers its correlation id. */
  async requestValidationEvent(): Promise<string> {
    const answer = await this.#call('POST', WebhookApiPath.validationEvents, {});
    const correlationId = readKey(answer.body, 'correlationId');
    if (typeof correlationId !== 'string' || correlationId === '')
      throw new WebhookApiError('The validation answer has no correlationId', answer.status);
    return correlationId;
  }

  /** What became of a validation event. */
  async validationEvent(correlationId: string): Promise<ValidationEventResult> {
    const answer = await this.#call('GET', `${WebhookApiPath.validationEvents}/${encodeURIComponent(correlationId)}`);
    return parseValidationResult(answer.body, correlationId);
  }

  async #call(
    method: string,
    path: string,
    body?: unknown,
    acceptedStatuses: readonly number[] = [],
  ): Promise<{ status: number; body: unknown }> {
    let token = await this.#tokens.getAccessToken();
    for (let attempt = 1; ; attempt++) {
      let response: Awaited<ReturnType<FetchLike>>;
      try {
        response = await this.#fetch(`${this.#baseUrl}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.#timeoutMs),
          ...(this.#agent && this.#baseUrl.startsWith('https:') ? { agent: this.#agent } : {}),
        });
      } catch (error) {
        if (attempt < 2) continue;
        throw new WebhookApiError(`${method} ${path}: no answer (${errorName(error)})`, 0, { cause: error });
      }
      const text = await response.text();
      const parsed = parseJsonOrText(text);
      if (response.ok || acceptedStatuses.includes(response.status)) return { status: response.status, body: parsed };
      if (response.status === 401 && attempt < 2) {
        token = await this.#tokens.getAccessToken({ forceRefresh: true, rejectedToken: token });
        continue;
      }
      if (response.status >= 500 && attempt < 2) continue;
      const retryAfter = Number(response.headers.get('retry-after') ?? NaN);
      throw new WebhookApiError(
        `${method} ${path}: ${response.status}${describeProblem(parsed)}`,
        response.status,
        Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {},
      );
    }
  }
}

/** The registration in a Webhook API answer (keys case-insensitive). */
export function parseRegistration(body: unknown): WebhookRegistration {
  const webhookUrl = readKey(body, 'WebhookUrl');
  const events = readKey(body, 'WebhookEvents');
  if (typeof webhookUrl !== 'string' || !Array.isArray(events))
    throw new WebhookApiError('The registration answer has no WebhookUrl or WebhookEvents', 200);
  const subscriberId = readKey(body, 'SubscriberId');
  const inHeader = readKey(body, 'SignatureTokenToMsSignatureHeader');
  return {
    ...(typeof subscriberId === 'string' ? { subscriberId } : {}),
    webhookUrl,
    webhookEvents: events.filter((e): e is string => typeof e === 'string'),
    ...(typeof inHeader === 'boolean' ? { signatureTokenToMsSignatureHeader: inHeader } : {}),
  };
}

function parseValidationResult(body: unknown, correlationId: string): ValidationEventResult {
  const results = readKey(body, 'results');
  const status = readKey(body, 'status');
  const partnerId = readKey(body, 'partnerId');
  const callbackUrl = readKey(body, 'callbackUrl');
  return {
    correlationId,
    ...(typeof partnerId === 'string' ? { partnerId } : {}),
    status: typeof status === 'string' ? status : 'unknown',
    ...(typeof callbackUrl === 'string' ? { callbackUrl } : {}),
    results: (Array.isArray(results) ? results : []).map((r) => {
      const responseCode = Number(readKey(r, 'responseCode') ?? 0);
      const responseMessage = readKey(r, 'responseMessage');
      const systemError = readKey(r, 'systemError');
      const dateTimeUtc = readKey(r, 'dateTimeUtc');
      return {
        responseCode: Number.isFinite(responseCode) ? responseCode : 0,
        ...(typeof responseMessage === 'string' ? { responseMessage } : {}),
        systemError: typeof systemError === 'string' ? systemError : null,
        ...(typeof dateTimeUtc === 'string' ? { dateTimeUtc } : {}),
      };
    }),
  };
}

function readKey(body: unknown, name: string): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const wanted = name.toLowerCase();
  return Object.entries(body as Record<string, unknown>).find(([key]) => key.toLowerCase() === wanted)?.[1];
}

function parseJsonOrText(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** ` (<description>)` from a commerce error body `{ code, description }`, short and without values we sent. */
function describeProblem(body: unknown): string {
  const description = readKey(body, 'description') ?? readKey(body, 'message');
  return typeof description === 'string' && description ? ` (${description.slice(0, 200)})` : '';
}

function errorName(error: unknown): string {
  if (error instanceof Error)
    return error.name === 'AbortError' || error.name === 'TimeoutError' ? 'timeout' : error.name;
  return 'error';
}
