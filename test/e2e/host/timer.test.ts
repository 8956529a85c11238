/**
 * The local host runs the fixture app's timer triggers: on their NCRONTAB schedule (read from an
 * app setting via %NAME%), once at start-up with runOnStartup, and on demand through the admin API.
 */
import { collectMessages, useAzurite } from '../../helpers/azurite';
import type { RunningHost } from '../../../sandbox/host';
import { startFixtureHost } from './fixtureHost';

jest.setTimeout(30_000);

interface Tick {
  kind: 'tick' | 'startup';
  timer: {
    isPastDue: boolean;
    schedule: { adjustForDST: boolean };
    scheduleStatus: { last: string; next: string; lastUpdated: string };
  };
}

describe('local host: timer triggers', () => {
  const azurite = useAzurite();
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost(azurite.connectionString, {
      env: { FIXTURE_TIMER_SCHEDULE: '*/1 * * * * *' },
      hostJson: { extensions: { queues: { maxPollingInterval: '00:00:00.200' } } },
    });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('resolves the schedule from the app setting named by %NAME%', () => {
    expect(host.functions.find((f) => f.name === 'tick')?.schedule).toBe('*/1 * * * * *');
  });

  it('runs a runOnStartup timer once at start-up with a camelCased Timer input', async () => {
    const [startup] = await collectMessages<Tick>(azurite.queue('fixture-timer'), {
      count: 1,
      filter: (m) => m.kind === 'startup',
    });
    expect(startup?.timer).toEqual({
      isPastDue: false,
      schedule: { adjustForDST: true },
      scheduleStatus: { last: '0001-01-01T00:00:00', next: expect.any(String), lastUpdated: expect.any(String) },
    });
    // Its next occurrence is the yearly schedule's: 1 January, midnight local time.
    const next = new Date(startup.timer.scheduleStatus.next);
    expect([next.getMonth(), next.getDate(), next.getHours(), next.getMinutes(), next.getSeconds()]).toEqual([
      0, 1, 0, 0, 0,
    ]);
  });

  it('fires on its schedule, each run reporting the previous occurrence as last', async () => {
    const ticks = await collectMessages<Tick>(azurite.queue('fixture-timer'), {
      count: 3,
      filter: (m) => m.kind === 'tick',
      timeoutMs: 10_000,
    });
    expect(ticks.length).toBe(3);
    for (const tick of ticks) {
      expect(new Date(tick.timer.scheduleStatus.next).getMilliseconds()).toBe(0);
      expect(tick.timer.schedule.adjustForDST).toBe(true);
    }
    const occurrences = ticks.map((t) => Date.parse(t.timer.scheduleStatus.next) - 1000);
    expect(new Set(occurrences).size).toBe(3);
    // Only the very first run of the process has no previous occurrence.
    expect(ticks.filter((t) => t.timer.scheduleStatus.last === '0001-01-01T00:00:00').length).toBeLessThanOrEqual(1);
    for (const tick of ticks.filter((t) => t.timer.scheduleStatus.last !== '0001-01-01T00:00:00')) {
      expect(Date.parse(tick.timer.scheduleStatus.last)).toBeLessThan(Date.parse(tick.timer.scheduleStatus.next));
    }
  });

  it('runs a timer function on demand through POST /admin/functions/{name}', async () => {
    const response = await fetch(`${host.url}/admin/functions/startupTick`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(202);
    const [manual] = await collectMessages<Tick>(azurite.queue('fixture-timer'), {
      count: 1,
      filter: (m) => m.kind === 'startup',
    });
    expect(manual?.timer.isPastDue).toBe(false);
    expect((await fetch(`${host.url}/admin/functions/nope`, { method: 'POST' })).status).toBe(404);
  });
});
