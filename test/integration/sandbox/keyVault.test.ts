/**
 * The Key Vault stand-in through the real clients: `@azure/keyvault-secrets` SecretClient with
 * `@azure/identity` credentials pointed at the Entra stand-in, over TLS trusted through the clients'
 * `tlsOptions: { ca }` (NODE_EXTRA_CA_CERTS is read only at process start; core-rest-pipeline builds its
 * own https agents, so `https.globalAgent.options.ca` would not reach it).
 */
import { RestError } from '@azure/core-rest-pipeline';
import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { SANDBOX_VAULT_RESOURCE } from '../../../sandbox/key-vault/server';
import { TENANT_ID, VAULT_CLIENT, call, guardNetwork, startStandIns, type StandIns } from './standIns';

const RT = 'partner-center-refresh-token';

describe('Key Vault stand-in', () => {
  let sandbox: StandIns;
  let network: ReturnType<typeof guardNetwork>;
  let client: SecretClient;
  const envBefore = { ...process.env };

  beforeAll(async () => {
    network = guardNetwork();
    sandbox = await startStandIns({
      keyVault: { secrets: { [RT]: 'rt-version-1', 'partner-center-client-id': 'app-id' } },
    });
    const tlsOptions = { ca: sandbox.tls.caPem };
    const credential = new ClientSecretCredential(TENANT_ID, VAULT_CLIENT.clientId, VAULT_CLIENT.clientSecret, {
      authorityHost: sandbox.entra.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions,
    });
    client = new SecretClient(sandbox.keyVault.url, credential, {
      tlsOptions,
      retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    });
  });

  afterAll(async () => {
    await sandbox.close();
    network.restore();
    process.env = envBefore;
  });

  afterEach(() => sandbox.keyVault.clearFaults());

  it('answers an unauthenticated call with the bearer challenge SecretClient understands', async () => {
    const response = await call(`${sandbox.keyVault.url}/secrets/${RT}?api-version=7.6`, { httpsAgent: sandbox.agent });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer authorization="${sandbox.entra.url}/${TENANT_ID}", resource="${SANDBOX_VAULT_RESOURCE}"`,
    );
    expect(await response.json()).toEqual({
      error: { code: 'Unauthorized', message: expect.stringContaining('AKV10000') },
    });
  });

  it('serves a seeded secret to SecretClient after the challenge, with the real response shape', async () => {
    const secret = await client.getSecret(RT);
    expect(secret.value).toBe('rt-version-1');
    expect(secret.properties).toMatchObject({
      name: RT,
      enabled: true,
      recoveryLevel: 'Recoverable+Purgeable',
      vaultUrl: sandbox.keyVault.url,
    });
    expect(secret.properties.id).toBe(`${sandbox.keyVault.url}/secrets/${RT}/${secret.properties.version}`);
    expect(secret.properties.createdOn).toBeInstanceOf(Date);
    const token = sandbox.entra.stats().redemptions.client_credentials;
    expect(token).toBeGreaterThanOrEqual(1);
  });

  it('adds a new version on set, serves the latest by default and any version by id, and lists versions page by page', async () => {
    const before = await client.getSecret(RT);
    const written = await client.setSecret(RT, 'rt-version-2', {
      contentType: 'text/plain',
      tags: { rotatedBy: 'test' },
    });
    expect(written.properties.version).not.toBe(before.properties.version);
    expect((await client.getSecret(RT)).value).toBe('rt-version-2');
    expect((await client.getSecret(RT, { version: before.properties.version })).value).toBe(before.value);
    for (let i = 3; i <= 30; i++) await client.setSecret(RT, `rt-version-${i}`);

    const versions: string[] = [];
    for await (const page of client.listPropertiesOfSecretVersions(RT).byPage({ maxPageSize: 10 })) {
      expect(page.length).toBeLessThanOrEqual(10);
      for (const p of page) versions.push(p.version ?? '');
    }
    expect(versions).toHaveLength(30);
    expect(new Set(versions).size).toBe(30);

    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    expect(names.sort()).toEqual(['partner-center-client-id', RT]);
    expect(sandbox.keyVault.secretValue(RT)).toBe('rt-version-30');
  });

  it('answers 404 SecretNotFound for a missing secret or version', async () => {
    const error = await client.getSecret('no-such-secret').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestError);
    expect(error).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
    const badVersion = await client.getSecret(RT, { version: '0'.repeat(32) }).catch((e: unknown) => e);
    expect(badVersion).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('deletes softly: the deleted secret is readable as deleted, its name is taken until purged', async () => {
    await client.setSecret('to-delete', 'x');
    const poller = await client.beginDeleteSecret('to-delete', { intervalInMs: 10 });
    const deleted = await poller.pollUntilDone();
    expect(deleted.properties.recoveryId).toContain('/deletedsecrets/to-delete');
    await expect(client.setSecret('to-delete', 'y')).rejects.toMatchObject({ statusCode: 409 });
    await client.purgeDeletedSecret('to-delete');
    expect((await client.setSecret('to-delete', 'y')).value).toBe('y');
  });

  it('counts reads and writes by secret name', async () => {
    const before = sandbox.keyVault.stats();
    await client.getSecret('partner-center-client-id');
    await client.setSecret('counted', 'v');
    const after = sandbox.keyVault.stats();
    expect(after.reads['partner-center-client-id']).toBe((before.reads['partner-center-client-id'] ?? 0) + 1);
    expect(after.writes.counted).toBe(1);
    expect(after.unauthorized).toBeGreaterThanOrEqual(1);
  });

  it('throttles with 429 + Retry-After, which SecretClient retries through', async () => {
    const before = sandbox.keyVault.stats().faults.rateLimit;
    sandbox.keyVault.setFaults({ rateLimit: { probability: 0.5, retryAfterSeconds: 0 }, seed: 7 });
    for (let i = 0; i < 6; i++) expect((await client.getSecret(RT)).value).toEqual(expect.any(String));
    expect(sandbox.keyVault.stats().faults.rateLimit).toBeGreaterThan(before);

    sandbox.keyVault.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 4 } });
    const raw = await call(`${sandbox.keyVault.url}/secrets/${RT}?api-version=7.6`, {
      httpsAgent: sandbox.agent,
      headers: {
        Authorization: `Bearer ${sandbox.entra.issueAccessToken({ audience: SANDBOX_VAULT_RESOURCE, user: null })}`,
      },
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('4');
    expect(await raw.json()).toMatchObject({ error: { code: 'Throttled' } });
  });

  it('answers 503 ServiceUnavailable when the server-error fault is on', async () => {
    sandbox.keyVault.setFaults({ serverErrors: { probability: 1, statuses: [503] } });
    const raw = await call(`${sandbox.keyVault.url}/secrets/${RT}?api-version=7.6`, {
      httpsAgent: sandbox.agent,
      headers: {
        Authorization: `Bearer ${sandbox.entra.issueAccessToken({ audience: SANDBOX_VAULT_RESOURCE, user: null })}`,
      },
    });
    expect(raw.status).toBe(503);
    expect(await raw.json()).toMatchObject({ error: { code: 'ServiceUnavailable' } });
  });

  it('refuses tokens for another audience, expired tokens and tokens of another tenant', async () => {
    const url = `${sandbox.keyVault.url}/secrets/${RT}?api-version=7.6`;
    const tokens = [
      sandbox.entra.issueAccessToken({ audience: 'https://api.partner.microsoft.com', user: null }),
      sandbox.entra.issueAccessToken({ audience: SANDBOX_VAULT_RESOURCE, user: null, lifetimeSeconds: -10 }),
      sandbox.entra.issueAccessToken({
        audience: SANDBOX_VAULT_RESOURCE,
        user: null,
        claims: { tid: 'another-tenant' },
      }),
    ];
    for (const token of tokens) {
      const response = await call(url, { httpsAgent: sandbox.agent, headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer authorization=');
    }
  });

  it('is refused by a client that does not trust the sandbox CA', async () => {
    const credential = new ClientSecretCredential(TENANT_ID, VAULT_CLIENT.clientId, VAULT_CLIENT.clientSecret, {
      authorityHost: sandbox.entra.authorityHost,
      disableInstanceDiscovery: true,
      tlsOptions: { ca: sandbox.tls.caPem },
    });
    const untrusting = new SecretClient(sandbox.keyVault.url, credential, { retryOptions: { maxRetries: 0 } });
    await expect(untrusting.getSecret(RT)).rejects.toThrow(/certificate/i);
  });

  it('works for DefaultAzureCredential from AZURE_* env vars when instance discovery is disabled', async () => {
    Object.assign(process.env, {
      AZURE_TENANT_ID: TENANT_ID,
      AZURE_CLIENT_ID: VAULT_CLIENT.clientId,
      AZURE_CLIENT_SECRET: VAULT_CLIENT.clientSecret,
      AZURE_AUTHORITY_HOST: sandbox.entra.authorityHost,
    });
    const tlsOptions = { ca: sandbox.tls.caPem };
    const credential = new DefaultAzureCredential({ disableInstanceDiscovery: true, tlsOptions });
    const dac = new SecretClient(sandbox.keyVault.url, credential, { tlsOptions });
    expect((await dac.getSecret('partner-center-client-id')).value).toBe('app-id');
    expect(network.attempted).toEqual([]);
  });

  it('shows why the option is needed: a plain DefaultAzureCredential asks login.microsoftonline.com first', async () => {
    const tlsOptions = { ca: sandbox.tls.caPem };
    const plain = new SecretClient(
      sandbox.keyVault.url,
      new DefaultAzureCredential({ tlsOptions, retryOptions: { maxRetries: 0 } }),
      {
        tlsOptions,
        retryOptions: { maxRetries: 0 },
      },
    );
    await expect(plain.getSecret('partner-center-client-id')).rejects.toThrow(
      /endpoints_resolution_error|EnvironmentCredential/,
    );
    expect(network.attempted).toContain('login.microsoftonline.com');
    network.attempted.length = 0;
  });
});
