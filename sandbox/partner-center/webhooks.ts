/**
 * Partner Center webhooks in the simulator: registrations (one per partner organization, registering
 * again overwrites) and an in-process delivery queue that signs each event body as Partner Center does
 * and delivers it with retries (../shared/reference/partner-center-lifecycle.md, "Webhook events",
 * "Registration API", "Signature of a delivered event").
 *
 * - Body: flat PascalCase JSON `{ EventName, ResourceUri, ResourceName, AuditUri, ResourceChangeUtcDate }`.
 * - Signature: RSA-SHA256, PKCS#1 v1.5 [inferred, from the .NET call of the public sample] over the raw
 *   body bytes, base64; `Authorization: Signature <b64>` (or `x-ms-signature` when registered so),
 *   `X-MS-Certificate-Url`, `X-MS-Signature-Algorithm: rsa-sha256`.
 * - Up to `maxAttempts` (10, as documented) attempts with exponential backoff (intervals unpublished:
 *   configurable), then the delivery is dropped for good and counted.
 * - Faults (`events` entry of `/_sandbox/faults`): lose, duplicate, delay, reorder, forge.
 */
import http from 'node:http';
import https from 'node:https';
import { createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createPrng } from '../http-util';
import type { EventFaults } from './webhookFaults';

/** Event types of referrals (documented), and the self-test event. */
export const WebhookEventName = {
  referralCreated: 'referral-created',
  referralUpdated: 'referral-updated',
  relatedReferralCreated: 'related-referral-created',
  relatedReferralUpdated: 'related-referral-updated',
  testCreated: 'test-created',
} as const;
export type WebhookEventName = (typeof WebhookEventName)[keyof typeof WebhookEventName];

/** Every event type a registration may name (what `GET /webhooks/v1/registration/events` answers). */
export const SUPPORTED_WEBHOOK_EVENTS: readonly WebhookEventName[] = Object.values(WebhookEventName);

/** The body Partner Center posts (flat, PascalCase, in this key order). */
export interface WebhookEventBody {
  EventName: WebhookEventName;
  ResourceUri: string;
  ResourceName: string;
  AuditUri: string | null;
  ResourceChangeUtcDate: string;
}

/** A partner organization's registration. */
export interface WebhookRegistration {
  SubscriberId: string;
  WebhookUrl: string;
  WebhookEvents: WebhookEventName[];
  /** The signature goes in `x-ms-signature` instead of `Authorization`. */
  SignatureTokenToMsSignatureHeader: boolean;
}

/** One attempt of a delivery, as `GET /_sandbox/events` shows it. */
export interface DeliveryAttempt {
  attempt: number;
  /** HTTP status of the receiver's answer; absent when no answer came (`error`). */
  responseCode?: number;
  /** Connection error or timeout. */
  error?: string;
  dateTimeUtc: string;
}

/** Where a delivery stands. */
export const DeliveryStatus = {
  /** Waiting for its next attempt (or held by the delay/reorder faults). */
  pending: 'pending',
  /** A receiver answered 2xx. */
  delivered: 'delivered',
  /** Every attempt failed: never sent again (Partner Center's offline queue). */
  dropped: 'dropped',
  /** Lost by the `events.drop` fault: never attempted. */
  lost: 'lost',
} as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];

/** A delivery of one event to one URL. */
export interface Delivery {
  /** The simulator's id (never sent: Partner Center sends no event or delivery id). */
  id: string;
  organizationId: string;
  url: string;
  event: WebhookEventBody;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  /** The second copy made by the `events.duplicate` fault. */
  duplicate: boolean;
  /** Signed with a foreign key by the `events.forge` fault. */
  forged: boolean;
  /** Validation (`test-created`) deliveries: the correlation id of the validation event. */
  correlationId?: string;
}

/** Counters of `GET /_sandbox/events` and `stats().events`. */
export interface DeliveryCounts {
  /** Events produced by changes (and validation requests). */
  events: number;
  /** Events no registration subscribes to (nothing sent). */
  unsubscribed: number;
  deliveries: number;
  pending: number;
  delivered: number;
  dropped: number;
  lost: number;
  duplicated: number;
  delayed: number;
  reordered: number;
  forged: number;
  attempts: number;
}

