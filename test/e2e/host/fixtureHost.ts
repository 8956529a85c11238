/**
 * Shared set-up of the local host e2e suites: the fixture app (test/fixtures/host-app) hosted on a
 * free port against the suite's Azurite, quiet, with a timer schedule that never fires unless the
 * suite asks for one.
 */
import path from 'node:path';
import { startLocalHost, type LocalHostOptions, type RunningHost } from '../../../sandbox/host';

/** The fixture function app. */
export const FIXTURE_APP_DIR = path.resolve(__dirname, '../../fixtures/host-app');

/** A schedule that does not fire during a test run (once a year). */
export const NEVER_DURING_TESTS = '0 0 0 1 1 *';

/** Starts the fixture app; `env` and `hostJson` add to the defaults. */
export function startFixtureHost(
  connectionString: string,
  options: Partial<LocalHostOptions> = {},
): Promise<RunningHost> {
  return startLocalHost({
    appDir: FIXTURE_APP_DIR,
    port: 0,
    quiet: true,
    startTimeoutMs: 30_000,
    ...options,
    env: { AzureWebJobsStorage: connectionString, FIXTURE_TIMER_SCHEDULE: NEVER_DURING_TESTS, ...options.env },
  });
}

/** Milliseconds to wait, bounded by the caller's test timeout. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
