/**
 * The two health signals of the events edge (docs/events.md "Health"):
 *
 * - **Registration drift**: the Webhook API's registration compared with the URL we registered last
 *   (recorded by `events:register` and the sandbox launcher in the `referrals` table, row
 *   `$events`/`registration`, key as a fingerprint only) or with EVENTS_WEBHOOK_URL. Cheap: at most one
 *   Webhook API GET (and one table read) per EVENTS_REGISTRATION_CHECK_MINUTES per instance; a failed
 *   check is retried after at most a minute. It runs only when /api/health is called.
 * - **Last event age**: the time of the last authentic delivery, kept in memory and written to the row
 *   `$events`/`last-event` at most once a minute per instance (so the age read by another instance may
 *   be up to a minute too old).
 *
 * Both also go out as metrics (shared/platform/metrics.ts): `events.deliveries` {outcome} on every
 * delivery, `events.registration_drift` {state} on every real check, `events.last_event_age_seconds`
 * on every health call.
 */
import type { TableClient } from '@azure/data-tables';
import type { Logger } from '../platform/logging';
import { ensureError } from '../platform/errors';
import { recordEventDelivery, recordLastEventAge, recordRegistrationCheck } from '../platform/metrics';
import { REGISTERED_EVENT_NAMES, RegistrationState, compareRegistration } from './registration';
import type { WebhookRegistration } from './webhookApiClient';
import { functionKeyFingerprint, redactWebhookUrl } from './webhookUrl';

/** Partition of the events edge's own rows in the `referrals` table (tracking records use trackingId partitions). */
export const EVENTS_STATE_PARTITION = '$events';
/** Row keys of {@link EVENTS_STATE_PARTITION}. */
export const EventsStateRow = { registration: 'registration', lastEvent: 'last-event' } as const;

/** Shortest interval between two writes of the last-event row by one instance. */
export const LAST_EVENT_WRITE_INTERVAL_MS = 60_000;
/** Longest a failed registration check is cached. */
const FAILED_CHECK_CACHE_MS = 60_000;

/** The part of a `TableClient` the events state uses. */
export type EventsStateTable = Pick<TableClient, 'getEntity' | 'upsertEntity' | 'createTable'>;

/** What the last registration by us recorded (no key: its fingerprint). */
export interface RecordedRegistration {
  /** Redacted URL (`code=***`). */
  webhookUrl: string;
  keyFingerprint: string | null;
  events: string[];
  registeredAt: string;
}

/** The rows `$events`/* of the `referrals` table. */
export class EventsStateStore {
  readonly #table: EventsStateTable;
  #tableReady: Promise<void> | undefined;

  constructor(table: EventsStateTable) {
    this.#table = table;
  }

  /** Records the URL we registered (called after a successful registration; the key is never stored). */
  async recordRegistration(webhookUrl: string, events: readonly string[], registeredAt = new Date()): Promise<void> {
    await this.#upsert(EventsStateRow.registration, {
      webhookUrl: redactWebhookUrl(webhookUrl),
      keyFingerprint: functionKeyFingerprint(webhookUrl) ?? '',
      events: events.join(','),
      registeredAt: registeredAt.toISOString(),
    });
  }

  /** The URL we registered last, or undefined. */
  async readRegistration(): Promise<RecordedRegistration | undefined> {
    const entity = await this.#read(EventsStateRow.registration);
    if (!entity || typeof entity.webhookUrl !== 'string') return undefined;
    return {
      webhookUrl: entity.webhookUrl,
      keyFingerprint: typeof entity.keyFingerprint === 'string' && entity.keyFingerprint ? entity.keyFingerprint : null,
      events: typeof entity.events === 'string' ? entity.events.split(',').filter(Boolean) : [],
      registeredAt: typeof entity.registeredAt === 'string' ? entity.registeredAt : '',
    };
  }

  /** Writes the time of the last authentic delivery. */
  async recordLastEvent(at: Date, eventName: string): Promise<void> {
    await this.#upsert(EventsStateRow.lastEvent, { lastEventAt: at.toISOString(), eventName });
  }

  /** The last recorded authentic delivery, or undefined. */
  async readLastEvent(): Promise<{ at: Date; eventName: string } | undefined> {
    const entity = await this.#read(EventsStateRow.lastEvent);
    if (!entity || typeof entity.lastEventAt !== 'string') return undefined;
    const at = new Date(entity.lastEventAt);
    if (Number.isNaN(at.getTime())) return undefined;
    return { at, eventName: typeof entity.eventName === 'string' ? entity.eventName : '' };
  }

  async #upsert(rowKey: string, fields: Record<string, string>): Promise<void> {
    this.#tableReady ??= this.#table.createTable().catch((error: unknown) => {
      this.#tableReady = undefined;
      throw error;
    });
    await this.#tableReady;
    await this.#table.upsertEntity({ partitionKey: EVENTS_STATE_PARTITION, rowKey, ...fields }, 'Replace');
  }

  async #read(rowKey: string): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.#table.getEntity<Record<string, unknown>>(EVENTS_STATE_PARTITION, rowKey);
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404) return undefined;
      throw error;
    }
  }
}

