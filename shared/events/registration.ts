/**
 * Partner Center's Webhook API (docs/events.md "Registration"): which URL receives the referral events.
 *
 * Another host and token audience than the referrals API [V]: `https://api.partnercenter.microsoft.com`
 * (settings PARTNER_CENTER_WEBHOOK_API_URL and PARTNER_CENTER_WEBHOOK_RESOURCE). One registration per
 * partner; registering again overwrites it [V], so {@link registerEvents} shows the current one first and
 * asks before replacing another URL.
 *
 * The Function key rides as the `code` query parameter of the registered URL (Partner Center cannot send
 * headers): it is a secret, so every URL this module prints or stores goes through {@link redactWebhookUrl}.
 * Tokens travel only in the Authorization header and are never logged.
 */
import { createHash } from 'node:crypto';
import type { Agent as HttpsAgent } from 'node:https';
import nodeFetch from 'node-fetch';
import type { AccessTokenProvider, FetchLike } from '../auth/types';
import type { BridgeErrorOptions } from '../platform/errors';
import { EventName } from './constants';
import { EventsError } from './errors';

/** The events the bridge registers: the four referral events [V] and the self-test event [V]. */
export const REGISTERED_EVENT_NAMES = [
  EventName.ReferralCreated,
  EventName.ReferralUpdated,
  EventName.RelatedReferralCreated,
  EventName.RelatedReferralUpdated,
  EventName.TestCreated,
] as const;

/** Paths of the Webhook API [V]. */
export const WebhookApiPath = {
  registration: '/webhooks/v1/registration',
  supportedEvents: '/webhooks/v1/registration/events',
  validationEvents: '/webhooks/v1/registration/validationEvents',
} as const;

/** Query parameters whose value is a secret (the Function key is `code`). */
const SECRET_QUERY_PARAMETERS = new Set(['code', 'sig', 'key', 'token', 'access_token']);

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

/** Where the current registration stands against the URL we want (pure; used by the CLI and by health). */
export const RegistrationState = {
  /** Nothing registered. */
  Missing: 'missing',
  /** Our URL, every wanted event. */
  Current: 'current',
  /** Our URL, but some wanted events are not registered. */
  MissingEvents: 'missing-events',
  /** Another URL is registered: events go elsewhere (someone overwrote ours, or this is a new install). */
  OtherUrl: 'other-url',
} as const;
export type RegistrationState = (typeof RegistrationState)[keyof typeof RegistrationState];

/** The outcome of {@link compareRegistration}. */
export interface RegistrationComparison {
  state: RegistrationState;
  /** Wanted events the registration lacks. */
  missingEvents: string[];
  /** The registered URL, redacted (absent when nothing is registered). */
  registeredUrl?: string;
}

/** The URL we want registered: a raw URL, or a redacted one with the fingerprint of its key (as stored). */
export interface WantedRegistration {
  webhookUrl: string;
  /** Given (even null): `webhookUrl` is already redacted and the key is compared by this fingerprint. */
  keyFingerprint?: string | null;
  /** Compare without the `code` parameter (EVENTS_WEBHOOK_URL is set without the key). @default false */
  ignoreKey?: boolean;
  /** @default {@link REGISTERED_EVENT_NAMES} */
  events?: readonly string[];
}

/**
 * Compares a registration with the wanted URL and events. The key counts: the same URL with another
 * `code` value is another URL (compared by fingerprint, so a stored expectation never holds the key).
 */
export function compareRegistration(
  current: WebhookRegistration | undefined,
  wanted: WantedRegistration,
): RegistrationComparison {
  const events = wanted.events ?? REGISTERED_EVENT_NAMES;
  if (!current) return { state: RegistrationState.Missing, missingEvents: [...events] };
  const registeredUrl = redactWebhookUrl(current.webhookUrl);
  const registered = new Set(current.webhookEvents.map((e) => e.toLowerCase()));
  const missingEvents = events.filter((e) => !registered.has(e.toLowerCase()));
  const wantedIdentity = wanted.ignoreKey
    ? normaliseUrl(withoutKey(wanted.webhookUrl))
    : wanted.keyFingerprint !== undefined
      ? `${normaliseUrl(wanted.webhookUrl)}#${wanted.keyFingerprint ?? ''}`
      : urlIdentity(wanted.webhookUrl);
  const currentIdentity = wanted.ignoreKey
    ? normaliseUrl(withoutKey(current.webhookUrl))
    : urlIdentity(current.webhookUrl);
  if (currentIdentity !== wantedIdentity) return { state: RegistrationState.OtherUrl, missingEvents, registeredUrl };
  return {
    state: missingEvents.length > 0 ? RegistrationState.MissingEvents : RegistrationState.Current,
    missingEvents,
    registeredUrl,
  };
}

/** The URL without its `code` parameter. */
function withoutKey(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.delete('code');
    return parsed.href;
  } catch {
    return url;
  }
}

/** Redacted, normalised URL + key fingerprint: equal for the same URL and key, never containing the key. */
function urlIdentity(url: string): string {
  return `${normaliseUrl(redactWebhookUrl(url))}#${functionKeyFingerprint(url) ?? ''}`;
}

/** The URL with every secret query value (`code`, …) replaced by `***`: safe to print and store. */
export function redactWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    for (const name of [...parsed.searchParams.keys()])
      if (SECRET_QUERY_PARAMETERS.has(name.toLowerCase())) parsed.searchParams.set(name, '***');
    return parsed.href;
  } catch {
    return '(not a URL)';
  }
}

/** `url` with `code=<functionKey>` set (replacing any `code` already there). */
export function withFunctionKey(url: string, functionKey: string | undefined): string {
  if (!functionKey) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('code', functionKey);
  return parsed.href;
}

