/**
 * The `referral-sync` queue message: one verified Partner Center event, waiting for the sync step to GET
 * the referral from the configured API base and apply it when it is newer than what is stored.
 *
 * Partner Center events carry no id [V]. `dedupeKey` stands in for one: the same (event name, referral
 * id, ResourceChangeUtcDate) gives the same key however often Partner Center delivers it, so the
 * consumer can drop a duplicate before it calls Partner Center. Applying only snapshots whose
 * `updatedDateTime` (or eTag) is newer than the stored one covers the rest (reordering, a missed event).
 *
 * Plain JSON text (host.json `messageEncoding: none`). Hand-written checks, no zod, so the queue
 * function loads without the schema library.
 */
import { createHash } from 'node:crypto';
import { SYNC_EVENT_NAMES, type SyncEventName } from './constants';
import type { SyncEvent } from './eventBody';

/** One message on `referral-sync`. */
export interface ReferralSyncMessage {
  /** `referral-created`, `referral-updated`, `related-referral-created` or `related-referral-updated`. */
  eventName: SyncEventName;
  /** The Partner Center referral id taken from the ResourceUri's path. */
  referralId: string;
  /** ResourceChangeUtcDate, canonical UTC (`2024-05-01T10:00:00.1234567Z`). */
  changedAt: string;
  /** {@link dedupeKeyOf} of the three fields above. */
  dedupeKey: string;
  /** When the delivery was verified (ISO 8601, UTC). */
  receivedAt: string;
  /** W3C trace context of the receiving invocation, to continue the trace in the consumer. */
  traceparent?: string;
}

/**
 * The dedupe key of an event: `e` + the first 32 hex digits of SHA-256 over `name \n id \n changedAt`
 * (the id lower-cased: GUIDs compare case-insensitively). Safe as a Table row key.
 */
export function dedupeKeyOf(eventName: string, referralId: string, changedAt: string): string {
  const digest = createHash('sha256').update(`${eventName}\n${referralId.toLowerCase()}\n${changedAt}`).digest('hex');
  return `e${digest.slice(0, 32)}`;
}

/** The queue message of a verified sync event. */
export function toReferralSyncMessage(
  event: SyncEvent,
  options: { receivedAtMs: number; traceparent?: string },
): ReferralSyncMessage {
  return {
    eventName: event.eventName,
    referralId: event.referralId,
    changedAt: event.changedAt,
    dedupeKey: dedupeKeyOf(event.eventName, event.referralId, event.changedAt),
    receivedAt: new Date(options.receivedAtMs).toISOString(),
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
  };
}

const FIELDS = new Set(['eventName', 'referralId', 'changedAt', 'dedupeKey', 'receivedAt', 'traceparent']);
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/**
 * Checks a `referral-sync` message (already JSON-parsed): exactly the fields above, a documented event
 * name, a referral id of letters, digits and `-`, UTC timestamps, and a dedupe key that matches the
 * other fields. Undefined for anything else (the consumer consumes it without retrying).
 */
export function parseReferralSyncMessage(value: unknown): ReferralSyncMessage | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (!Object.keys(record).every((key) => FIELDS.has(key))) return undefined;
  const { eventName, referralId, changedAt, dedupeKey, receivedAt, traceparent } = record;
  if (typeof eventName !== 'string' || !(SYNC_EVENT_NAMES as readonly string[]).includes(eventName)) return undefined;
  if (typeof referralId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(referralId)) return undefined;
  if (typeof changedAt !== 'string' || !ISO_UTC.test(changedAt)) return undefined;
  if (typeof receivedAt !== 'string' || !ISO_UTC.test(receivedAt)) return undefined;
  if (dedupeKey !== dedupeKeyOf(eventName, referralId, changedAt)) return undefined;
  if (traceparent !== undefined && (typeof traceparent !== 'string' || traceparent.length > 100)) return undefined;
  return {
    eventName: eventName as SyncEventName,
    referralId,
    changedAt,
    dedupeKey,
    receivedAt,
    ...(traceparent === undefined ? {} : { traceparent }),
  };
}
