/**
 * The local host serves the fixture app's HTTP functions through the library's own converters:
 * routes, params, query, headers, bodies, statuses, hooks, limits, and the real host's 404 rules.
 */
import http from 'node:http';
import { useAzurite } from '../../helpers/azurite';
import type { RunningHost } from '../../../sandbox/host';
import { startFixtureHost } from './fixtureHost';

jest.setTimeout(30_000);

const BODY_LIMIT_BYTES = 64 * 1024;

/** One HTTP exchange with node:http (reads an early answer even while the body is still being sent). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (error) => {
      // The server may close after an early 413 while the body is still being written.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE' && (error as NodeJS.ErrnoException).code !== 'ECONNRESET')
        reject(error);
    });
    req.end(options.body);
  });
}

describe('local host: HTTP triggers', () => {
  const azurite = useAzurite();
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost(azurite.connectionString, { maxRequestBodyBytes: BODY_LIMIT_BYTES });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('lists the functions the app registered from its package.json main glob', () => {
    const names = host.functions.map((f) => f.name).sort();
    expect(names).toEqual(
      [
        'boom',
        'cookies',
        'defaultRoute',
        'echo',
        'fanOut',
        'getItem',
        'hooked',
        'nothing',
        'recordQueue',
        'startupTick',
        'things',
        'thingsLiteral',
        'tick',
      ].sort(),
    );
    expect(host.functions.find((f) => f.name === 'getItem')).toEqual({
      name: 'getItem',
      trigger: 'httpTrigger',
      route: '/api/items/{id}',
      methods: ['GET'],
    });
    expect(host.functions.find((f) => f.name === 'recordQueue')).toMatchObject({
      trigger: 'queueTrigger',
      queueName: 'fixture-in',
    });
    expect(host.functions.find((f) => f.name === 'tick')).toMatchObject({
      trigger: 'timerTrigger',
      schedule: '0 0 0 1 1 *',
    });
    expect(host.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('passes route params, query and headers to the handler and returns its status, headers and JSON body', async () => {
    const response = await request(`${host.url}/api/items/a%20b?x=1&y=two&x=3`, {
      headers: { 'X-Test-Header': 'hello' },
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['x-fixture']).toBe('items');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers.connection).toBe('keep-alive');
    const body = JSON.parse(response.text) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: 'a b',
      query: { x: '1,3', y: 'two' },
      header: 'hello',
      method: 'GET',
      url: `${host.url}/api/items/a%20b?x=1&y=two&x=3`,
      functionName: 'getItem',
    });
  });

  it('gives every invocation a W3C trace context and continues the caller trace', async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await request(`${host.url}/api/items/1`, {
      headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` },
    });
    const { traceParent } = JSON.parse(response.text) as { traceParent: string };
    expect(traceParent).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
    expect(traceParent).not.toContain('00f067aa0ba902b7');
    const fresh = JSON.parse((await request(`${host.url}/api/items/2`)).text) as { traceParent: string };
    expect(fresh.traceParent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('echoes a posted JSON body and answers 201 with the Location the handler set', async () => {
    const payload = { name: 'Contoso', amounts: [1, 2.5], nested: { ok: true }, text: 'héllo' };
    const response = await request(`${host.url}/api/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe('/api/echo/1');
    expect(JSON.parse(response.text)).toEqual({
      received: payload,
      contentType: 'application/json',
      bytes: Buffer.byteLength(JSON.stringify(payload)),
    });
  });

  it('answers the status the handler chose (404 with its body)', async () => {
    const response = await request(`${host.url}/api/items/missing`);
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text)).toEqual({ error: 'not found' });
  });

  it.each([
    ['an unknown route', '/api/nope'],
    ['a path outside the route prefix', '/items/1'],
    ['a route with an extra segment', '/api/items/1/extra'],
  ])('answers 404 with an empty body for %s', async (_what, path) => {
    const response = await request(`${host.url}${path}`);
    expect(response.status).toBe(404);
    expect(response.text).toBe('');
  });

  it('answers 404, not 405, for a known route called with a method the function does not list (like the real host)', async () => {
    expect((await request(`${host.url}/api/echo`)).status).toBe(404);
    expect((await request(`${host.url}/api/items/1`, { method: 'DELETE' })).status).toBe(404);
    expect(
      (
        await request(`${host.url}/api/echo`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(201);
  });

  it('answers 500 with an empty body when the handler throws, and logs the failure with the function name', async () => {
    const response = await request(`${host.url}/api/boom`);
    expect(response.status).toBe(500);
    expect(response.text).toBe('');
    const line = await host.waitForOutput(/\[boom\].*Failed/);
    expect(line).toContain('fixture failure');
  });

  it('answers 204 when the handler returns nothing', async () => {
    const response = await request(`${host.url}/api/nothing`);
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
  });

  it('writes the cookies the handler returned as Set-Cookie headers', async () => {
    const response = await request(`${host.url}/api/cookies`);
    expect(response.status).toBe(200);
    expect(response.text).toBe('ok');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/; HttpOnly', 'b=2; Max-Age=60; SameSite=Strict']);
  });

  it('honours route constraints and optional parameters, and prefers a literal segment over a parameter', async () => {
    const id = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
    expect(JSON.parse((await request(`${host.url}/api/things/${id}`)).text)).toEqual({ id, tail: null });
    expect(JSON.parse((await request(`${host.url}/api/things/${id}/more`)).text)).toEqual({ id, tail: 'more' });
    expect((await request(`${host.url}/api/things/not-a-guid`)).status).toBe(404);
    expect(JSON.parse((await request(`${host.url}/api/THINGS/Latest`)).text)).toEqual({ latest: true });
  });

  it('routes a function without a route by its name', async () => {
    const response = await request(`${host.url}/api/defaultRoute`);
    expect(response.status).toBe(200);
    expect(response.text).toBe('default route is the function name');
  });

  it('answers 413 for a body above the configured limit and serves the next request', async () => {
    const big = Buffer.alloc(BODY_LIMIT_BYTES + 1, 'a');
    const declared = await request(`${host.url}/api/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: big,
    });
    expect(declared.status).toBe(413);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${host.url}/api/echo`,
        { method: 'POST', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (error) =>
        (error as NodeJS.ErrnoException).code === 'EPIPE' || (error as NodeJS.ErrnoException).code === 'ECONNRESET'
          ? undefined
          : reject(error),
      );
      req.write(big.subarray(0, 40_000));
      req.end(big.subarray(40_000));
    });
    expect(chunked).toBe(413);
    const after = await request(`${host.url}/api/echo`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"small":true}',
    });
    expect(after.status).toBe(201);
  });

  it('runs appStart, preInvocation and postInvocation hooks, which can rewrite the result', async () => {
    const response = await request(`${host.url}/api/hooked`);
    expect(JSON.parse(response.text)).toEqual({
      handler: 'ran',
      pre: 'pre-ran',
      appStart: 'app-start-ran',
      post: 'post-ran',
    });
  });

  it('prints each context.log line on one line with the function name', async () => {
    await request(`${host.url}/api/items/logged-item`);
    const line = await host.waitForOutput(/\[getItem\] getItem logged-item$/);
    expect(line).toMatch(/^\[\d{4}-\d\d-\d\dT[^\]]+\] \[getItem\] getItem logged-item$/);
  });

  it('reuses one keep-alive connection for consecutive requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      for (let i = 0; i < 3; i++) expect((await request(`${host.url}/api/items/${i}`, { agent })).status).toBe(200);
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('serves the admin status endpoint', async () => {
    const response = await request(`${host.url}/admin/host/status`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ state: 'Running' });
  });
});

describe('local host: host.json route prefix', () => {
  const azurite = useAzurite();
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost(azurite.connectionString, {
      hostJson: { extensions: { http: { routePrefix: 'v1/' } } },
    });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('serves routes under the prefix host.json names and no longer under api/', async () => {
    expect((await request(`${host.url}/v1/items/7`)).status).toBe(200);
    expect((await request(`${host.url}/api/items/7`)).status).toBe(404);
    expect(host.functions.find((f) => f.name === 'getItem')?.route).toBe('/v1/items/{id}');
  });
});
