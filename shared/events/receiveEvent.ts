/**
 * The use case behind `POST /api/partner-center/events`: verify → parse → enqueue, as a value.
 *
 * Replay policy (docs/events.md): Partner Center signs the body only, with no timestamp, nonce or
 * delivery id [V], so a captured delivery stays verifiable for as long as its certificate is valid; the
 * receiver cannot tell a replay from a retry [I]. What it does: refuse a sync event whose
 * ResourceChangeUtcDate is older than EVENTS_MAX_AGE_HOURS (or more than 15 minutes in the future),
 * and give every accepted event a dedupe key so a replay inside the window changes nothing downstream
 * (the consumer drops a known key and applies only snapshots newer than the stored one).
 */
import { FUTURE_SKEW_MS, EventDefaults, RefusalReason } from './constants';
import { parseEventBody } from './eventBody';
import { toReferralSyncMessage, type ReferralSyncMessage } from './eventMessage';
import { EventEnqueueError } from './errors';
import type { HeaderSource, SignatureVerifier } from './signatureVerifier';

/** What happened to one delivery. Only `enqueued` changed anything. */
export type ReceiveOutcome =
  /** Not authentic, or authentic but outside the replay window: 401, nothing stored. */
  | { kind: 'refused'; reason: RefusalReason; detail?: string }
  /** Authentic, but not a Partner Center event body: 400, nothing stored. */
  | { kind: 'invalid'; problem: string }
  /** Authentic and answered 200, not enqueued: the self-test event, or an event name we do not know. */
  | { kind: 'ignored'; eventName: string; why: 'test-event' | 'unknown-event' }
  /** Authentic and stored on `referral-sync`: 200. */
  | { kind: 'enqueued'; message: ReferralSyncMessage };

/** Where verified events go (a JsonQueueSender on `referral-sync`). */
export interface EventQueue {
  send(message: object): Promise<void>;
}

/** One delivery as the edge read it. */
export interface EventDelivery {
  headers: HeaderSource;
  /** The raw body bytes, exactly as received (empty when the edge did not read an oversized body). */
  body: Uint8Array;
  traceparent?: string;
}

/** Options of {@link EventReceiver}. */
export interface EventReceiverOptions {
  verifier: SignatureVerifier;
  queue: EventQueue;
  /** Oldest ResourceChangeUtcDate accepted, as an age. @default 24 h */
  maxAgeMs?: number;
  /** @default Date.now */
  nowMs?: () => number;
}

/** Receives Partner Center deliveries. */
export class EventReceiver {
  readonly #verifier: SignatureVerifier;
  readonly #queue: EventQueue;
  readonly #maxAgeMs: number;
  readonly #nowMs: () => number;

  constructor(options: EventReceiverOptions) {
    this.#verifier = options.verifier;
    this.#queue = options.queue;
    this.#maxAgeMs = options.maxAgeMs ?? EventDefaults.maxAgeHours * 3_600_000;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /**
   * Verifies the signature over the raw bytes, then (only then) parses the body, applies the replay
   * window and enqueues. Throws only {@link EventEnqueueError} (retryable: the queue failed).
   */
  async receive(delivery: EventDelivery): Promise<ReceiveOutcome> {
    const verdict = await this.#verifier.verify(delivery.headers, delivery.body);
    if (!verdict.ok) {
      return { kind: 'refused', reason: verdict.reason, ...(verdict.detail ? { detail: verdict.detail } : {}) };
    }
    const parsed = parseEventBody(delivery.body);
    if (!parsed.ok) return { kind: 'invalid', problem: parsed.problem };
    const event = parsed.event;
    if (event.kind === 'test') return { kind: 'ignored', eventName: event.eventName, why: 'test-event' };
    if (event.kind === 'unknown') return { kind: 'ignored', eventName: event.eventName, why: 'unknown-event' };
    const nowMs = this.#nowMs();
    if (event.changedAtMs < nowMs - this.#maxAgeMs) return { kind: 'refused', reason: RefusalReason.EventTooOld };
    if (event.changedAtMs > nowMs + FUTURE_SKEW_MS)
      return { kind: 'refused', reason: RefusalReason.EventFromTheFuture };
    const message = toReferralSyncMessage(event, { receivedAtMs: nowMs, traceparent: delivery.traceparent });
    try {
      await this.#queue.send(message);
    } catch (error) {
      throw new EventEnqueueError('The verified event could not be put on referral-sync', { cause: error });
    }
    return { kind: 'enqueued', message };
  }
}
