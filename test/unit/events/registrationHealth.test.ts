/**
 * The events edge's health: registration drift (cached: one Webhook API read per interval), the last
 * authentic event (written at most once a minute per instance) and the events:register command's
 * refusal to overwrite without --yes, exit codes and redaction. A manual clock; an in-memory stand-in
 * for the Azure Tables SDK.
 */
import { startPartnerCenter, type RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import {
  EVENTS_STATE_PARTITION,
  EventsHealth,
  EventsStateRow,
  EventsStateStore,
  LAST_EVENT_WRITE_INTERVAL_MS,
  type EventsStateTable,
} from '../../../shared/events/eventsHealth';
import { REGISTERED_EVENT_NAMES } from '../../../shared/events/registration';
import type { WebhookRegistration } from '../../../shared/events/webhookApiClient';
import { withFunctionKey } from '../../../shared/events/webhookUrl';
import { eventsRegisterCommand } from '../../../scripts/events-register';

/** The three TableClient calls the events state makes, over a Map. */
function memoryTable(): EventsStateTable & { writes: number; rows: Map<string, Record<string, unknown>> } {
  const rows = new Map<string, Record<string, unknown>>();
  const table = {
    writes: 0,
    rows,
    createTable: () => Promise.resolve(),
    upsertEntity: (entity: { partitionKey: string; rowKey: string }) => {
      table.writes++;
      rows.set(`${entity.partitionKey}/${entity.rowKey}`, { ...entity });
      return Promise.resolve({});
    },
    getEntity: (partitionKey: string, rowKey: string) => {
      const row = rows.get(`${partitionKey}/${rowKey}`);
      return row ? Promise.resolve(row) : Promise.reject(Object.assign(new Error('Not Found'), { statusCode: 404 }));
    },
  };
  return table as unknown as EventsStateTable & { writes: number; rows: Map<string, Record<string, unknown>> };
}

const OUR_URL = withFunctionKey('https://bridge.example.net/api/partner-center/events', 'the-function-key');

function setup(
  options: { checkIntervalMinutes?: number; silenceWarnHours?: number; expectedWebhookUrl?: string } = {},
) {
  let nowMs = Date.parse('2026-03-01T10:00:00Z');
  const table = memoryTable();
  const state = new EventsStateStore(table);
  let registration: WebhookRegistration | undefined = {
    webhookUrl: OUR_URL,
    webhookEvents: [...REGISTERED_EVENT_NAMES],
  };
  let failure: Error | undefined;
  let reads = 0;
  const health = new EventsHealth({
    state,
    readRegistration: () => {
      reads++;
      return failure ? Promise.reject(failure) : Promise.resolve(registration);
    },
    checkIntervalMinutes: options.checkIntervalMinutes ?? 15,
    silenceWarnHours: options.silenceWarnHours ?? 0,
    ...(options.expectedWebhookUrl ? { expectedWebhookUrl: options.expectedWebhookUrl } : {}),
    nowMs: () => nowMs,
  });
  return {
    health,
    state,
    table,
    reads: () => reads,
    advance: (ms: number) => (nowMs += ms),
    register: (next: WebhookRegistration | undefined) => (registration = next),
    fail: (error: Error | undefined) => (failure = error),
  };
}

describe('registration drift', () => {
  it('is not-configured until a registration was recorded', async () => {
    const t = setup();
    expect(await t.health.registrationHealth()).toMatchObject({ status: 'not-configured' });
  });

  it('reads the Webhook API at most once per interval and sees an overwrite after it', async () => {
    const t = setup({ checkIntervalMinutes: 15 });
    await t.state.recordRegistration(OUR_URL, REGISTERED_EVENT_NAMES);
    expect(await t.health.registrationHealth()).toMatchObject({ status: 'ok', state: 'current' });
    t.register({ webhookUrl: 'https://someone-else.example.com/hook', webhookEvents: [...REGISTERED_EVENT_NAMES] });
    t.advance(14 * 60_000);
    expect(await t.health.registrationHealth()).toMatchObject({ state: 'current' });
    expect(t.reads()).toBe(1);
    t.advance(60_000);
    expect(await t.health.registrationHealth()).toMatchObject({
      status: 'degraded',
      state: 'other-url',
      registeredUrl: 'https://someone-else.example.com/hook',
      expectedUrl: 'https://bridge.example.net/api/partner-center/events?code=***',
    });
    expect(t.reads()).toBe(2);
  });

  it('counts the same URL with another key as drift, and never shows a key', async () => {
    const t = setup();
    await t.state.recordRegistration(OUR_URL, REGISTERED_EVENT_NAMES);
    t.register({ webhookUrl: withFunctionKey(OUR_URL, 'another-key'), webhookEvents: [...REGISTERED_EVENT_NAMES] });
    const report = await t.health.registrationHealth();
    expect(report).toMatchObject({ status: 'degraded', state: 'other-url' });
    expect(JSON.stringify(report)).not.toMatch(/the-function-key|another-key/);
    expect(JSON.stringify([...t.table.rows.values()])).not.toContain('the-function-key');
  });

  it('reports missing events and a missing registration as drift', async () => {
    const t = setup();
    await t.state.recordRegistration(OUR_URL, REGISTERED_EVENT_NAMES);
    t.register({ webhookUrl: OUR_URL, webhookEvents: ['referral-created'] });
    expect(await t.health.registrationHealth()).toMatchObject({ status: 'degraded', state: 'missing-events' });
    t.register(undefined);
    t.advance(15 * 60_000);
    expect(await t.health.registrationHealth()).toMatchObject({ status: 'degraded', state: 'missing' });
  });

  it('compares with EVENTS_WEBHOOK_URL without its key when set', async () => {
    const t = setup({ expectedWebhookUrl: 'https://bridge.example.net/api/partner-center/events' });
    expect(await t.health.registrationHealth()).toMatchObject({ status: 'ok', state: 'current' });
  });

  it('reports a failed check as unchecked (not drift) and tries again within a minute', async () => {
    const t = setup({ checkIntervalMinutes: 30 });
    await t.state.recordRegistration(OUR_URL, REGISTERED_EVENT_NAMES);
    t.fail(new Error('token endpoint unreachable'));
    expect(await t.health.registrationHealth()).toMatchObject({ status: 'ok', state: 'unchecked' });
    t.fail(undefined);
    t.advance(59_000);
    expect(await t.health.registrationHealth()).toMatchObject({ state: 'unchecked' });
    t.advance(1_000);
    expect(await t.health.registrationHealth()).toMatchObject({ state: 'current' });
    expect(t.reads()).toBe(2);
  });

  it('is off with an interval of 0', async () => {
    const t = setup({ checkIntervalMinutes: 0 });
    expect(await t.health.registrationHealth()).toMatchObject({ status: 'not-configured' });
    expect(t.reads()).toBe(0);
  });
});

describe('last event', () => {
  it('writes the table row at most once a minute and reports the age of the newest event', async () => {
    const t = setup();
    expect(await t.health.lastEventHealth()).toMatchObject({ status: 'ok', lastEventAt: null, ageSeconds: null });
    await t.health.recordDelivery('enqueued', 'referral-updated');
    for (let i = 0; i < 30; i++) {
      t.advance(1_000);
      await t.health.recordDelivery('ignored', 'test-created');
    }
    expect(t.table.writes).toBe(1);
    t.advance(LAST_EVENT_WRITE_INTERVAL_MS);
    await t.health.recordDelivery('enqueued', 'referral-created');
    expect(t.table.writes).toBe(2);
    t.advance(5_000);
    expect(await t.health.lastEventHealth()).toMatchObject({
      status: 'ok',
      ageSeconds: 5,
      eventName: 'referral-created',
    });
  });

  it('ignores refused and invalid deliveries', async () => {
    const t = setup();
    await t.health.recordDelivery('refused');
    await t.health.recordDelivery('invalid');
    expect(t.table.writes).toBe(0);
    expect(await t.health.lastEventHealth()).toMatchObject({ lastEventAt: null });
  });

  it('reads what another instance wrote, and is degraded after the silence threshold', async () => {
    const t = setup({ silenceWarnHours: 2 });
    t.table.rows.set(`${EVENTS_STATE_PARTITION}/${EventsStateRow.lastEvent}`, {
      lastEventAt: '2026-03-01T07:00:00.000Z',
      eventName: 'referral-updated',
    });
    expect(await t.health.lastEventHealth()).toMatchObject({
      status: 'degraded',
      lastEventAt: '2026-03-01T07:00:00.000Z',
      ageSeconds: 3 * 3600,
    });
  });
});

describe('npm run events:register (command)', () => {
  let pc: RunningPartnerCenter;
  const env = {
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    ENTRA_TENANT_ID: 'tenant',
    KEY_VAULT_URL: 'https://vault.example.net',
  };
  const run = async (argv: string[], extra: { interactive?: boolean; answer?: string; env?: object } = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const table = memoryTable();
    const code = await eventsRegisterCommand({
      argv,
      env: { ...env, PARTNER_CENTER_WEBHOOK_API_URL: pc.url, ...extra.env },
      cwd: '/nonexistent',
      print: (line) => out.push(line),
      printError: (line) => err.push(line),
      interactive: extra.interactive ?? false,
      ask: () => Promise.resolve(extra.answer ?? ''),
      tokens: { getAccessToken: () => Promise.resolve('token') },
      tableClient: table as never,
    });
    return { code, out: out.join('\n'), err: err.join('\n'), table };
  };

  beforeAll(async () => {
    pc = await startPartnerCenter({ auth: false });
  });
  afterAll(async () => pc?.close());
  beforeEach(() => pc.reset({ registrations: true }));

  it('registers, takes the key from EVENTS_FUNCTION_KEY, records the URL without it, and never prints it', async () => {
    const result = await run(['--url', 'http://127.0.0.1:7071/api/partner-center/events'], {
      env: { EVENTS_FUNCTION_KEY: 'k3y-value' },
    });
    expect(result.code).toBe(0);
    expect(result.out).toContain('Registered (created): http://127.0.0.1:7071/api/partner-center/events?code=***');
    expect(result.out + result.err).not.toContain('k3y-value');
    expect(await registeredUrl(pc)).toContain('code=k3y-value');
    const row = result.table.rows.get(`${EVENTS_STATE_PARTITION}/${EventsStateRow.registration}`);
    expect(row).toMatchObject({ webhookUrl: 'http://127.0.0.1:7071/api/partner-center/events?code=***' });
    expect(JSON.stringify(row)).not.toContain('k3y-value');
  });

  it('refuses to overwrite another URL without a terminal or --yes, asks at a terminal, and obeys --yes', async () => {
    pc.registerWebhook({ webhookUrl: 'http://127.0.0.1:9999/theirs' });
    const ours = 'http://127.0.0.1:7071/api/partner-center/events';
    const refused = await run(['--url', ours]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('Refusing to overwrite another URL without --yes');
    const no = await run(['--url', ours], { interactive: true, answer: 'n' });
    expect(no.code).toBe(1);
    expect(await registeredUrl(pc)).toBe('http://127.0.0.1:9999/theirs');
    const yes = await run(['--url', ours, '--yes']);
    expect(yes.code).toBe(0);
    expect(await registeredUrl(pc)).toBe(ours);
  });

  it.each([[['--url', 'not a url']], [['--unknown']], [['--check-timeout', '0']]])(
    'exits 2 on bad usage (%j)',
    async (argv) => {
      expect((await run(argv)).code).toBe(2);
    },
  );
});

/** The simulator's registered URL, read through its Webhook API (auth off). */
async function registeredUrl(pc: RunningPartnerCenter): Promise<string> {
  const response = await fetch(`${pc.url}/webhooks/v1/registration`);
  return ((await response.json()) as { WebhookUrl: string }).WebhookUrl;
}