/** Options of {@link WebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  /** Signing key (PEM) of the certificate served at `certificateUrl`. */
  signingKeyPem: string;
  certificateUrl: string;
  /** CA the receivers' https certificates chain to (the sandbox CA). */
  caPem?: string;
  /** @default 10 (documented) */
  maxAttempts?: number;
  /** Wait before the second attempt; doubled per attempt. @default 100 */
  retryBaseDelayMs?: number;
  /** Longest wait between attempts. @default 2000 */
  retryMaxDelayMs?: number;
  /** Time an attempt may take (connect + answer). @default 10000 */
  attemptTimeoutMs?: number;
  /** Concurrent connections to one receiver. @default 8 */
  maxConnectionsPerReceiver?: number;
  /** `x-ms-signature` carries `Signature <b64>` (true) or the bare base64 (false). @default true [inferred] */
  msSignatureValuePrefix?: boolean;
  seed?: number;
  nowMs?: () => number;
}

/** Resolves when no delivery is pending. */
type Waiter = () => void;

/**
 * Registrations by partner organization and the delivery queue. Synchronous `publish`, asynchronous
 * attempts (timers); `close()` cancels everything in flight.
 */
export class WebhookDispatcher {
  readonly #registrations = new Map<string, WebhookRegistration>();
  #deliveries: Delivery[] = [];
  #counts: DeliveryCounts = emptyCounts();
  #faults: EventFaults = {};
  #random: () => number;
  #seed: number;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #requests = new Set<http.ClientRequest>();
  #held: Array<(next: () => void) => void> = [];
  #heldTimer: NodeJS.Timeout | undefined;
  #waiters: Waiter[] = [];
  #forgeKey: KeyObject | undefined;
  #closed = false;
  readonly #signingKey: KeyObject;
  /** Keep-alive connections to the receivers (a bounded number per receiver, like a dispatcher's pool). */
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;
  readonly #options: Required<
    Omit<WebhookDispatcherOptions, 'caPem' | 'seed' | 'signingKeyPem' | 'maxConnectionsPerReceiver'>
  > & {
    caPem?: string;
  };

