/**
 * Callback delivery against a real HTTP stand-in on loopback: who may be called (public addresses only,
 * every resolved address checked, the connection pinned to the checked address), what is retried, and
 * what the result and the log say.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  CallbackNotifier,
  type CallbackNotifierOptions,
  type ResolveHost,
} from '../../../shared/workflow/callbackNotifier';
import { createLogger, type LogFields } from '../../../shared/platform/logging';
import type { TrackingView } from '../../../shared/workflow/trackingView';

const view: TrackingView = {
  trackingId: 'trk-1',
  state: 'Completed',
  final: true,
  dealType: 'PartnerLed',
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:01.000Z',
  links: { self: 'https://bridge.example.com/api/referrals/trk-1' },
};

interface Received {
  method?: string;
  url?: string;
  host?: string;
  body: string;
}

/** A stand-in callback receiver answering from a script (the last answer repeats); counts connections. */
async function startReceiver(
  script: Array<{ status: number; headers?: Record<string, string> } | 'hang'>,
): Promise<{ port: number; received: Received[]; connections: () => number; close(): Promise<void> }> {
  const received: Received[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ method: request.method, url: request.url, host: request.headers.host, body });
      const answer = script[Math.min(received.length - 1, script.length - 1)];
      if (answer === 'hang' || answer === undefined) return;
      response.writeHead(answer.status, answer.headers).end();
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function notifier(overrides: Partial<CallbackNotifierOptions> = {}) {
  const lines: Array<LogFields & { message: string }> = [];
  const delays: number[] = [];
  const logger = createLogger({ minLevel: 'debug', sink: (_level, record) => lines.push(record) });
  const callbacks = new CallbackNotifier({
    logger,
    deps: { sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    ...overrides,
  });
  return { callbacks, lines, delays };
}

const resolveTo =
  (...addresses: string[]): ResolveHost =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('Class: CallbackNotifier', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  afterEach(async () => receiver?.close());

  describe('with private targets refused (CALLBACK_ALLOW_PRIVATE_TARGETS=false)', () => {
    beforeEach(async () => {
      receiver = await startReceiver([{ status: 204 }]);
    });

    it.each([
      '[::ffff:127.0.0.1]',
      '[::ffff:7f00:1]',
      '[::ffff:0:0]',
      '[::ffff:a9fe:a9fe]',
      '[::127.0.0.1]',
      '[64:ff9b::7f00:1]',
      '[febf::1]',
      '127.0.0.1',
      '0x7f.1',
      '2130706433',
    ])('refuses the literal address %s without connecting', async (host) => {
      const { callbacks, lines } = notifier();
      const result = await callbacks.notify(`https://${host}:${receiver.port}/hook?sig=s3cret`, view);
      expect(result).toMatchObject({ state: 'failed', code: 'target_not_public', attempts: 0 });
      expect(receiver.connections()).toBe(0);
      expect(lines).toContainEqual(
        expect.objectContaining({
          message: 'Callback delivery failed',
          code: 'target_not_public',
          trackingId: 'trk-1',
        }),
      );
    });

    it('refuses a name that resolves to loopback (localhost, real DNS) without connecting', async () => {
      const { callbacks } = notifier();
      const result = await callbacks.notify(`https://localhost:${receiver.port}/hook`, view);
      expect(result).toMatchObject({ state: 'failed', code: 'target_not_public' });
      expect(receiver.connections()).toBe(0);
    });

    it('refuses a name when any one of its addresses is not public, naming that address', async () => {
      const { callbacks } = notifier({ resolve: resolveTo('20.30.40.50', '2603:1030::1', '::ffff:a9fe:a9fe') });
      const result = await callbacks.notify('https://crm.example.com/hook', view);
      expect(result).toMatchObject({ state: 'failed', code: 'target_not_public' });
      expect(result.state === 'failed' && result.reason).toContain('::ffff:a9fe:a9fe');
      expect(result.state === 'failed' && result.reason).not.toContain('20.30.40.50');
    });

    it('refuses http', async () => {
      const { callbacks } = notifier({ resolve: resolveTo('20.30.40.50') });
      expect(await callbacks.notify('http://crm.example.com/hook', view)).toMatchObject({
        state: 'failed',
        code: 'insecure_target',
      });
    });

    it('reports a name that does not resolve', async () => {
      const { callbacks } = notifier({
        resolve: async () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
      });
      expect(await callbacks.notify('https://nowhere.example.com/hook', view)).toMatchObject({
        state: 'failed',
        code: 'name_not_resolved',
      });
    });

    it('logs the code, the reason and the origin, never the path, the query string or the body', async () => {
      const { callbacks, lines } = notifier();
      await callbacks.notify(`https://127.0.0.1:${receiver.port}/hooks/tenant-7?sig=s3cret`, view);
      const line = lines.find((l) => l.message === 'Callback delivery failed');
      expect(line).toMatchObject({ code: 'target_not_public', target: `https://127.0.0.1:${receiver.port}` });
      const text = JSON.stringify(lines);
      expect(text).not.toContain('s3cret');
      expect(text).not.toContain('tenant-7');
      expect(text).not.toContain('"state":"Completed"');
    });
  });

  describe('with private targets allowed (the sandbox)', () => {
    it('POSTs the view and answers delivered', async () => {
      receiver = await startReceiver([{ status: 204 }]);
      const { callbacks } = notifier({ allowPrivateTargets: true });
      const result = await callbacks.notify(`http://127.0.0.1:${receiver.port}/hook?x=1`, view);
      expect(result).toEqual({ state: 'delivered', status: 204, attempts: 1 });
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]).toMatchObject({ method: 'POST', url: '/hook?x=1' });
      expect(JSON.parse(receiver.received[0]?.body ?? '')).toEqual(view);
    });

    it('connects to the address it checked, not to a second DNS answer (no rebinding)', async () => {
      // Prepare: the first answer is the receiver; any later lookup would send the request elsewhere
      receiver = await startReceiver([{ status: 200 }]);
      let lookups = 0;
      const resolve: ResolveHost = async () =>
        lookups++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.255.255.1', family: 4 }];
      const { callbacks } = notifier({ allowPrivateTargets: true, resolve });

      // Act: callback.test is not in any DNS, so only the pinned address can reach the receiver
      const result = await callbacks.notify(`http://callback.test:${receiver.port}/hook`, view);

      // Assess
      expect(result).toMatchObject({ state: 'delivered', status: 200 });
      expect(lookups).toBe(1);
      expect(receiver.received[0]?.host).toBe(`callback.test:${receiver.port}`);
    });

    it('retries a 503 and a 429 (waiting its Retry-After), then delivers', async () => {
      receiver = await startReceiver([
        { status: 503 },
        { status: 429, headers: { 'Retry-After': '2' } },
        { status: 200 },
      ]);
      const { callbacks, delays } = notifier({ allowPrivateTargets: true });
      const result = await callbacks.notify(`http://127.0.0.1:${receiver.port}/hook`, view);
      expect(result).toEqual({ state: 'delivered', status: 200, attempts: 3 });
      expect(delays).toHaveLength(2);
      expect(delays[1]).toBeGreaterThanOrEqual(2_000);
    });

    it.each([
      { status: 400, attempts: 1 },
      { status: 302, attempts: 1 },
      { status: 500, attempts: 3 },
    ])('answers failed http_status after $attempts attempt(s) for HTTP $status', async ({ status, attempts }) => {
      receiver = await startReceiver([{ status, headers: { Location: 'http://169.254.169.254/' } }]);
      const { callbacks } = notifier({ allowPrivateTargets: true });
      const result = await callbacks.notify(`http://127.0.0.1:${receiver.port}/hook`, view);
      expect(result).toMatchObject({ state: 'failed', code: 'http_status', status, attempts });
      expect(receiver.received).toHaveLength(attempts); // a redirect is never followed
    });

    it('answers failed timeout when the target does not answer', async () => {
      receiver = await startReceiver(['hang']);
      const { callbacks } = notifier({ allowPrivateTargets: true, timeoutMs: 50, retry: { maxAttempts: 2 } });
      const result = await callbacks.notify(`http://127.0.0.1:${receiver.port}/hook`, view);
      expect(result).toMatchObject({ state: 'failed', code: 'timeout', attempts: 2 });
    });

    it('answers failed network when nothing listens', async () => {
      receiver = await startReceiver([{ status: 200 }]);
      const port = receiver.port;
      await receiver.close();
      const { callbacks } = notifier({ allowPrivateTargets: true });
      const result = await callbacks.notify(`http://127.0.0.1:${port}/hook`, view);
      expect(result).toMatchObject({ state: 'failed', code: 'network', attempts: 3 });
      expect(result.state === 'failed' && result.reason).toContain('ECONNREFUSED');
    });
  });
});
