/**
 * Partner Center events through the local host: the sandbox registers the app's events URL at start
 * (through the app's registration library), the simulator's signed deliveries are verified by the
 * app's edge and land on `referral-sync`, a forged delivery is refused and lands nothing,
 * `events:register --check` prints the validation result, and /api/health reports the registration and
 * the last event.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import nodeFetch from 'node-fetch';
import { QueueClient } from '@azure/storage-queue';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { WEBHOOK_AUDIENCE, WEBHOOK_REGISTRATION_PATH } from '../../../sandbox/partner-center/server';
import { SYNC_QUEUE_NAME } from '../../../shared/events/constants';
import { APP_DIR, call, eventually, startTestSandbox } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
}, 120_000);
afterAll(async () => sandbox?.stop());

/** The simulator's Webhook API, with a token of its audience from the Entra stand-in. */
async function webhookApi(method: string, sub = ''): Promise<{ status: number; body: any }> {
  const token = sandbox.entra.issueAccessToken({ audience: WEBHOOK_AUDIENCE });
  const response = await nodeFetch(`${sandbox.partnerCenter.url}${WEBHOOK_REGISTRATION_PATH}${sub}`, {
    method,
    headers: { Authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A referral created through the app (the partner's referral id). */
async function createdReferralId(tag: string): Promise<string> {
  const created = await call(sandbox, 'POST', '/referrals', uniqueDeal(example('private-deal.json'), tag));
  expect(created.status).toBe(201);
  return created.body.partnerReferral.id as string;
}

/** A person's edit in the Partner Center UI (the simulator sends referral-updated). */
async function editInPartnerCenter(referralId: string, notes: string): Promise<void> {
  const response = await nodeFetch(`${sandbox.partnerCenter.url}/_sandbox/referrals/${referralId}/edit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ op: 'replace', path: '/details/notes', value: notes }]),
  });
  expect(response.status).toBe(200);
}

/** Deliveries of `referralId`'s `eventName` that have at least one attempt. */
function attemptedDeliveries(referralId: string, eventName: string) {
  return sandbox.partnerCenter
    .deliveries()
    .filter((d) => d.event.EventName === eventName && d.event.ResourceUri.endsWith(`/referrals/${referralId}`))
    .filter((d) => d.attempts.length > 0);
}

/** Messages on referral-sync (peeked, not taken) naming `referralId`. */
async function syncMessagesFor(referralId: string): Promise<any[]> {
  const queue = new QueueClient(sandbox.azurite.connectionString, SYNC_QUEUE_NAME);
  if (!(await queue.exists())) return [];
  const peeked = await queue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems
    .map((m) => JSON.parse(m.messageText) as Record<string, unknown>)
    .filter((m) => m.referralId === referralId);
}

/** True when the app has a queue function on referral-sync (then messages may be taken before we peek). */
function hasSyncConsumer(): boolean {
  return (sandbox.host?.functions ?? []).some((f) => f.queueName === SYNC_QUEUE_NAME);
}

describe('registration at start', () => {
  it("registers the app's events URL for the four referral events and test-created", async () => {
    const registration = await webhookApi('GET');
    expect(registration.status).toBe(200);
    expect(registration.body.WebhookUrl).toBe(sandbox.endpoints.partnerCenterEvents);
    expect(registration.body.WebhookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/partner-center\/events$/);
    expect([...registration.body.WebhookEvents].sort()).toEqual([
      'referral-created',
      'referral-updated',
      'related-referral-created',
      'related-referral-updated',
      'test-created',
    ]);
    expect(sandbox.appSettings.EVENTS_CERT_URL_ALLOWLIST).toBe(
      `${new URL(sandbox.endpoints.eventsCertificate).host}/cert/*`,
    );
  });

  it('reports the registration as current in /api/health', async () => {
    const health = await call(sandbox, 'GET', '/health');
    expect(health.body.dependencies.eventsRegistration).toMatchObject({
      status: 'ok',
      state: 'current',
      expectedUrl: sandbox.endpoints.partnerCenterEvents,
    });
  });
});

describe('deliveries', () => {
  it('verifies a signed delivery of a Partner Center change (200) and puts it on referral-sync', async () => {
    const referralId = await createdReferralId('events-edit');
    await editInPartnerCenter(referralId, 'changed in the Partner Center UI');
    const [delivery] = await eventually(async () => {
      const found = attemptedDeliveries(referralId, 'referral-updated');
      return found.length > 0 && found[0].status === 'delivered' ? found : undefined;
    });
    expect(delivery.attempts.map((a) => a.responseCode)).toEqual([200]);
    await sandbox.host!.waitForOutput(
      new RegExp(`Partner Center event queued: referral-updated referral ${referralId} `),
      10_000,
    );
    if (!hasSyncConsumer()) {
      const messages = await eventually(async () => {
        const found = await syncMessagesFor(referralId);
        return found.some((m) => m.eventName === 'referral-updated') ? found : undefined;
      }, 10_000);
      expect(messages.find((m) => m.eventName === 'referral-updated')).toMatchObject({
        referralId,
        eventName: 'referral-updated',
        dedupeKey: expect.stringMatching(/^e[0-9a-f]{32}$/),
      });
    }
  });

  it('reports the last authentic event in /api/health', async () => {
    const health = await call(sandbox, 'GET', '/health');
    expect(health.body.dependencies.eventsReceived).toMatchObject({
      status: 'ok',
      lastEventAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      ageSeconds: expect.any(Number),
    });
  });

  it('refuses a forged delivery (401) and lands nothing', async () => {
    const referralId = await createdReferralId('events-forged');
    await sandbox.partnerCenter.eventsSettled();
    sandbox.partnerCenter.setFaults({ events: { forge: true } });
    try {
      await editInPartnerCenter(referralId, 'forged');
      const [delivery] = await eventually(async () => {
        const found = attemptedDeliveries(referralId, 'referral-updated');
        return found.length > 0 ? found : undefined;
      });
      expect(delivery.forged).toBe(true);
      expect(delivery.attempts[0].responseCode).toBe(401);
    } finally {
      sandbox.partnerCenter.clearFaults();
    }
    await sandbox.host!.waitForOutput(/Partner Center event refused: signature-invalid/, 10_000);
    expect(sandbox.host!.output().filter((line) => line.includes(`referral-updated referral ${referralId}`))).toEqual(
      [],
    );
    // The referral-sync consumer takes the create's own messages meanwhile: count the forged change's kind.
    expect((await syncMessagesFor(referralId)).filter((m) => m.eventName === 'referral-updated')).toEqual([]);
  });
});

describe('npm run events:register', () => {
  /** Runs the built command against the sandbox's settings file, as an operator would. */
  function runCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS; // the CA comes from the settings file, as for a person at a terminal
      const child = spawn(
        process.execPath,
        [
          path.join(APP_DIR, 'dist/scripts/events-register.js'),
          '--settings',
          path.join(path.dirname(sandbox.endpoints.caCertificate), 'local.settings.json'),
          ...args,
        ],
        { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('--check sends a validation event and prints that our endpoint answered 200', async () => {
    const result = await runCommand(['--check', '--check-timeout', '30']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`Current registration: ${sandbox.endpoints.partnerCenterEvents}`);
    expect(result.stdout).toMatch(/Validation [0-9a-f-]{36}: completed \(our endpoint answered 2xx\)/);
    expect(result.stdout).toMatch(/ 200 OK/);
    expect(result.code).toBe(0);
  }, 60_000);

  it('refuses to overwrite another URL without --yes when no one can answer', async () => {
    const other = `http://127.0.0.1:${sandbox.host!.port}/api/someone-else`;
    const result = await runCommand(['--url', other]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Another URL is registered: ${sandbox.endpoints.partnerCenterEvents}`);
    expect(result.stderr).toContain('Refusing to overwrite another URL without --yes');
    expect((await webhookApi('GET')).body.WebhookUrl).toBe(sandbox.endpoints.partnerCenterEvents);
  }, 60_000);
});
