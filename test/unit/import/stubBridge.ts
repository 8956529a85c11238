/**
 * A small stand-in for the bridge's HTTP API on a free loopback port (node:http), for the importer's
 * tests. The idempotency key's prefix picks the behaviour:
 *
 * | prefix     | POST answers                                                      |
 * |------------|-------------------------------------------------------------------|
 * | throttle-  | 429 + Retry-After: 1 the first time, then like a normal key        |
 * | slow-      | 202 + Location + Retry-After: 0; the GET answers 202 once, then 200 Linked |
 * | pending-   | 202 + Location + Retry-After: 5                                   |
 * | flaky-     | 503 + Retry-After: 0 the first time, then like a normal key        |
 * | down-      | 503 + Retry-After: 0 always                                        |
 * | reject-    | 422 partner-center-rejected                                       |
 * | reused-    | 422 idempotency-key-reused                                        |
 * | bad-       | 400 problem with one error at /details/currency                    |
 * | (other)    | 201 Completed, then 200 + Idempotent-Replayed for the same key     |
 *
 * `GET /api/health` answers 200. With `functionKey` set, a request without that `x-functions-key` gets 401.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running stand-in. */
export interface StubBridge {
  /** API base, `http://127.0.0.1:<port>/api`. */
  apiBaseUrl: string;
  /** Every POST /api/referrals, in arrival order. */
  posts: Array<{ key: string | undefined; body: any }>;
  /** Every GET of a tracking record. */
  polls: string[];
  /** Referrals "created" (first 201/202 per key). */
  created: Set<string>;
  /** Most requests in flight at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

/** Options of {@link startStubBridge}. */
export interface StubBridgeOptions {
  /** Delay before each POST answer. @default 0 */
  delayMs?: number;
  functionKey?: string;
}

/** Starts the stand-in. */
export async function startStubBridge(options: StubBridgeOptions = {}): Promise<StubBridge> {
  const seen = new Map<string, number>();
  const pollsOf = new Map<string, number>();
  let inFlight = 0;
  const stub: Omit<StubBridge, 'apiBaseUrl' | 'close'> = { posts: [], polls: [], created: new Set(), maxInFlight: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      inFlight += 1;
      stub.maxInFlight = Math.max(stub.maxInFlight, inFlight);
      const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
        setTimeout(
          () => {
            inFlight -= 1;
            res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
            res.end(body === undefined ? '' : JSON.stringify(body));
          },
          req.method === 'POST' ? (options.delayMs ?? 0) : 0,
        );
      };
      const url = req.url ?? '/';
      if (url === '/api/health') return send(200, { status: 'ok' });
      if (options.functionKey && req.headers['x-functions-key'] !== options.functionKey) {
        return send(401, { title: 'Unauthorized' });
      }
      const trackingIdOf = (key: string) => `r${Buffer.from(key).toString('hex').padEnd(31, '0').slice(0, 31)}`;
      const view = (trackingId: string, state: string, final: boolean) => ({
        trackingId,
        state,
        final,
        dealType: 'PartnerLed',
      });
      if (req.method === 'GET' && url.startsWith('/api/referrals/')) {
        const trackingId = url.split('/').pop() ?? '';
        stub.polls.push(trackingId);
        const count = (pollsOf.get(trackingId) ?? 0) + 1;
        pollsOf.set(trackingId, count);
        if (count === 1) return send(202, view(trackingId, 'CreatingMicrosoft', false), { 'Retry-After': '0' });
        return send(200, view(trackingId, 'Linked', true));
      }
      if (req.method !== 'POST' || url !== '/api/referrals') return send(404, { title: 'Not found' });
      const key = req.headers['idempotency-key'] as string | undefined;
      stub.posts.push({ key, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      const k = key ?? '';
      const attempt = (seen.get(k) ?? 0) + 1;
      seen.set(k, attempt);
      const trackingId = trackingIdOf(k);
      const location = { Location: `/api/referrals/${trackingId}` };
      if (k.startsWith('throttle-') && attempt === 1) return send(429, { title: 'Too many' }, { 'Retry-After': '1' });
      if (k.startsWith('flaky-') && attempt === 1) return send(503, { title: 'Down' }, { 'Retry-After': '0' });
      if (k.startsWith('down-')) return send(503, { title: 'Down' }, { 'Retry-After': '0' });
      if (k.startsWith('reject-')) {
        return send(422, {
          type: 'https://github.com/cosell-referral-bridge/docs/errors#partner-center-rejected',
          title: 'Partner Center rejected the referral',
          detail: 'The customer country is not supported.',
          trackingId,
        });
      }
      if (k.startsWith('reused-')) {
        return send(422, {
          type: 'https://github.com/cosell-referral-bridge/docs/errors#idempotency-key-reused',
          title: 'The idempotency key was used for another request',
          detail: 'A request with this idempotency key was already received with a different payload.',
          trackingId,
        });
      }
      if (k.startsWith('bad-')) {
        return send(400, {
          title: 'The referral is not valid',
          errors: [
            { pointer: '/details/currency', code: 'invalid_enum', message: 'Must be a valid ISO 4217 currency code.' },
          ],
        });
      }
      const first = !stub.created.has(k);
      stub.created.add(k);
      if (k.startsWith('pending-')) {
        return send(202, view(trackingId, 'CreatingPartner', false), { ...location, 'Retry-After': '5' });
      }
      if (k.startsWith('slow-')) {
        return send(202, view(trackingId, 'CreatingPartner', false), { ...location, 'Retry-After': '0' });
      }
      return first
        ? send(201, view(trackingId, 'Completed', true), location)
        : send(200, view(trackingId, 'Completed', true), { ...location, 'Idempotent-Replayed': 'true' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(stub, {
    apiBaseUrl: `http://127.0.0.1:${port}/api`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
