/**
 * The simulator's webhooks over real HTTP: the registration API, signed deliveries a strict receiver
 * can verify with node:crypto and the sandbox CA, 10 attempts then dropped, validation events, and each
 * delivery fault. A node:http receiver in the test plays the app's events endpoint.
 */
import { X509Certificate, randomUUID, verify } from 'node:crypto';
import { call, guardNetwork, startStandIns, type StandIns } from './standIns';
import {
  downloadCertificate,
  signatureOf,
  startEventReceiver,
  verifyReceivedEvent,
  type EventReceiver,
} from './eventReceiver';

/** Response bodies are arbitrary JSON probed by assertions: `any` keeps the assertions readable. */
type Json = Record<string, any>;

const REFERRALS_AUDIENCE = 'https://api.partner.microsoft.com';
const WEBHOOK_AUDIENCE = 'https://api.partnercenter.microsoft.com';
const ALL_EVENTS = [
  'referral-created',
  'referral-updated',
  'related-referral-created',
  'related-referral-updated',
  'test-created',
];

const referralBody = (overrides: Json = {}): Json => ({
  name: 'Contoso supply chain',
  type: 'Shared',
  customerProfile: { name: 'Contoso', address: { city: 'Redmond', country: 'US' }, team: [] },
  consent: { consentToContact: true, consentToShareReferralWithMicrosoftSellers: true },
  details: { dealValue: 50_000, currency: 'USD', notes: 'first notes' },
  ...overrides,
});

