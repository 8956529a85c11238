/**
 * The Webhook API client, registerEvents and the validation check against the real Partner Center
 * simulator over HTTP (auth off: tokens are the broker's business, tested in test/unit/auth), plus the
 * pure comparison and redaction rules.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { startPartnerCenter, type RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import {
  REGISTERED_EVENT_NAMES,
  RegisterOutcome,
  RegistrationState,
  compareRegistration,
  registerEvents,
  runValidationCheck,
} from '../../../shared/events/registration';
import { WebhookApiError, WebhookRegistrationClient } from '../../../shared/events/webhookApiClient';
import { functionKeyFingerprint, redactWebhookUrl, withFunctionKey } from '../../../shared/events/webhookUrl';
import type { AccessTokenProvider, GetAccessTokenOptions } from '../../../shared/auth/types';

const staticTokens: AccessTokenProvider = { getAccessToken: () => Promise.resolve('token-for-tests') };

/** A node:http receiver playing the app's events endpoint: answers `status()` to every delivery. */
async function startReceiver(
  status: () => number,
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits++;
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/partner-center/events`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('redaction and comparison', () => {
  const key = fc.stringMatching(/^[A-Za-z0-9_=-]{8,60}$/);

  it('never shows the function key in a redacted URL', () => {
    fc.assert(
      fc.property(key, fc.webPath(), (code, webPath) => {
        const url = withFunctionKey(`https://bridge.example.net${webPath || '/'}`, code);
        const redacted = redactWebhookUrl(url);
        expect(redacted).not.toContain(code);
        expect(redacted).toContain('code=***');
      }),
    );
  });

  it('tells the same URL with another key apart, without storing either key', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        fc.pre(a !== b);
        const base = 'https://bridge.example.net/api/partner-center/events';
        const registered = { webhookUrl: withFunctionKey(base, a), webhookEvents: [...REGISTERED_EVENT_NAMES] };
        const stored = {
          webhookUrl: redactWebhookUrl(withFunctionKey(base, a)),
          keyFingerprint: functionKeyFingerprint(withFunctionKey(base, a)) ?? null,
        };
        expect(compareRegistration(registered, stored).state).toBe(RegistrationState.Current);
        expect(compareRegistration(registered, { webhookUrl: withFunctionKey(base, b) }).state).toBe(
          RegistrationState.OtherUrl,
        );
        expect(compareRegistration(registered, { webhookUrl: base, ignoreKey: true }).state).toBe(
          RegistrationState.Current,
        );
      }),
    );
  });

  it('names the events a registration of our URL lacks, and a missing registration', () => {
    const url = 'https://bridge.example.net/api/partner-center/events';
    expect(compareRegistration({ webhookUrl: url, webhookEvents: ['referral-created'] }, { webhookUrl: url })).toEqual({
      state: RegistrationState.MissingEvents,
      missingEvents: ['referral-updated', 'related-referral-created', 'related-referral-updated', 'test-created'],
      registeredUrl: url,
    });
    expect(compareRegistration(undefined, { webhookUrl: url }).state).toBe(RegistrationState.Missing);
  });
});

