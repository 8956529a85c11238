import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { AppServices } from './composition';
import { ensureError } from '../platform/errors';
import { TrackingState } from '../tracking/states';
import type { DependencyHealth, HealthReport } from '../platform/healthReport';

const VERSION = process.env.APP_VERSION ?? packageVersion();

/** The app's package.json version (walks up from this file: works from the sources and from dist/). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
  }
  return '0.0.0';
}

/**
 * Checks configuration, Table Storage (one cheap read), the token broker's state (no redemption is
 * forced), counts parked referrals, and reports the events edge: registration drift (one Webhook API GET
 * per EVENTS_REGISTRATION_CHECK_MINUTES per instance, cached in between) and the age of the last
 * authentic event (one table read). Never throws: a failing dependency is reported, not raised.
 */
export async function checkHealth(getServices: () => AppServices): Promise<HealthReport> {
  const dependencies: Record<string, DependencyHealth> = {};
  let services: AppServices;
  try {
    services = getServices();
    dependencies.configuration = { status: 'ok' };
  } catch (thrown) {
    dependencies.configuration = { status: 'down', detail: ensureError(thrown).message };
    return { status: 'unhealthy', version: VERSION, time: new Date().toISOString(), dependencies };
  }
  const { store, tokenBroker, settings } = services;
  try {
    await store.ensureTable();
    await store.read('r0000000000000000000000000000000');
    dependencies.tableStorage = { status: 'ok', table: settings.REFERRALS_TABLE_NAME };
  } catch (thrown) {
    dependencies.tableStorage = { status: 'down', detail: ensureError(thrown).message.slice(0, 300) };
  }
  const broker = tokenBroker.health();
  dependencies.partnerCenterTokens = {
    status:
      broker.state === 'ok' || broker.state === 'unknown' ? 'ok' : broker.state === 'degraded' ? 'degraded' : 'down',
    state: broker.state,
    ...(broker.since !== undefined ? { since: broker.since } : {}),
    keyVault: settings.KEY_VAULT_URL,
  };
  if (dependencies.tableStorage.status === 'ok') {
    let parked = 0;
    for await (const record of store.listOpen()) if (record.state === TrackingState.AwaitingReauthorization) parked++;
    dependencies.parkedReferrals = { status: parked === 0 ? 'ok' : 'degraded', count: parked };
  }
  dependencies.partnerCenter = { status: 'ok', baseUrl: settings.PARTNER_CENTER_BASE_URL };
  const events = services.eventsHealth();
  [dependencies.eventsRegistration, dependencies.eventsReceived] = await Promise.all([
    events.registrationHealth().catch((thrown: unknown) => unchecked(thrown)),
    events.lastEventHealth().catch((thrown: unknown) => unchecked(thrown)),
  ]);
  const statuses = Object.values(dependencies).map((d) => d.status);
  const status = statuses.includes('down') ? 'unhealthy' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, version: VERSION, time: new Date().toISOString(), dependencies };
}

/** A check that could not run: reported, never raised, never counted as drift. */
function unchecked(thrown: unknown): DependencyHealth {
  const error = ensureError(thrown);
  return { status: 'ok', state: 'unchecked', detail: `${error.name}: ${error.message}`.slice(0, 300) };
}