  constructor(options: WebhookDispatcherOptions) {
    this.#signingKey = createPrivateKey(options.signingKeyPem);
    const maxSockets = options.maxConnectionsPerReceiver ?? 8;
    this.#httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.#httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets,
      ...(options.caPem ? { ca: options.caPem } : {}),
    });
    this.#seed = options.seed ?? 1;
    this.#random = createPrng(this.#seed);
    this.#options = {
      certificateUrl: options.certificateUrl,
      caPem: options.caPem,
      maxAttempts: options.maxAttempts ?? 10,
      retryBaseDelayMs: options.retryBaseDelayMs ?? 100,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 2000,
      attemptTimeoutMs: options.attemptTimeoutMs ?? 10_000,
      msSignatureValuePrefix: options.msSignatureValuePrefix ?? true,
      nowMs: options.nowMs ?? Date.now,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Registrations
  // -------------------------------------------------------------------------------------------

  /** The registration of `organizationId`. */
  registration(organizationId: string): WebhookRegistration | undefined {
    const found = this.#registrations.get(organizationId);
    return found ? structuredClone(found) : undefined;
  }

  /**
   * Registers (or overwrites) the webhook of `organizationId`: one URL for the named event types; the
   * previous URL gets nothing more. The SubscriberId is kept across overwrites.
   */
  register(
    organizationId: string,
    registration: { webhookUrl: string; events: readonly WebhookEventName[]; signatureInMsHeader?: boolean },
  ): WebhookRegistration {
    const previous = this.#registrations.get(organizationId);
    const stored: WebhookRegistration = {
      SubscriberId: previous?.SubscriberId ?? randomUUID(),
      WebhookUrl: registration.webhookUrl,
      WebhookEvents: [...new Set(registration.events)],
      SignatureTokenToMsSignatureHeader: registration.signatureInMsHeader ?? false,
    };
    this.#registrations.set(organizationId, stored);
    return structuredClone(stored);
  }

  /** Organizations with a registration, most recent last. */
  registeredOrganizations(): string[] {
    return [...this.#registrations.keys()];
  }

  // -------------------------------------------------------------------------------------------
  // Faults
  // -------------------------------------------------------------------------------------------

  /** Replaces the delivery faults (validated by the caller); undefined clears them. */
  setFaults(faults: EventFaults | undefined): void {
    this.#faults = faults ?? {};
  }

  /** The current delivery faults. */
  faults(): EventFaults {
    return structuredClone(this.#faults);
  }

  /** Restarts the PRNG (same seed, or `seed`). */
  reseed(seed?: number): void {
    if (seed !== undefined) this.#seed = seed;
    this.#random = createPrng(this.#seed);
  }

  // -------------------------------------------------------------------------------------------
  // Publishing and delivery
  // -------------------------------------------------------------------------------------------

  /**
   * Sends `event` to the URL `organizationId` registered for its type (nothing when none). Returns the
   * deliveries made (none, one, or two with the duplicate fault; a lost one is returned too).
   */
  publish(organizationId: string, event: WebhookEventBody, correlationId?: string): Delivery[] {
    if (this.#closed) return [];
    this.#counts.events++;
    const registration = this.#registrations.get(organizationId);
    if (!registration || !registration.WebhookEvents.includes(event.EventName)) {
      this.#counts.unsubscribed++;
      return [];
    }
    const faults = this.#appliesTo(event.EventName) ? this.#faults : {};
    const copies = faults.duplicate !== undefined && this.#random() < faults.duplicate ? 2 : 1;
    const made: Delivery[] = [];
    for (let copy = 0; copy < copies; copy++) {
      const delivery: Delivery = {
        id: randomUUID(),
        organizationId,
        url: registration.WebhookUrl,
        event,
        status: DeliveryStatus.pending,
        attempts: [],
        duplicate: copy > 0,
        forged: this.#decide(faults.forge),
        ...(correlationId ? { correlationId } : {}),
      };
      this.#deliveries.push(delivery);
      this.#counts.deliveries++;
      if (delivery.duplicate) this.#counts.duplicated++;
      if (delivery.forged) this.#counts.forged++;
      made.push(delivery);
      if (faults.drop !== undefined && this.#random() < faults.drop) {
        delivery.status = DeliveryStatus.lost;
        this.#counts.lost++;
        continue;
      }
      this.#counts.pending++;
      const signatureInMsHeader = registration.SignatureTokenToMsSignatureHeader;
      const start = (next?: () => void) => this.#attempt(delivery, signatureInMsHeader, next);
      const delayed =
        faults.delayMs !== undefined &&
        faults.delayMs > 0 &&
        (faults.delayProbability === undefined || this.#random() < faults.delayProbability);
      if (delayed) this.#counts.delayed++;
      const afterDelay = delayed ? (next?: () => void) => this.#later(faults.delayMs ?? 0, () => start(next)) : start;
      if (faults.reorder) this.#hold(afterDelay, faults);
      else afterDelay();
    }
    this.#settle();
    return made;
  }

  /** Deliveries so far, oldest first. */
  deliveries(): Delivery[] {
    return structuredClone(this.#deliveries);
  }

  /** The counters. */
  counts(): DeliveryCounts {
    return { ...this.#counts };
  }

  /** Resolves when no delivery is pending (resolves at once when none is). */
  settled(): Promise<void> {
    if (this.#counts.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Forgets deliveries and counters, cancels pending ones; `registrations: true` also forgets those. */
  reset(options: { registrations?: boolean } = {}): void {
    this.#cancelAll();
    this.#deliveries = [];
    this.#counts = emptyCounts();
    this.#faults = {};
    this.reseed();
    if (options.registrations) this.#registrations.clear();
    this.#settle();
  }

  /** Cancels every timer and request; nothing is sent afterwards. */
  close(): void {
    this.#closed = true;
    this.#cancelAll();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#settle();
  }

  #appliesTo(eventName: string): boolean {
    return this.#faults.eventNames === undefined || this.#faults.eventNames.includes(eventName);
  }

  #decide(share: boolean | number | undefined): boolean {
    if (share === undefined || share === false) return false;
    if (share === true) return true;
    return this.#random() < share;
  }

  /** Holds a delivery for the reorder fault; `start(next)` calls `next` once its first attempt is over. */
  #hold(start: (next: () => void) => void, faults: EventFaults): void {
    this.#counts.reordered++;
    this.#held.push(start);
    if (this.#held.length >= (faults.reorderBatchSize ?? 2)) {
      this.#releaseHeld();
      return;
    }
    if (!this.#heldTimer) {
      this.#heldTimer = setTimeout(() => this.#releaseHeld(), faults.reorderWindowMs ?? 1000);
      this.#timers.add(this.#heldTimer);
    }
  }

  #releaseHeld(): void {
    if (this.#heldTimer) {
      clearTimeout(this.#heldTimer);
      this.#timers.delete(this.#heldTimer);
      this.#heldTimer = undefined;
    }
    // Reverse order, one after the other (each starts when the previous first attempt is over), so the
    // receiver sees them out of order for certain rather than by a race of connections.
    const batch = this.#held.reverse();
    this.#held = [];
    const run = (index: number): void => {
      if (index < batch.length) batch[index](() => run(index + 1));
    };
    run(0);
  }

  #later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, delayMs);
    this.#timers.add(timer);
  }

  #attempt(delivery: Delivery, signatureInMsHeader: boolean, afterFirstAttempt?: () => void): void {
    if (this.#closed || delivery.status !== DeliveryStatus.pending) return;
    const attempt = delivery.attempts.length + 1;
    this.#counts.attempts++;
    const raw = Buffer.from(JSON.stringify(delivery.event), 'utf8');
    const signature = sign('sha256', raw, delivery.forged ? this.#foreignKey() : this.#signingKey).toString('base64');
    const signatureHeader: Record<string, string> = signatureInMsHeader
      ? { 'x-ms-signature': this.#options.msSignatureValuePrefix ? `Signature ${signature}` : signature }
      : { Authorization: `Signature ${signature}` };
    const url = new URL(delivery.url);
    const client = url.protocol === 'https:' ? https : http;
    const finish = (result: { responseCode?: number; error?: string }) => {
      if (delivery.attempts.length >= attempt) return;
      delivery.attempts.push({ attempt, ...result, dateTimeUtc: new Date(this.#options.nowMs()).toISOString() });
      afterFirstAttempt?.();
      if (delivery.status !== DeliveryStatus.pending) return;
      if (result.responseCode !== undefined && result.responseCode >= 200 && result.responseCode < 300) {
        this.#finish(delivery, DeliveryStatus.delivered);
      } else if (attempt >= this.#options.maxAttempts) {
        this.#finish(delivery, DeliveryStatus.dropped);
      } else {
        const waitMs = Math.min(
          this.#options.retryMaxDelayMs,
          this.#options.retryBaseDelayMs * 2 ** Math.min(attempt - 1, 30),
        );
        this.#later(waitMs, () => this.#attempt(delivery, signatureInMsHeader));
      }
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': raw.length,
          ...signatureHeader,
          'X-MS-Certificate-Url': this.#options.certificateUrl,
          'X-MS-Signature-Algorithm': 'rsa-sha256',
        },
        timeout: this.#options.attemptTimeoutMs,
        agent: url.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent,
      },
      (response) => {
        response.resume();
        response.on('end', () => {
          this.#requests.delete(request);
          finish({ responseCode: response.statusCode ?? 0 });
        });
        response.on('error', () => undefined);
      },
    );
    this.#requests.add(request);
    request.on('timeout', () => request.destroy(new Error(`no answer within ${this.#options.attemptTimeoutMs} ms`)));
    request.on('error', (error) => {
      this.#requests.delete(request);
      if (!this.#closed) finish({ error: error.message });
    });
    request.end(raw);
  }

  #finish(delivery: Delivery, status: DeliveryStatus): void {
    delivery.status = status;
    this.#counts.pending--;
    if (status === DeliveryStatus.delivered) this.#counts.delivered++;
    if (status === DeliveryStatus.dropped) this.#counts.dropped++;
    this.#settle();
  }

  #foreignKey(): KeyObject {
    this.#forgeKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    return this.#forgeKey;
  }

  #cancelAll(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#heldTimer = undefined;
    this.#held = [];
    for (const request of this.#requests) request.destroy();
    this.#requests.clear();
    for (const delivery of this.#deliveries) {
      if (delivery.status === DeliveryStatus.pending) delivery.status = DeliveryStatus.dropped;
    }
    this.#counts.pending = 0;
  }

  #settle(): void {
    if (this.#counts.pending > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}

function emptyCounts(): DeliveryCounts {
  return {
    events: 0,
    unsubscribed: 0,
    deliveries: 0,
    pending: 0,
    delivered: 0,
    dropped: 0,
    lost: 0,
    duplicated: 0,
    delayed: 0,
    reordered: 0,
    forged: 0,
    attempts: 0,
  };
}