describe('against the Partner Center simulator', () => {
  let pc: RunningPartnerCenter;
  let client: WebhookRegistrationClient;

  beforeAll(async () => {
    pc = await startPartnerCenter({
      auth: false,
      webhooks: { retryBaseDelayMs: 1, retryMaxDelayMs: 2, maxAttempts: 2, validationEventsPerMinute: 100 },
    });
    client = new WebhookRegistrationClient({ baseUrl: pc.url, tokens: staticTokens });
  });
  afterAll(async () => pc?.close());
  beforeEach(() => pc.reset({ registrations: true }));

  it('creates a registration for the five events when none exists', async () => {
    const lines: string[] = [];
    const url = withFunctionKey('http://127.0.0.1:7071/api/partner-center/events', 'secret-key-1');
    const result = await registerEvents({
      client,
      webhookUrl: url,
      confirmOverwrite: () => Promise.reject(new Error('not asked')),
      print: (line) => lines.push(line),
    });
    expect(result.outcome).toBe(RegisterOutcome.Created);
    expect(await client.get()).toMatchObject({ webhookUrl: url, webhookEvents: [...REGISTERED_EVENT_NAMES] });
    expect(lines[0]).toBe('Current registration: none');
    expect(lines.join('\n')).not.toContain('secret-key-1');
  });

  it('leaves a current registration alone and adds missing events to our URL', async () => {
    const url = 'http://127.0.0.1:7071/api/partner-center/events';
    pc.registerWebhook({ webhookUrl: url, events: ['referral-created'] });
    const confirm = jest.fn(() => Promise.resolve(true));
    expect((await registerEvents({ client, webhookUrl: url, confirmOverwrite: confirm })).outcome).toBe(
      RegisterOutcome.Updated,
    );
    expect((await registerEvents({ client, webhookUrl: url, confirmOverwrite: confirm })).outcome).toBe(
      RegisterOutcome.Unchanged,
    );
    expect(confirm).not.toHaveBeenCalled();
    expect((await client.get())?.webhookEvents).toEqual([...REGISTERED_EVENT_NAMES]);
  });

  it('asks before overwriting another URL, and keeps it when the answer is no', async () => {
    const theirs = withFunctionKey('http://127.0.0.1:9999/other/events', 'their-key');
    pc.registerWebhook({ webhookUrl: theirs });
    const ours = 'http://127.0.0.1:7071/api/partner-center/events';
    const asked: Array<[string, string]> = [];
    const declined = await registerEvents({
      client,
      webhookUrl: ours,
      confirmOverwrite: (current, next) => {
        asked.push([current, next]);
        return Promise.resolve(false);
      },
    });
    expect(declined.outcome).toBe(RegisterOutcome.Declined);
    expect(asked).toEqual([['http://127.0.0.1:9999/other/events?code=***', ours]]);
    expect((await client.get())?.webhookUrl).toBe(theirs);

    const approved = await registerEvents({ client, webhookUrl: ours, confirmOverwrite: () => Promise.resolve(true) });
    expect(approved.outcome).toBe(RegisterOutcome.Overwritten);
    expect((await client.get())?.webhookUrl).toBe(ours);
  });

  it('answers undefined when nothing is registered and lists the supported events', async () => {
    expect(await client.get()).toBeUndefined();
    expect(await client.supportedEvents()).toEqual([...REGISTERED_EVENT_NAMES]);
  });

  it('reports a validation event our endpoint answered 200 as ok', async () => {
    const receiver = await startReceiver(() => 200);
    try {
      pc.registerWebhook({ webhookUrl: receiver.url });
      const check = await runValidationCheck({ client, pollIntervalMs: 10, timeoutMs: 10_000 });
      expect(check.ok).toBe(true);
      expect(check.result).toMatchObject({ status: 'completed', callbackUrl: receiver.url });
      expect(check.result.results.map((r) => r.responseCode)).toEqual([200]);
    } finally {
      await receiver.close();
    }
  });

  it('reports a validation event our endpoint refused as not ok, with every attempt', async () => {
    const receiver = await startReceiver(() => 401);
    try {
      pc.registerWebhook({ webhookUrl: receiver.url });
      const check = await runValidationCheck({ client, pollIntervalMs: 10, timeoutMs: 10_000 });
      expect(check.ok).toBe(false);
      expect(check.result.status).toBe('failed');
      expect(check.result.results.map((r) => r.responseCode)).toEqual([401, 401]);
    } finally {
      await receiver.close();
    }
  });

  it('raises a WebhookApiError with the status when validation needs test-created registered', async () => {
    pc.registerWebhook({ webhookUrl: 'http://127.0.0.1:7071/x', events: ['referral-created'] });
    const error = await client.requestValidationEvent().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookApiError);
    expect(error).toMatchObject({ status: 400, retryable: false });
  });
});

describe('tokens', () => {
  it('asks for a fresh token once after a 401 and never puts a token in an error', async () => {
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      const ok = req.headers.authorization === 'Bearer fresh';
      res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
      res.end(ok ? JSON.stringify({ WebhookUrl: 'http://127.0.0.1:1/e', WebhookEvents: [] }) : '{"code":401}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const requests: GetAccessTokenOptions[] = [];
    const tokens = (fresh: string): AccessTokenProvider => ({
      getAccessToken: (options = {}) => {
        requests.push(options);
        return Promise.resolve(options.forceRefresh ? fresh : 'stale');
      },
    });
    try {
      const registration = await new WebhookRegistrationClient({ baseUrl, tokens: tokens('fresh') }).get();
      expect(registration?.webhookUrl).toBe('http://127.0.0.1:1/e');
      expect(requests).toEqual([{}, { forceRefresh: true, rejectedToken: 'stale' }]);

      const error = await new WebhookRegistrationClient({ baseUrl, tokens: tokens('also-stale') })
        .get()
        .catch((e: unknown) => e as Error);
      expect(error).toMatchObject({ name: 'WebhookApiError', status: 401 });
      expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toMatch(/stale/);
      expect(seen.slice(-2)).toEqual(['Bearer stale', 'Bearer also-stale']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