/** A delivery's outcome, as the edge saw it (the `outcome` attribute of `events.deliveries`). */
export type DeliveryOutcomeKind = 'enqueued' | 'ignored' | 'refused' | 'invalid' | 'failed';

/** One dependency entry of /api/health (same shape as shared/app/health.ts `DependencyHealth`). */
export interface EventsDependencyHealth {
  status: 'ok' | 'degraded' | 'down' | 'not-configured';
  detail?: string;
  [extra: string]: unknown;
}

/** Options of {@link EventsHealth}. */
export interface EventsHealthOptions {
  state: EventsStateStore;
  /** The Webhook API's current registration (built lazily: the first check pays for the token). */
  readRegistration: () => Promise<WebhookRegistration | undefined>;
  /** EVENTS_REGISTRATION_CHECK_MINUTES: 0 turns the drift check off. */
  checkIntervalMinutes: number;
  /** EVENTS_WEBHOOK_URL: the URL that should be registered (its key ignored), instead of the recorded one. */
  expectedWebhookUrl?: string;
  /** EVENTS_SILENCE_WARN_HOURS: no authentic delivery for longer is `degraded`; 0 = report only. */
  silenceWarnHours: number;
  logger?: Logger;
  nowMs?: () => number;
}

interface CachedCheck {
  report: EventsDependencyHealth;
  validUntilMs: number;
}

/** Records deliveries (edge) and reports the two events dependencies (health). One per process. */
export class EventsHealth {
  readonly #o: EventsHealthOptions;
  readonly #nowMs: () => number;
  #lastEventMs: number | undefined;
  #lastEventName = '';
  #lastWriteMs: number | undefined;
  #writing = false;
  #cached: CachedCheck | undefined;
  #inFlight: Promise<EventsDependencyHealth> | undefined;

