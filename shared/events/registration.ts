/**
 * Registering the events URL with Partner Center (docs/events.md "Registration"): which events the bridge
 * wants, how the current registration stands against the URL we want, the operator's register step and the
 * validation check.
 *
 * One registration per partner; registering again overwrites it [V], so {@link registerEvents} shows the
 * current one first and asks before replacing another URL. The HTTP calls are {@link WebhookRegistrationClient}'s
 * (webhookApiClient.ts); every URL printed here goes through {@link redactWebhookUrl} (webhookUrl.ts).
 */
import { EventName } from './constants';
import {
  WebhookApiError,
  type ValidationEventResult,
  type WebhookRegistration,
  type WebhookRegistrationClient,
} from './webhookApiClient';
import { redactWebhookUrl, webhookUrlIdentity } from './webhookUrl';

/** The events the bridge registers: the four referral events [V] and the self-test event [V]. */
export const REGISTERED_EVENT_NAMES = [
  EventName.ReferralCreated,
  EventName.ReferralUpdated,
  EventName.RelatedReferralCreated,
  EventName.RelatedReferralUpdated,
  EventName.TestCreated,
] as const;

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
  const wantedIdentity = webhookUrlIdentity(wanted.webhookUrl, {
    ignoreKey: wanted.ignoreKey,
    keyFingerprint: wanted.keyFingerprint,
  });
  const currentIdentity = webhookUrlIdentity(current.webhookUrl, { ignoreKey: wanted.ignoreKey });
  if (currentIdentity !== wantedIdentity) return { state: RegistrationState.OtherUrl, missingEvents, registeredUrl };
  return {
    state: missingEvents.length > 0 ? RegistrationState.MissingEvents : RegistrationState.Current,
    missingEvents,
    registeredUrl,
  };
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
