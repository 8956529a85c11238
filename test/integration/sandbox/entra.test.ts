/**
 * The Entra stand-in over real HTTPS (node-fetch trusting the sandbox CA): refresh-token rotation and
 * reuse detection, client authentication, app-only tokens, the device code flow, discovery documents,
 * faults and counters.
 */
import https from 'node:https';
import { createSandboxTls } from '../../../sandbox/tls';
import { startEntra, type RunningEntra } from '../../../sandbox/entra/server';
import { keysFromJwks, verifyJwt } from '../../../sandbox/entra/jwt';
import { APP_CLIENT, TENANT_ID, call, claimsOf, form, guardNetwork } from './standIns';

const PARTNER_CENTER = 'https://api.partner.microsoft.com';

describe('Entra token endpoint stand-in', () => {
  let entra: RunningEntra;
  let agent: https.Agent;
  let network: ReturnType<typeof guardNetwork>;

  beforeAll(async () => {
    network = guardNetwork();
    const tls = await createSandboxTls();
    entra = await startEntra({
      tls,
      tenantId: TENANT_ID,
      clients: [APP_CLIENT],
      deviceCode: { autoApproveAfterPolls: 0, intervalSeconds: 0 },
    });
    agent = new https.Agent({ ca: tls.caPem, keepAlive: true });
  });

  afterAll(async () => {
    agent.destroy();
    await entra.close();
    network.restore();
  });

  afterEach(() => entra.clearFaults());

  const post = (path: string, fields: Record<string, string>) =>
    call(`${entra.url}${path}`, { method: 'POST', httpsAgent: agent, ...form(fields) });

  const redeemV1 = (refreshToken: string, extra: Record<string, string> = {}) =>
    post(`/${TENANT_ID}/oauth2/token`, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      resource: PARTNER_CENTER,
      client_id: APP_CLIENT.clientId,
      client_secret: APP_CLIENT.clientSecret,
      scope: 'openid',
      ...extra,
    });

  it('redeems a refresh token for an App+User Partner Center token and rotates the refresh token', async () => {
    const first = entra.issueRefreshToken('referrals-admin@partner.example');
    const response = await redeemV1(first);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, string>;
    expect(body).toMatchObject({ token_type: 'Bearer', resource: PARTNER_CENTER, expires_in: '3600' });
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(body.refresh_token).not.toBe(first);
    expect(body.id_token).toEqual(expect.any(String));
    const claims = claimsOf(body.access_token);
    expect(claims).toMatchObject({
      aud: PARTNER_CENTER,
      tid: TENANT_ID,
      upn: 'referrals-admin@partner.example',
      scp: 'user_impersonation',
      amr: ['pwd', 'mfa'],
      appid: APP_CLIENT.clientId,
      idtyp: 'user',
    });
    expect(claims.oid).toMatch(/^[0-9a-f-]{36}$/);
    const verified = verifyJwt(body.access_token, {
      keys: keysFromJwks(entra.verification.keys),
      audiences: [PARTNER_CENTER],
    });
    expect(verified.ok).toBe(true);

    const second = await redeemV1(body.refresh_token);
    expect(second.status).toBe(200);
  });

  it('revokes the whole family when a used refresh token is replayed (reuse detection)', async () => {
    const reuseBefore = entra.stats().reuseDetections;
    const rt1 = entra.issueRefreshToken();
    const rt2 = ((await (await redeemV1(rt1)).json()) as { refresh_token: string }).refresh_token;

    const replay = await redeemV1(rt1);
    expect(replay.status).toBe(400);
    const replayBody = (await replay.json()) as Record<string, unknown>;
    expect(replayBody).toMatchObject({ error: 'invalid_grant', error_codes: [70000] });
    expect(replayBody).toEqual(
      expect.objectContaining({
        error_description: expect.stringMatching(/^AADSTS70000: /),
        timestamp: expect.any(String),
        trace_id: expect.any(String),
        correlation_id: expect.any(String),
      }),
    );

    // The newest token of the family died with it.
    const afterRevocation = await redeemV1(rt2);
    expect(afterRevocation.status).toBe(400);
    expect(await afterRevocation.json()).toMatchObject({ error: 'invalid_grant', error_codes: [50173] });
    expect(entra.stats().reuseDetections).toBe(reuseBefore + 1);
  });

  it.each([
    ['an unknown refresh token', () => 'not-a-refresh-token', 9002313],
    [
      'a refresh token revoked through the API',
      () => {
        const token = entra.issueRefreshToken();
        entra.revokeRefreshToken(token);
        return token;
      },
      50173,
    ],
  ])('answers 400 invalid_grant for %s', async (_label, token, code) => {
    const response = await redeemV1(token());
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant', error_codes: [code] });
  });

  it('expires refresh tokens that were not redeemed within their lifetime (AADSTS700082)', async () => {
    let nowMs = Date.now();
    const tls = await createSandboxTls();
    const shortLived = await startEntra({
      tls,
      tenantId: TENANT_ID,
      clients: [APP_CLIENT],
      refreshTokenLifetimeSeconds: 60,
      nowMs: () => nowMs,
    });
    const localAgent = new https.Agent({ ca: tls.caPem });
    try {
      const token = shortLived.issueRefreshToken();
      nowMs += 61_000;
      const response = await call(`${shortLived.tokenUrl}`, {
        method: 'POST',
        httpsAgent: localAgent,
        ...form({
          grant_type: 'refresh_token',
          refresh_token: token,
          resource: PARTNER_CENTER,
          client_id: APP_CLIENT.clientId,
          client_secret: APP_CLIENT.clientSecret,
        }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_grant', error_codes: [700082] });
    } finally {
      localAgent.destroy();
      await shortLived.close();
    }
  });

  it.each([
    ['an unknown client', { client_id: 'nobody' }, 700016],
    ['a wrong secret', { client_secret: 'wrong' }, 7000215],
    ['no secret', { client_secret: '' }, 7000218],
  ])('answers 401 invalid_client for %s and leaves the refresh token usable', async (_label, extra, code) => {
    const token = entra.issueRefreshToken();
    const response = await redeemV1(token, extra);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client', error_codes: [code] });
    expect((await redeemV1(token)).status).toBe(200);
  });

  it('answers 400 for a missing parameter, an unsupported grant and an unknown tenant', async () => {
    const missing = await post(`/${TENANT_ID}/oauth2/token`, {
      grant_type: 'refresh_token',
      client_id: APP_CLIENT.clientId,
      client_secret: APP_CLIENT.clientSecret,
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'invalid_request', error_codes: [900144] });

    const password = await post(`/${TENANT_ID}/oauth2/token`, {
      grant_type: 'password',
      client_id: APP_CLIENT.clientId,
    });
    expect(await password.json()).toMatchObject({ error: 'unsupported_grant_type', error_codes: [70003] });

    const tenant = await post('/another-tenant/oauth2/token', { grant_type: 'client_credentials' });
    expect(tenant.status).toBe(400);
    expect(await tenant.json()).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
  });

  it('answers the v2 endpoint with numeric lifetimes and the audience taken from the scope', async () => {
    const response = await post(`/${TENANT_ID}/oauth2/v2.0/token`, {
      grant_type: 'refresh_token',
      refresh_token: entra.issueRefreshToken(),
      scope: `${PARTNER_CENTER}/.default offline_access openid`,
      client_id: APP_CLIENT.clientId,
      client_secret: APP_CLIENT.clientSecret,
      client_info: '1',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: expect.stringContaining(`${PARTNER_CENTER}/user_impersonation`),
    });
    expect(body.client_info).toEqual(expect.any(String));
    expect(claimsOf(String(body.access_token))).toMatchObject({
      aud: PARTNER_CENTER,
      ver: '2.0',
      azp: APP_CLIENT.clientId,
    });
  });

  it('issues app-only tokens for client credentials, and insists on /.default on v2', async () => {
    const v2 = await post(`/${TENANT_ID}/oauth2/v2.0/token`, {
      grant_type: 'client_credentials',
      scope: 'api://0.0.1/.default',
      client_id: APP_CLIENT.clientId,
      client_secret: APP_CLIENT.clientSecret,
    });
    expect(v2.status).toBe(200);
    const body = (await v2.json()) as Record<string, unknown>;
    expect(body.refresh_token).toBeUndefined();
    const claims = claimsOf(String(body.access_token));
    expect(claims).toMatchObject({ aud: 'api://0.0.1', idtyp: 'app' });
    expect(claims.scp).toBeUndefined();
    expect(claims.upn).toBeUndefined();

    const named = await post(`/${TENANT_ID}/oauth2/v2.0/token`, {
      grant_type: 'client_credentials',
      scope: `${PARTNER_CENTER}/user_impersonation`,
      client_id: APP_CLIENT.clientId,
      client_secret: APP_CLIENT.clientSecret,
    });
    expect(named.status).toBe(400);
    expect(await named.json()).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
  });

  it('runs the device code flow: pending until approved, then tokens and a new refresh token family', async () => {
    const start = await post(`/${TENANT_ID}/oauth2/v2.0/devicecode`, {
      client_id: APP_CLIENT.clientId,
      scope: `${PARTNER_CENTER}/.default offline_access`,
    });
    expect(start.status).toBe(200);
    const grant = (await start.json()) as {
      device_code: string;
      user_code: string;
      verification_uri: string;
      interval: number;
      expires_in: number;
    };
    expect(grant).toMatchObject({ verification_uri: `${entra.url}/devicelogin`, interval: 0, expires_in: 900 });

    const poll = () =>
      post(`/${TENANT_ID}/oauth2/v2.0/token`, {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: grant.device_code,
        client_id: APP_CLIENT.clientId,
      });
    const pending = await poll();
    expect(pending.status).toBe(400);
    expect(await pending.json()).toMatchObject({ error: 'authorization_pending', error_codes: [70016] });

    const approve = await call(`${entra.url}/_sandbox/device/approve`, {
      method: 'POST',
      httpsAgent: agent,
      body: JSON.stringify({ user_code: grant.user_code }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(await approve.json()).toEqual({ approved: 1 });

    const done = await poll();
    expect(done.status).toBe(200);
    const tokens = (await done.json()) as { access_token: string; refresh_token: string };
    expect(claimsOf(tokens.access_token)).toMatchObject({ aud: PARTNER_CENTER, amr: ['pwd', 'mfa'] });
    expect((await redeemV1(tokens.refresh_token)).status).toBe(200);

    const again = await poll();
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('approves device codes automatically after the configured number of polls', async () => {
    const tls = await createSandboxTls();
    const auto = await startEntra({
      tls,
      clients: [APP_CLIENT],
      deviceCode: { autoApproveAfterPolls: 2, intervalSeconds: 0 },
    });
    const localAgent = new https.Agent({ ca: tls.caPem });
    try {
      const start = await call(`${auto.url}/${auto.tenantId}/oauth2/v2.0/devicecode`, {
        method: 'POST',
        httpsAgent: localAgent,
        ...form({ client_id: APP_CLIENT.clientId, scope: `${PARTNER_CENTER}/.default` }),
      });
      const { device_code } = (await start.json()) as { device_code: string };
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await call(auto.tokenUrlV2, {
          method: 'POST',
          httpsAgent: localAgent,
          ...form({
            grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
            device_code,
            client_id: APP_CLIENT.clientId,
          }),
        });
        statuses.push(r.status);
      }
      expect(statuses).toEqual([400, 200]);
    } finally {
      localAgent.destroy();
      await auto.close();
    }
  });

  it('serves the OpenID configuration, instance discovery and the JWKS MSAL reads', async () => {
    const config = (await (
      await call(`${entra.url}/${TENANT_ID}/v2.0/.well-known/openid-configuration`, { httpsAgent: agent })
    ).json()) as Record<string, string>;
    expect(config).toMatchObject({
      token_endpoint: `${entra.url}/${TENANT_ID}/oauth2/v2.0/token`,
      issuer: `${entra.url}/${TENANT_ID}/v2.0`,
      jwks_uri: `${entra.url}/${TENANT_ID}/discovery/v2.0/keys`,
      device_authorization_endpoint: `${entra.url}/${TENANT_ID}/oauth2/v2.0/devicecode`,
    });
    for (const path of [`/${TENANT_ID}/discovery/v2.0/keys`, '/common/discovery/keys']) {
      const jwks = (await (await call(`${entra.url}${path}`, { httpsAgent: agent })).json()) as { keys: unknown[] };
      expect(jwks.keys).toEqual([entra.publicJwk]);
    }
    const instance = (await (
      await call(`${entra.url}/common/discovery/instance?api-version=1.1`, { httpsAgent: agent })
    ).json()) as Record<string, unknown>;
    expect(instance).toMatchObject({
      'api-version': '1.1',
      tenant_discovery_endpoint: expect.stringContaining('/.well-known/openid-configuration'),
    });
  });

  it('throttles with 429 and Retry-After when the rate-limit fault is on, and counts it', async () => {
    const before = entra.stats().faults.rateLimit;
    entra.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 7 }, seed: 3 });
    const response = await redeemV1(entra.issueRefreshToken());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90055] });
    expect(entra.stats().faults.rateLimit).toBe(before + 1);
  });

  it('answers 500/503 when the server-error fault is on', async () => {
    entra.setFaults({ serverErrors: { probability: 1, statuses: [503] } });
    const response = await redeemV1(entra.issueRefreshToken());
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: 'temporarily_unavailable', error_codes: [90033] });
  });

  it('drops the connection after rotating: the lost refresh token leaves a replay that revokes the family', async () => {
    const token = entra.issueRefreshToken();
    entra.setFaults({ commitThenDrop: { probability: 1 } });
    await expect(redeemV1(token)).rejects.toThrow(/socket hang up|ECONNRESET/);
    entra.clearFaults();
    const retry = await redeemV1(token);
    expect(retry.status).toBe(400);
    expect(await retry.json()).toMatchObject({ error: 'invalid_grant', error_codes: [70000] });
  });

  it('manages faults and refresh tokens through the loopback control surface', async () => {
    const json = { 'Content-Type': 'application/json' };
    const set = await call(`${entra.url}/_sandbox/faults`, {
      method: 'POST',
      httpsAgent: agent,
      headers: json,
      body: JSON.stringify({ latency: { minMs: 1, maxMs: 3 } }),
    });
    expect(set.status).toBe(200);
    expect(await (await call(`${entra.url}/_sandbox/faults`, { httpsAgent: agent })).json()).toEqual({
      latency: { minMs: 1, maxMs: 3 },
    });
    const invalid = await call(`${entra.url}/_sandbox/faults`, {
      method: 'POST',
      httpsAgent: agent,
      headers: json,
      body: JSON.stringify({ latency: { minMs: 5, maxMs: 1 } }),
    });
    expect(invalid.status).toBe(400);
    expect((await call(`${entra.url}/_sandbox/faults`, { method: 'DELETE', httpsAgent: agent })).status).toBe(204);

    const minted = (await (
      await call(`${entra.url}/_sandbox/refresh-tokens`, {
        method: 'POST',
        httpsAgent: agent,
        headers: json,
        body: JSON.stringify({ user: 'ops@partner.example' }),
      })
    ).json()) as { refresh_token: string; user: string };
    expect(minted.user).toBe('ops@partner.example');
    const revoked = await call(`${entra.url}/_sandbox/revoke`, {
      method: 'POST',
      httpsAgent: agent,
      headers: json,
      body: JSON.stringify({ refresh_token: minted.refresh_token }),
    });
    expect(await revoked.json()).toEqual({ revoked: true });
    expect((await redeemV1(minted.refresh_token)).status).toBe(400);

    const stats = (await (await call(`${entra.url}/_sandbox/stats`, { httpsAgent: agent })).json()) as Record<
      string,
      unknown
    >;
    expect(stats).toMatchObject({
      redemptions: { refresh_token: expect.any(Number), client_credentials: expect.any(Number) },
      failures: { invalid_grant: expect.any(Number) },
    });
    expect(network.attempted).toEqual([]);
  });
});
