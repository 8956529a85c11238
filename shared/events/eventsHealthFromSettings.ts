/**
 * The events edge's health (last-event age, registration drift) built from the app's settings: the state
 * row in the `referrals` table and the Webhook API client, built on the first registration check.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { TableClient } from '@azure/data-tables';
import type { Settings } from '../platform/config';
import type { Logger } from '../platform/logging';
import { lazy } from '../platform/lazy';
import { EventsHealth, EventsStateStore } from './eventsHealth';
import { createWebhookRegistrationClient } from './registrationFromSettings';

/** What {@link createEventsHealthFromSettings} needs besides the settings. */
export interface EventsHealthDeps {
  /** The credential for Key Vault, asked for only when the Webhook API is first called. */
  credential: () => TokenCredential;
  logger: Logger;
  /** The `referrals` table (state row, token lease). */
  table: TableClient;
}

/** The events health of docs/events.md "Health", from EVENTS_* settings. */
export function createEventsHealthFromSettings(settings: Settings, deps: EventsHealthDeps): EventsHealth {
  const webhookApi = lazy(() =>
    createWebhookRegistrationClient(settings, {
      credential: deps.credential(),
      logger: deps.logger,
      tableClient: deps.table,
    }),
  );
  return new EventsHealth({
    state: new EventsStateStore(deps.table),
    readRegistration: () => webhookApi().get(),
    checkIntervalMinutes: settings.EVENTS_REGISTRATION_CHECK_MINUTES,
    expectedWebhookUrl: settings.EVENTS_WEBHOOK_URL,
    silenceWarnHours: settings.EVENTS_SILENCE_WARN_HOURS,
    logger: deps.logger,
  });
}