/** A short, non-reversible fingerprint of the `code` value (tells keys apart without storing one), or undefined. */
export function functionKeyFingerprint(url: string): string | undefined {
  try {
    const code = new URL(url).searchParams.get('code');
    return code ? createHash('sha256').update(code).digest('hex').slice(0, 12) : undefined;
  } catch {
    return undefined;
  }
}

/** Why {@link registerEvents} did or did not write. */
export const RegisterOutcome = {
  Created: 'created',
  Updated: 'updated',
  Overwritten: 'overwritten',
  Unchanged: 'unchanged',
  Declined: 'declined',
} as const;
export type RegisterOutcome = (typeof RegisterOutcome)[keyof typeof RegisterOutcome];

/** Options of {@link registerEvents}. */
export interface RegisterEventsOptions {
  client: Pick<WebhookRegistrationClient, 'get' | 'register'>;
  /** The public events URL, `code` included when the Function uses keys. */
  webhookUrl: string;
  /** @default {@link REGISTERED_EVENT_NAMES} */
  events?: readonly string[];
  /** Register with `SignatureTokenToMsSignatureHeader: true` (signature in `x-ms-signature`). @default false */
  signatureInMsHeader?: boolean;
  /**
   * Asked before another URL is overwritten, with the redacted current and new URLs; true = go ahead.
   * The CLI prompts (or honours `--yes`); the sandbox launcher answers true.
   */
  confirmOverwrite: (current: string, next: string) => Promise<boolean>;
  /** Progress lines (URLs already redacted). */
  print?: (line: string) => void;
}

/** What {@link registerEvents} did. */
export interface RegisterEventsResult {
  outcome: RegisterOutcome;
  before: RegistrationComparison;
  /** The registration after the call (the current one when nothing was written). */
  registration?: WebhookRegistration;
}

/**
 * Registers the events URL the way an operator would: reads and prints the current registration,
 * leaves a current one alone, adds missing events to our URL, and overwrites another URL only when
 * `confirmOverwrite` says so.
 */
export async function registerEvents(options: RegisterEventsOptions): Promise<RegisterEventsResult> {
  const print = options.print ?? (() => undefined);
  const events = options.events ?? REGISTERED_EVENT_NAMES;
  const current = await options.client.get();
  const before = compareRegistration(current, { webhookUrl: options.webhookUrl, events });
  print(
    current
      ? `Current registration: ${redactWebhookUrl(current.webhookUrl)} for ${current.webhookEvents.join(', ') || '(no events)'}`
      : 'Current registration: none',
  );
  const next = redactWebhookUrl(options.webhookUrl);
  const headerWanted = options.signatureInMsHeader === true;
  const headerMatches = (current?.signatureTokenToMsSignatureHeader ?? false) === headerWanted;
  if (before.state === RegistrationState.Current && headerMatches) {
    print(`Already registered: ${next}`);
    return { outcome: RegisterOutcome.Unchanged, before, registration: current };
  }
  if (before.state === RegistrationState.OtherUrl && current) {
    const approved = await options.confirmOverwrite(redactWebhookUrl(current.webhookUrl), next);
    if (!approved) {
      print('Not overwritten.');
      return { outcome: RegisterOutcome.Declined, before, registration: current };
    }
  }
  const registration = await options.client.register(
    { webhookUrl: options.webhookUrl, events, signatureTokenToMsSignatureHeader: headerWanted },
    current ? 'PUT' : 'POST',
  );
  const outcome =
    before.state === RegistrationState.Missing
      ? RegisterOutcome.Created
      : before.state === RegistrationState.OtherUrl
        ? RegisterOutcome.Overwritten
        : RegisterOutcome.Updated;
  print(
    `Registered (${outcome}): ${redactWebhookUrl(registration.webhookUrl)} for ${registration.webhookEvents.join(', ')}`,
  );
  return { outcome, before, registration };
}

/** Options of {@link runValidationCheck}. */
export interface ValidationCheckOptions {
  client: Pick<WebhookRegistrationClient, 'requestValidationEvent' | 'validationEvent'>;
  /** Stop polling after this long (the result is then whatever it was). @default 60000 */
  timeoutMs?: number;
  /** @default 1000 */
  pollIntervalMs?: number;
  sleep?: (delayMs: number) => Promise<void>;
  nowMs?: () => number;
}

/** A validation event's final (or last seen) state; `ok` when Partner Center reports a 2xx answer. */
export interface ValidationCheckResult {
  ok: boolean;
  result: ValidationEventResult;
}

/**
 * Sends a validation event (`POST …/validationEvents`) and polls its result until it is no longer
 * `pending` or `timeoutMs` runs out. `ok` = a delivery attempt got a 2xx answer.
 */
export async function runValidationCheck(options: ValidationCheckOptions): Promise<ValidationCheckResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const nowMs = options.nowMs ?? Date.now;
  const deadline = nowMs() + (options.timeoutMs ?? 60_000);
  const correlationId = await options.client.requestValidationEvent();
  for (;;) {
    let result: ValidationEventResult | undefined;
    try {
      result = await options.client.validationEvent(correlationId);
    } catch (error) {
      // Just created: the record may not be readable yet.
      if (!(error instanceof WebhookApiError && error.status === 404) || nowMs() >= deadline) throw error;
    }
    const ok = result?.results.some((r) => r.responseCode >= 200 && r.responseCode < 300) ?? false;
    if (result && (ok || result.status.toLowerCase() !== 'pending' || nowMs() >= deadline)) return { ok, result };
    await sleep(options.pollIntervalMs ?? 1_000);
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

function normaliseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.searchParams.sort();
    return parsed.href;
  } catch {
    return url;
  }
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
