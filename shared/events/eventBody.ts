/**
 * Reads a verified Partner Center event body (flat JSON, PascalCase keys [V]):
 * `EventName`, `ResourceUri`, `ResourceName`, `AuditUri` (or `AuditUrl`, as the model table spells it),
 * `ResourceChangeUtcDate`. Only ever called on bytes whose signature has been verified.
 *
 * The referral id comes from the path of `ResourceUri` (`…/referrals/{id}`); its host is never looked at
 * and never followed. Unknown event names are parsed as such (only the name is read), so a new event
 * type is recorded and ignored rather than refused.
 */
import { z } from 'zod';
import { EventName, SYNC_EVENT_NAMES, type SyncEventName } from './constants';

/** An event that names a referral to sync. */
export interface SyncEvent {
  kind: 'sync';
  eventName: SyncEventName;
  referralId: string;
  resourceName?: string;
  auditUri?: string;
  /** ResourceChangeUtcDate in canonical form: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, fraction digits kept. */
  changedAt: string;
  changedAtMs: number;
}

/** Partner Center's self-test event (`test-created`). */
export interface TestEvent {
  kind: 'test';
  eventName: typeof EventName.TestCreated;
}

/** An event name Partner Center does not document (yet). `eventName` is safe to log. */
export interface UnknownEvent {
  kind: 'unknown';
  eventName: string;
}

/** Any parsed event. */
export type PartnerCenterEvent = SyncEvent | TestEvent | UnknownEvent;

/** The outcome of {@link parseEventBody}: an event, or why the body is not one (no body text in it). */
export type EventBodyResult = { ok: true; event: PartnerCenterEvent } | { ok: false; problem: string };

/** The referral id in a ResourceUri path: a GUID in practice; letters, digits and `-` accepted. */
const REFERRAL_PATH = /\/referrals\/([A-Za-z0-9][A-Za-z0-9-]{0,63})\/?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/i;

const nameSchema = z.object({ EventName: z.string().min(1).max(200) });
const optionalUri = z.string().max(4096).nullish();
const syncSchema = z.object({
  EventName: z.enum(SYNC_EVENT_NAMES),
  ResourceUri: z.string().max(4096),
  ResourceName: z.string().max(200).nullish(),
  AuditUri: optionalUri,
  AuditUrl: optionalUri,
  ResourceChangeUtcDate: z.string().max(64),
});

/** Parses the (verified) body bytes into an event. Never throws. */
export function parseEventBody(body: Uint8Array): EventBodyResult {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return { ok: false, problem: 'The body is not UTF-8 JSON.' };
  }
  const named = nameSchema.safeParse(value);
  if (!named.success) return { ok: false, problem: 'EventName is missing or not a string.' };
  const eventName = named.data.EventName;
  if (eventName === EventName.TestCreated) return { ok: true, event: { kind: 'test', eventName } };
  if (!(SYNC_EVENT_NAMES as readonly string[]).includes(eventName)) {
    return { ok: true, event: { kind: 'unknown', eventName: loggableEventName(eventName) } };
  }
  const parsed = syncSchema.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? '(root)')))];
    return { ok: false, problem: `Invalid field(s): ${fields.join(', ')}.` };
  }
  const referralId = referralIdFromResourceUri(parsed.data.ResourceUri);
  if (!referralId) return { ok: false, problem: 'ResourceUri does not end in /referrals/{id}.' };
  const changed = canonicalUtcTimestamp(parsed.data.ResourceChangeUtcDate);
  if (!changed) return { ok: false, problem: 'ResourceChangeUtcDate is not an ISO 8601 date-time.' };
  const auditUri = parsed.data.AuditUri ?? parsed.data.AuditUrl ?? undefined;
  return {
    ok: true,
    event: {
      kind: 'sync',
      eventName: parsed.data.EventName,
      referralId,
      ...(parsed.data.ResourceName ? { resourceName: parsed.data.ResourceName } : {}),
      ...(auditUri ? { auditUri } : {}),
      changedAt: changed.text,
      changedAtMs: changed.epochMs,
    },
  };
}

/** The referral id at the end of a ResourceUri's path, whatever its host; undefined when the path does not fit. */
export function referralIdFromResourceUri(resourceUri: string): string | undefined {
  let path: string;
  try {
    path = new URL(resourceUri).pathname;
  } catch {
    return undefined;
  }
  return REFERRAL_PATH.exec(path)?.[1];
}

/**
 * An ISO 8601 date-time in canonical UTC form, keeping every fraction digit (.NET writes seven), so two
 * spellings of one instant give one dedupe key. A value without offset is read as UTC [I: the field's name].
 */
export function canonicalUtcTimestamp(value: string): { text: string; epochMs: number } | undefined {
  const match = TIMESTAMP.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match;
  const fields = [year, month, day, hour, minute, second].map(Number);
  const localMs = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]);
  const check = new Date(localMs);
  if (
    check.getUTCFullYear() !== fields[0] ||
    check.getUTCMonth() !== fields[1] - 1 ||
    check.getUTCDate() !== fields[2] ||
    check.getUTCHours() !== fields[3] ||
    check.getUTCMinutes() !== fields[4] ||
    check.getUTCSeconds() !== fields[5]
  )
    return undefined;
  let offsetMs = 0;
  if (zone.toUpperCase() !== 'Z') {
    const [hours, minutes] = zone.slice(1).split(':').map(Number);
    if (hours > 23 || minutes > 59) return undefined;
    offsetMs = (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  const secondsMs = localMs - offsetMs;
  const digits = fraction.replace(/0+$/, '');
  const text = `${new Date(secondsMs).toISOString().slice(0, 19)}${digits ? `.${digits}` : ''}Z`;
  return { text, epochMs: secondsMs + Number(digits.slice(0, 3).padEnd(3, '0')) };
}

/** An event name reduced to what is safe in a log line. */
function loggableEventName(name: string): string {
  return /^[A-Za-z0-9._-]{1,64}$/.test(name) ? name : '(unprintable)';
}
