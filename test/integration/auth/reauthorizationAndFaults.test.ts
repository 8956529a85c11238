import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../sandbox/azurite';
import {
  ReauthorizationRequiredError,
  TokenBroker,
  createTokenBrokerFromSettings,
  type BrokerHealth,
} from '../../../shared/auth';
import { realSleep } from '../../../shared/auth/retry';
import { loadSettings } from '../../../shared/platform/config';
import { authConsentCommand } from '../../../scripts/auth-consent';
import {
  FakeClock,
  SECRET_NAMES,
  brokerOptions,
  capturingLogger,
  startAuthStandIns,
  type AuthStandIns,
} from '../../unit/auth/helpers/authStandIns';

/** Puts `process.env` back as it was (keys added since are removed). */
function restoreEnv(saved: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
}

describe('Token broker: reauthorization, faults and the factory (stand-ins + Azurite)', () => {
  let azurite: RunningAzurite;
  let standIns: AuthStandIns;
  const leaseTable = () =>
    TableClient.fromConnectionString(azurite.connectionString, 'referrals', { allowInsecureConnection: true });

  beforeAll(async () => {
    azurite = await startAzurite({ inMemory: true });
    standIns = await startAuthStandIns();
  });

  afterAll(async () => {
    await standIns?.close();
    await azurite?.stop();
  });

  afterEach(() => {
    standIns.entra.clearFaults();
    standIns.keyVault.clearFaults();
  });

  it('parks on a revoked refresh token and resumes after auth:consent stores a new one', async () => {
    // Prepare
    const clock = new FakeClock();
    const states: BrokerHealth['state'][] = [];
    const broker = new TokenBroker(
      brokerOptions(standIns, {
        clock,
        leaseTable: leaseTable(),
        recheckIntervalMs: 30_000,
        onStateChange: (h) => states.push(h.state),
      }),
    );
    const token = await broker.getAccessToken();
    standIns.entra.revokeAll();

    // Act
    const parked = await broker.getAccessToken({ forceRefresh: true, rejectedToken: token }).catch((e: unknown) => e);
    const printed: string[] = [];
    const code = await authConsentCommand({
      argv: [],
      env: {
        ENTRA_AUTHORITY_HOST: standIns.entra.authorityHost,
        ENTRA_TENANT_ID: standIns.entra.tenantId,
        KEY_VAULT_URL: standIns.keyVault.url,
      },
      cwd: mkdtempSync(path.join(tmpdir(), 'consent-')),
      credential: standIns.credential,
      httpsAgent: standIns.agent,
      print: (line) => printed.push(line),
      printError: (line) => printed.push(line),
      fetch: standIns.fetch,
      sleep: async () => undefined,
    });
    clock.advanceSeconds(30);
    const resumed = await broker.getAccessToken();

    // Assess
    expect(parked).toBeInstanceOf(ReauthorizationRequiredError);
    expect(code).toBe(0);
    expect(printed.join('\n')).toMatch(/enter the code [A-Z0-9]+/);
    expect(printed.join('\n')).not.toContain(standIns.keyVault.secretValue(SECRET_NAMES.refreshToken));
    expect(resumed).toEqual(expect.any(String));
    expect(states).toEqual(['ok', 'reauthorization-required', 'ok']);
  });

  it('rides out 429s and 503s from Key Vault and the token endpoint without ever replaying a refresh token', async () => {
    // Prepare: each instance's Key Vault client has its identity token (faults on the token endpoint
    // would otherwise also hit the credential, whose own retries wait seconds); then a quarter of Key
    // Vault and token endpoint calls fail (429 with Retry-After 0, or 503)
    await standIns.storeRefreshToken(standIns.entra.issueRefreshToken());
    const clients = [standIns.createSecretClient(), standIns.createSecretClient()];
    await Promise.all(clients.map((client) => client.getSecret(SECRET_NAMES.clientId)));
    const before = { entra: standIns.entra.stats(), keyVault: standIns.keyVault.stats() };
    standIns.keyVault.setFaults({
      seed: 7,
      rateLimit: { probability: 0.15, retryAfterSeconds: 0 },
      serverErrors: { probability: 0.15, statuses: [503] },
    });
    standIns.entra.setFaults({
      seed: 11,
      rateLimit: { probability: 0.15, retryAfterSeconds: 0, operations: ['token'] },
      serverErrors: { probability: 0.15, statuses: [503], operations: ['token'] },
    });
    const clock = new FakeClock();
    const requestedDelaysMs: number[] = [];
    const shortSleep = (delayMs: number) => {
      requestedDelaysMs.push(delayMs);
      return realSleep(Math.min(delayMs, 20)); // Retry-After is checked in the unit tests; here only the order of events matters
    };
    const brokers = clients.map(
      (secretClient, i) =>
        new TokenBroker(
          brokerOptions(standIns, {
            clock,
            instanceId: `instance-${i}`,
            secretClient,
            leaseTable: leaseTable(),
            leasePollIntervalMs: 20,
            sleep: shortSleep,
            retry: { maxAttempts: 10, baseDelayMs: 5, maxDelayMs: 20 },
          }),
        ),
    );

    // Act: 5 rounds of forced refreshes on both instances at once
    const outcomes: PromiseSettledResult<string>[] = [];
    for (let round = 0; round < 5; round++) {
      outcomes.push(
        ...(await Promise.allSettled(
          brokers.flatMap((b) => [b.getAccessToken({ forceRefresh: true }), b.getAccessToken()]),
        )),
      );
    }

    // Assess
    const entra = standIns.entra.stats();
    const keyVault = standIns.keyVault.stats();
    const injected = (faults: Record<string, number>, earlier: Record<string, number>) =>
      faults.rateLimit - earlier.rateLimit + (faults.status503 - earlier.status503);
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(requestedDelaysMs.length).toBeGreaterThan(0);
    expect(injected(keyVault.faults, before.keyVault.faults)).toBeGreaterThan(0);
    expect(injected(entra.faults, before.entra.faults)).toBeGreaterThan(0);
    expect(entra.reuseDetections - before.entra.reuseDetections).toBe(0);
    expect((entra.failures.invalid_grant ?? 0) - (before.entra.failures.invalid_grant ?? 0)).toBe(0);
  });

  it('builds a working broker from settings, with its lease in the referrals table of AzureWebJobsStorage', async () => {
    // Prepare
    const settings = loadSettings({
      AzureWebJobsStorage: azurite.connectionString,
      ENTRA_AUTHORITY_HOST: standIns.entra.authorityHost,
      ENTRA_TENANT_ID: standIns.entra.tenantId,
      KEY_VAULT_URL: standIns.keyVault.url,
      TOKEN_EXPIRY_MARGIN_SECONDS: '120',
    });
    const { logger, lines } = capturingLogger();

    // Act
    const broker = createTokenBrokerFromSettings(settings, {
      httpsAgent: standIns.agent,
      logger,
      credential: standIns.credential,
    });
    const token = await broker.getAccessToken();
    const row = await leaseTable().getEntity<{ ownerId: string; leaseUntilEpochMs: number }>(
      '$lease',
      'partner-center-token',
    );

    // Assess
    expect(token).toEqual(expect.any(String));
    expect(broker.health().state).toBe('ok');
    expect(row.leaseUntilEpochMs).toBe(0);
    expect(lines.some((l) => l.record.message.includes('rotated refresh token stored'))).toBe(true);
  });

  it('builds DefaultAzureCredential from AZURE_* settings and reaches the sandbox without instance discovery', async () => {
    // Prepare: what the sandbox gives the app process (EnvironmentCredential), restored afterwards
    const saved = { ...process.env };
    Object.assign(process.env, {
      AZURE_TENANT_ID: standIns.entra.tenantId,
      AZURE_CLIENT_ID: standIns.identity.clientId,
      AZURE_CLIENT_SECRET: standIns.identity.clientSecret,
      AZURE_AUTHORITY_HOST: standIns.entra.authorityHost,
    });
    try {
      const settings = loadSettings({
        AzureWebJobsStorage: azurite.connectionString,
        ENTRA_AUTHORITY_HOST: standIns.entra.authorityHost,
        ENTRA_TENANT_ID: standIns.entra.tenantId,
        KEY_VAULT_URL: standIns.keyVault.url,
        AZURE_DISABLE_INSTANCE_DISCOVERY: 'true', // as the sandbox sets it
      });

      // Act
      const broker = createTokenBrokerFromSettings(settings, {
        httpsAgent: standIns.agent,
        tableClient: leaseTable(),
        logger: capturingLogger().logger,
      });
      const token = await broker.getAccessToken();

      // Assess
      expect(token).toEqual(expect.any(String));
    } finally {
      restoreEnv(saved);
    }
  });

  it('runs auth:consent from a local.settings.json alone: its AZURE_* identity and its CA file', async () => {
    // Prepare: a settings file as the sandbox would leave it, and no environment
    const dir = mkdtempSync(path.join(tmpdir(), 'consent-settings-'));
    writeFileSync(path.join(dir, 'sandbox-ca.pem'), standIns.tls.caPem);
    const file = path.join(dir, 'local.settings.json');
    writeFileSync(
      file,
      JSON.stringify({
        IsEncrypted: false,
        Values: {
          ENTRA_AUTHORITY_HOST: standIns.entra.authorityHost,
          ENTRA_TENANT_ID: standIns.entra.tenantId,
          KEY_VAULT_URL: standIns.keyVault.url,
          AZURE_TENANT_ID: standIns.entra.tenantId,
          AZURE_CLIENT_ID: standIns.identity.clientId,
          AZURE_CLIENT_SECRET: standIns.identity.clientSecret,
          AZURE_AUTHORITY_HOST: standIns.entra.authorityHost,
          AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
          NODE_EXTRA_CA_CERTS: 'sandbox-ca.pem',
        },
      }),
    );
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) if (name.startsWith('AZURE_')) delete process.env[name];
    const versionBefore = (await standIns.secretClient.getSecret(SECRET_NAMES.refreshToken)).properties.version;
    const printed: string[] = [];
    try {
      // Act
      const code = await authConsentCommand({
        argv: ['--settings', file],
        env: {},
        cwd: dir,
        print: (line) => printed.push(line),
        printError: (line) => printed.push(line),
        sleep: async () => undefined,
      });

      // Assess
      const latest = await standIns.secretClient.getSecret(SECRET_NAMES.refreshToken);
      expect({ code, output: printed.join('\n') }).toMatchObject({
        code: 0,
        output: expect.stringContaining(`as version ${latest.properties.version}`),
      });
      expect(latest.properties.version).not.toBe(versionBefore);
      expect(latest.properties.tags).toEqual({ storedBy: 'auth-consent' });
      expect(printed.join('\n')).not.toContain(latest.value);
    } finally {
      restoreEnv(saved);
    }
  });
});