/** Waits (polling every 10 ms) until `condition` holds; the test's own timeout bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('Partner Center simulator webhooks', () => {
  let sandbox: StandIns;
  let receiver: EventReceiver;
  let apiToken: string;
  let webhookToken: string;
  let network: ReturnType<typeof guardNetwork>;

  beforeAll(async () => {
    network = guardNetwork();
    sandbox = await startStandIns({
      partnerCenter: { webhooks: { retryBaseDelayMs: 1, retryMaxDelayMs: 4, attemptTimeoutMs: 5000 } },
    });
    apiToken = sandbox.entra.issueAccessToken({ audience: REFERRALS_AUDIENCE });
    webhookToken = sandbox.entra.issueAccessToken({ audience: WEBHOOK_AUDIENCE, user: null });
  });

  afterAll(async () => {
    await sandbox.close();
    network.restore();
  });

  beforeEach(async () => {
    receiver = await startEventReceiver();
    sandbox.partnerCenter.reset({ registrations: true });
  });

  afterEach(async () => {
    sandbox.partnerCenter.reset({ registrations: true });
    await receiver.close();
  });

  async function send(
    method: string,
    url: string,
    options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
  ): Promise<{ status: number; body: Json; headers: { get(name: string): string | null } }> {
    const bearer = options.token === undefined ? apiToken : options.token;
    const response = await call(url, {
      method,
      headers: {
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, headers: response.headers };
  }

  const pc = () => sandbox.partnerCenter;
  const registration = (path = '') => `${pc().url}/webhooks/v1/registration${path}`;
  const register = async (body: Json, method = 'POST') => {
    const result = await send(method, registration(), { body, token: webhookToken });
    expect(result.status).toBe(200);
    return result.body;
  };
  const createReferral = async (overrides: Json = {}) => {
    const result = await send('POST', pc().referralsUrl, { body: referralBody(overrides) });
    expect(result.status).toBe(201);
    return result.body;
  };
  const patchNotes = async (id: string, notes: string) => {
    const result = await send('PATCH', `${pc().referralsUrl}/${id}`, {
      body: [{ op: 'replace', path: '/details/notes', value: notes }],
    });
    expect(result.status).toBe(204);
  };
  const events = async () => (await send('GET', `${pc().url}/_sandbox/events`, { token: null })).body;

  describe('registration API', () => {
    it('lists the supported events', async () => {
      const result = await send('GET', registration('/events'), { token: webhookToken });
      expect(result.status).toBe(200);
      expect(result.body).toEqual(ALL_EVENTS);
    });

    it('registers, answers the registration on GET, and overwrites it when registering again', async () => {
      const missing = await send('GET', registration(), { token: webhookToken });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 404, description: expect.any(String), data: [] });

      const first = await register({ WebhookUrl: `${receiver.url}?first`, WebhookEvents: ['referral-created'] });
      expect(first).toEqual({
        SubscriberId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        WebhookUrl: `${receiver.url}?first`,
        WebhookEvents: ['referral-created'],
        SignatureTokenToMsSignatureHeader: false,
      });
      const second = await register({
        webhookUrl: receiver.url,
        webhookEvents: ['referral-created', 'referral-updated'],
      });
      expect(second.SubscriberId).toBe(first.SubscriberId);
      expect((await send('GET', registration(), { token: webhookToken })).body).toEqual(second);
      const replaced = await register(
        { WebhookUrl: `${receiver.url}?third`, WebhookEvents: ['referral-updated'] },
        'PUT',
      );
      expect(replaced.WebhookEvents).toEqual(['referral-updated']);

      // Only the last registration gets events: referral-created is no longer subscribed.
      const referral = await createReferral();
      await patchNotes(referral.id, 'second');
      await pc().eventsSettled();
      expect(receiver.received.map((e) => [e.body.EventName, e.headers.host])).toEqual([
        ['referral-updated', new URL(receiver.url).host],
      ]);
      expect(
        pc()
          .deliveries()
          .map((d) => d.url),
      ).toEqual([`${receiver.url}?third`]);
      expect((await events()).counts).toMatchObject({ events: 2, unsubscribed: 1, deliveries: 1, delivered: 1 });
    });

    it('takes App+User and app-only tokens for the Webhook audience, and refuses the referrals audience', async () => {
      const body = { WebhookUrl: receiver.url, WebhookEvents: ['referral-created'] };
      const appUser = sandbox.entra.issueAccessToken({ audience: WEBHOOK_AUDIENCE });
      expect((await send('POST', registration(), { body, token: appUser })).status).toBe(200);
      expect((await send('POST', registration(), { body, token: webhookToken })).status).toBe(200);
      const wrongAudience = await send('POST', registration(), { body, token: apiToken });
      expect(wrongAudience.status).toBe(401);
      expect(wrongAudience.body.description).toMatch(/api\.partnercenter\.microsoft\.com/);
      expect((await send('GET', registration(), { token: null })).status).toBe(401);
    });

    it.each([
      ['an unknown event', { WebhookUrl: 'http://127.0.0.1:1/x', WebhookEvents: ['order-created'] }, /order-created/],
      ['no events', { WebhookUrl: 'http://127.0.0.1:1/x', WebhookEvents: [] }, /WebhookEvents/],
      ['no URL', { WebhookEvents: ['referral-created'] }, /WebhookUrl/],
      ['a relative URL', { WebhookUrl: '/events', WebhookEvents: ['referral-created'] }, /absolute/],
      [
        'a host off the machine',
        { WebhookUrl: 'https://example.com/x', WebhookEvents: ['referral-created'] },
        /loopback/,
      ],
    ])('refuses a registration with %s (400)', async (_label, body, description) => {
      const result = await send('POST', registration(), { body, token: webhookToken });
      expect(result.status).toBe(400);
      expect(result.body.description).toMatch(description);
    });
  });

  describe('signed deliveries', () => {
    it('sends the documented body and headers, and a strict receiver verifies them with the sandbox CA', async () => {
      await register({ WebhookUrl: receiver.url, WebhookEvents: ALL_EVENTS });
      const referral = await createReferral();
      await pc().eventsSettled();
      expect(receiver.received).toHaveLength(1);
      const [event] = receiver.received;
      expect(event.raw.toString('utf8')).toBe(
        JSON.stringify({
          EventName: 'referral-created',
          ResourceUri: `https://api.partnercenter.microsoft.com/engagements/v1/referrals/${referral.id}`,
          ResourceName: 'referral',
          AuditUri: null,
          ResourceChangeUtcDate: referral.updatedDateTime,
        }),
      );
      expect(event.headers.authorization).toMatch(/^Signature [A-Za-z0-9+/]+=*$/);
      expect(event.headers['x-ms-signature']).toBeUndefined();
      expect(event.headers['x-ms-signature-algorithm']).toBe('rsa-sha256');
      expect(event.headers['x-ms-certificate-url']).toBe(pc().certificateUrl);
      expect(pc().certificateUrl).toMatch(
        /^https:\/\/127\.0\.0\.1:\d+\/cert\/pcnotifications-dispatch\.microsoft\.com\.cer$/,
      );
      expect(event.headers['content-type']).toBe('application/json; charset=utf-8');

      await expect(verifyReceivedEvent(event, sandbox.tls.caPem)).resolves.toBe(true);
      const certificate = await downloadCertificate(pc().certificateUrl, sandbox.tls.caPem);
      expect(certificate.subject).toMatch(/CN=pcnotifications-dispatch\.microsoft\.com/);
      expect(certificate.toString()).toBe(new X509Certificate(pc().signingCertificatePem).toString());
      // The signature covers the exact bytes: one byte more and it fails.
      const tampered = Buffer.concat([event.raw, Buffer.from(' ')]);
      expect(verify('sha256', tampered, certificate.publicKey, signatureOf(event))).toBe(false);
    });

    it('moves the signature to x-ms-signature when registered with SignatureTokenToMsSignatureHeader', async () => {
      await register({
        WebhookUrl: receiver.url,
        WebhookEvents: ['referral-created'],
        SignatureTokenToMsSignatureHeader: true,
      });
      await createReferral();
      await pc().eventsSettled();
      const [event] = receiver.received;
      expect(event.headers.authorization).toBeUndefined();
      expect(event.headers['x-ms-signature']).toMatch(/^Signature [A-Za-z0-9+/]+=*$/);
      await expect(verifyReceivedEvent(event, sandbox.tls.caPem)).resolves.toBe(true);
    });

    it('serves the certificate only over TLS of the sandbox CA', async () => {
      await expect(downloadCertificate(pc().certificateUrl, sandbox.tls.certPem)).rejects.toThrow();
      const other = await startStandIns();
      try {
        await expect(downloadCertificate(pc().certificateUrl, other.tls.caPem)).rejects.toThrow();
      } finally {
        await other.close();
      }
    });
  });

  describe('delivery', () => {
    it('makes 10 attempts with backoff when the receiver answers 500, then drops the event and counts it', async () => {
      receiver.answer = () => 500;
      await register({ WebhookUrl: receiver.url, WebhookEvents: ['referral-created'] });
      await createReferral();
      await pc().eventsSettled();
      expect(receiver.received).toHaveLength(10);
      expect(new Set(receiver.received.map((e) => e.raw.toString('utf8'))).size).toBe(1);
      const [delivery] = pc().deliveries();
      expect(delivery.status).toBe('dropped');
      expect(delivery.attempts.map((a) => [a.attempt, a.responseCode])).toEqual(
        Array.from({ length: 10 }, (_, i) => [i + 1, 500]),
      );
      expect(pc().stats().events).toMatchObject({ deliveries: 1, attempts: 10, dropped: 1, delivered: 0, pending: 0 });
    });

    it('stops retrying at the first 2xx', async () => {
      receiver.answer = (index) => (index < 2 ? 503 : 202);
      await register({ WebhookUrl: receiver.url, WebhookEvents: ['referral-created'] });
      await createReferral();
      await pc().eventsSettled();
      expect(receiver.received).toHaveLength(3);
      expect(pc().deliveries()[0]).toMatchObject({ status: 'delivered', attempts: [{}, {}, { responseCode: 202 }] });
    });

    it('retries when nothing listens, recording the connection error', async () => {
      const url = receiver.url;
      await receiver.close();
      await register({ WebhookUrl: url, WebhookEvents: ['referral-created'] });
      await createReferral();
      await pc().eventsSettled();
      const [delivery] = pc().deliveries();
      expect(delivery.status).toBe('dropped');
      expect(delivery.attempts).toHaveLength(10);
      expect(delivery.attempts[0].error).toMatch(/ECONNREFUSED/);
      receiver = await startEventReceiver();
    });

    it('delivers test-created for a validation event and records the results', async () => {
      await register({ WebhookUrl: receiver.url, WebhookEvents: ['referral-created'] });
      const notRegistered = await send('POST', registration('/validationEvents'), { token: webhookToken });
      expect(notRegistered.status).toBe(400);
      expect(notRegistered.body.description).toMatch(/test-created/);

      await register({ WebhookUrl: receiver.url, WebhookEvents: ALL_EVENTS });
      const requested = await send('POST', registration('/validationEvents'), { token: webhookToken });
      expect(requested.status).toBe(200);
      const { correlationId } = requested.body;
      expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
      await pc().eventsSettled();
      expect(receiver.received[0].body).toMatchObject({ EventName: 'test-created', ResourceName: 'test' });
      await expect(verifyReceivedEvent(receiver.received[0], sandbox.tls.caPem)).resolves.toBe(true);

      const record = await send('GET', registration(`/validationEvents/${correlationId}`), { token: webhookToken });
      expect(record.status).toBe(200);
      expect(record.body).toEqual({
        correlationId,
        partnerId: expect.any(String),
        status: 'completed',
        callbackUrl: receiver.url,
        results: [{ responseCode: 200, responseMessage: 'OK', systemError: null, dateTimeUtc: expect.any(String) }],
      });
      expect(
        (await send('GET', registration(`/validationEvents/${randomUUID()}`), { token: webhookToken })).status,
      ).toBe(404);

      // Documented throttle: 2 requests a minute.
      expect((await send('POST', registration('/validationEvents'), { token: webhookToken })).status).toBe(200);
      const throttled = await send('POST', registration('/validationEvents'), { token: webhookToken });
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('delivery faults (POST /_sandbox/faults { events })', () => {
    const setFaults = async (faults: Json) => {
      const result = await send('POST', `${pc().url}/_sandbox/faults`, { body: faults, token: null });
      expect(result.status).toBe(200);
      return result.body;
    };

    beforeEach(async () => {
      await register({ WebhookUrl: receiver.url, WebhookEvents: ALL_EVENTS });
    });

    it('drop: the delivery is lost for good, never attempted', async () => {
      await setFaults({ events: { drop: 1 } });
      await createReferral();
      await pc().eventsSettled();
      expect(receiver.received).toHaveLength(0);
      expect(pc().deliveries()[0]).toMatchObject({ status: 'lost', attempts: [] });
      expect((await events()).counts).toMatchObject({ lost: 1, attempts: 0 });
    });

    it('duplicate: the same bytes are delivered twice, both verifiable', async () => {
      await setFaults({ events: { duplicate: 1 } });
      await createReferral();
      await pc().eventsSettled();
      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[0].raw.equals(receiver.received[1].raw)).toBe(true);
      for (const event of receiver.received)
        await expect(verifyReceivedEvent(event, sandbox.tls.caPem)).resolves.toBe(true);
      expect((await events()).counts).toMatchObject({ deliveries: 2, duplicated: 1, delivered: 2 });
    });

    it('delayMs: the delivery is held back before its first attempt, then delivered', async () => {
      await setFaults({ events: { delayMs: 600_000, eventNames: ['referral-updated'] } });
      const referral = await createReferral();
      await patchNotes(referral.id, 'second');
      await until(() => receiver.received.length === 1);
      // The created event went out; the updated one waits (10 minutes) and has made no attempt.
      const [created, updated] = pc().deliveries();
      expect(created).toMatchObject({ status: 'delivered', event: { EventName: 'referral-created' } });
      expect(updated).toMatchObject({ status: 'pending', attempts: [], event: { EventName: 'referral-updated' } });
      expect(pc().stats().events.delayed).toBe(1);

      pc().reset();
      await register({ WebhookUrl: receiver.url, WebhookEvents: ALL_EVENTS });
      await setFaults({ events: { delayMs: 5 } });
      await createReferral();
      await pc().eventsSettled();
      expect(pc().deliveries()[0]).toMatchObject({ status: 'delivered', attempts: [{ responseCode: 200 }] });
      expect(pc().stats().events.delayed).toBe(1);
    });

    it('reorder: deliveries go out in reverse order of the changes', async () => {
      await setFaults({ events: { reorder: true, reorderBatchSize: 3, reorderWindowMs: 60_000 } });
      const referral = await createReferral();
      await patchNotes(referral.id, 'second');
      expect(receiver.received).toHaveLength(0);
      await patchNotes(referral.id, 'third');
      await pc().eventsSettled();
      const changes = pc()
        .deliveries()
        .map((d) => d.event.ResourceChangeUtcDate);
      expect(receiver.received.map((e) => e.body.ResourceChangeUtcDate)).toEqual([...changes].reverse());
      expect(receiver.received.map((e) => e.body.EventName)).toEqual([
        'referral-updated',
        'referral-updated',
        'referral-created',
      ]);
      expect((await events()).counts).toMatchObject({ reordered: 3, delivered: 3 });
    });

    it('forge: the signature is made with another key and a strict receiver refuses it', async () => {
      await setFaults({ events: { forge: true } });
      await createReferral();
      await pc().eventsSettled();
      expect(receiver.received).toHaveLength(1);
      await expect(verifyReceivedEvent(receiver.received[0], sandbox.tls.caPem)).resolves.toBe(false);
      expect(pc().deliveries()[0].forged).toBe(true);
      expect(pc().stats().events.forged).toBe(1);
    });

    it('validates the events entry, keeps it beside the shared faults, and clears with DELETE', async () => {
      const config = await setFaults({
        latency: 1,
        events: { drop: 0.5, duplicate: 0.2, delayMs: 2000, reorder: true },
      });
      expect(config).toEqual({ latency: 1, events: { drop: 0.5, duplicate: 0.2, delayMs: 2000, reorder: true } });
      const invalid = await send('POST', `${pc().url}/_sandbox/faults`, {
        body: { events: { drop: 2 } },
        token: null,
      });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.message).toMatch(/events\.drop/);
      expect((await send('GET', `${pc().url}/_sandbox/faults`, { token: null })).body).toEqual(config);
      expect((await send('DELETE', `${pc().url}/_sandbox/faults`, { token: null })).status).toBe(204);
      expect((await send('GET', `${pc().url}/_sandbox/faults`, { token: null })).body).toEqual({});
    });

    it('repeats the same decisions for the same seed', async () => {
      const run = async () => {
        pc().reset();
        await register({ WebhookUrl: receiver.url, WebhookEvents: ALL_EVENTS });
        await setFaults({ seed: 9, events: { drop: 0.5, duplicate: 0.5 } });
        for (let i = 0; i < 6; i++) await createReferral();
        await pc().eventsSettled();
        return pc()
          .deliveries()
          .map((d) => [d.status, d.duplicate]);
      };
      const first = await run();
      expect(await run()).toEqual(first);
      expect(first.some(([status]) => status === 'lost')).toBe(true);
    });
  });
});