  constructor(options: EventsHealthOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /**
   * Counts a delivery; for an authentic one (enqueued or ignored) keeps its time and writes it to the
   * table when the last write by this instance is a minute old. Never throws.
   */
  async recordDelivery(outcome: DeliveryOutcomeKind, eventName?: string): Promise<void> {
    recordEventDelivery(outcome);
    if (outcome !== 'enqueued' && outcome !== 'ignored') return;
    const nowMs = this.#nowMs();
    this.#lastEventMs = nowMs;
    this.#lastEventName = eventName ?? '';
    if (this.#writing || (this.#lastWriteMs !== undefined && nowMs - this.#lastWriteMs < LAST_EVENT_WRITE_INTERVAL_MS))
      return;
    this.#writing = true;
    try {
      await this.#o.state.recordLastEvent(new Date(nowMs), this.#lastEventName);
      this.#lastWriteMs = nowMs;
    } catch (error) {
      this.#o.logger?.warn('Could not record the last event time', { error: ensureError(error).name });
    } finally {
      this.#writing = false;
    }
  }

  /** `eventsReceived`: the last authentic delivery seen by any instance (table) or this one (memory). */
  async lastEventHealth(): Promise<EventsDependencyHealth> {
    let stored: { at: Date; eventName: string } | undefined;
    let detail: string | undefined;
    try {
      stored = await this.#o.state.readLastEvent();
    } catch (error) {
      detail = `table read failed: ${ensureError(error).name}`;
    }
    const candidates = [
      ...(stored ? [{ ms: stored.at.getTime(), eventName: stored.eventName }] : []),
      ...(this.#lastEventMs !== undefined ? [{ ms: this.#lastEventMs, eventName: this.#lastEventName }] : []),
    ].sort((a, b) => b.ms - a.ms);
    const last = candidates[0];
    if (!last) return { status: 'ok', lastEventAt: null, ageSeconds: null, detail: detail ?? 'no event received yet' };
    const ageSeconds = Math.max(0, Math.round((this.#nowMs() - last.ms) / 1000));
    recordLastEventAge(ageSeconds);
    const silent = this.#o.silenceWarnHours > 0 && ageSeconds > this.#o.silenceWarnHours * 3600;
    return {
      status: silent ? 'degraded' : 'ok',
      lastEventAt: new Date(last.ms).toISOString(),
      ageSeconds,
      eventName: last.eventName,
      ...(silent ? { detail: `no event for more than ${this.#o.silenceWarnHours} h` } : detail ? { detail } : {}),
    };
  }

  /** `eventsRegistration`: cached for the check interval (one Webhook API GET per interval per instance). */
  async registrationHealth(): Promise<EventsDependencyHealth> {
    if (this.#o.checkIntervalMinutes <= 0)
      return { status: 'not-configured', detail: 'EVENTS_REGISTRATION_CHECK_MINUTES is 0' };
    const nowMs = this.#nowMs();
    if (this.#cached && nowMs < this.#cached.validUntilMs) return this.#cached.report;
    this.#inFlight ??= this.#check().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #check(): Promise<EventsDependencyHealth> {
    const intervalMs = this.#o.checkIntervalMinutes * 60_000;
    const checkedAt = new Date(this.#nowMs()).toISOString();
    let report: EventsDependencyHealth;
    let failed = false;
    try {
      const wanted = await this.#wanted();
      if (!wanted) {
        report = {
          status: 'not-configured',
          detail: 'no registration recorded: run npm run events:register (or set EVENTS_WEBHOOK_URL)',
          checkedAt,
        };
      } else {
        const current = await this.#o.readRegistration();
        const comparison = compareRegistration(current, {
          ...wanted,
          events: REGISTERED_EVENT_NAMES,
        });
        const drift = comparison.state !== RegistrationState.Current;
        recordRegistrationCheck(comparison.state, drift);
        report = {
          status: drift ? 'degraded' : 'ok',
          state: comparison.state,
          expectedUrl: redactWebhookUrl(wanted.webhookUrl),
          ...(comparison.registeredUrl ? { registeredUrl: comparison.registeredUrl } : {}),
          ...(comparison.missingEvents.length > 0 ? { missingEvents: comparison.missingEvents } : {}),
          checkedAt,
          ...(drift ? { detail: driftDetail(comparison.state) } : {}),
        };
      }
    } catch (error) {
      failed = true;
      const e = ensureError(error);
      recordRegistrationCheck('unchecked', false);
      // The cause (token, network) shows in its own dependency; an unchecked registration is not drift.
      report = { status: 'ok', state: 'unchecked', detail: `${e.name}: ${e.message}`.slice(0, 300), checkedAt };
    }
    this.#cached = {
      report,
      validUntilMs: this.#nowMs() + (failed ? Math.min(intervalMs, FAILED_CHECK_CACHE_MS) : intervalMs),
    };
    return report;
  }

  /** The expectation: EVENTS_WEBHOOK_URL (key ignored) or the recorded registration (key by fingerprint). */
  async #wanted(): Promise<{ webhookUrl: string; keyFingerprint?: string | null; ignoreKey?: boolean } | undefined> {
    if (this.#o.expectedWebhookUrl) return { webhookUrl: this.#o.expectedWebhookUrl, ignoreKey: true };
    const recorded = await this.#o.state.readRegistration();
    return recorded ? { webhookUrl: recorded.webhookUrl, keyFingerprint: recorded.keyFingerprint } : undefined;
  }
}

function driftDetail(state: RegistrationState): string {
  switch (state) {
    case RegistrationState.OtherUrl:
      return 'another URL is registered: events go elsewhere (docs/operations.md "Events registration drift")';
    case RegistrationState.Missing:
      return 'no webhook is registered: run npm run events:register';
    case RegistrationState.MissingEvents:
      return 'some events are not registered: run npm run events:register';
    default:
      return '';
  }
}
