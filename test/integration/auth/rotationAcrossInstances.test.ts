import { TableClient } from '@azure/data-tables';
import { type SecretClient } from '@azure/keyvault-secrets';
import { startAzurite, type RunningAzurite } from '../../../sandbox/azurite';
import { TOKEN_LEASE_KEYS, TokenBroker } from '../../../shared/auth';
import { realSleep } from '../../../shared/auth/retry';
import {
  FakeClock,
  SECRET_NAMES,
  brokerOptions,
  startAuthStandIns,
  type AuthStandIns,
} from '../../unit/auth/helpers/authStandIns';

/** Versions of the refresh token secret Key Vault holds, oldest first. */
async function refreshTokenVersions(secretClient: SecretClient): Promise<number> {
  let count = 0;
  for await (const _version of secretClient.listPropertiesOfSecretVersions(SECRET_NAMES.refreshToken)) count++;
  return count;
}

describe('Token broker against Key Vault, Entra and Azurite', () => {
  let azurite: RunningAzurite;
  let standIns: AuthStandIns;
  let table: TableClient;

  beforeAll(async () => {
    azurite = await startAzurite({ inMemory: true });
    table = TableClient.fromConnectionString(azurite.connectionString, 'referrals', { allowInsecureConnection: true });
    standIns = await startAuthStandIns({ accessTokenLifetimeSeconds: 120 });
  });

  afterAll(async () => {
    await standIns?.close();
    await azurite?.stop();
  });

  /** One app instance: its own Key Vault and table clients, the shared clock (NTP), a 30 s expiry margin. */
  function instanceBroker(
    clock: FakeClock,
    instanceId: string,
    extra: Partial<Parameters<typeof brokerOptions>[1]> = {},
  ): TokenBroker {
    return new TokenBroker(
      brokerOptions(standIns, {
        clock,
        instanceId,
        secretClient: standIns.createSecretClient(),
        leaseTable: TableClient.fromConnectionString(azurite.connectionString, 'referrals', {
          allowInsecureConnection: true,
        }),
        expiryMarginSeconds: 30,
        leasePollIntervalMs: 20,
        sleep: realSleep,
        ...extra,
      }),
    );
  }

  it('stores every rotated refresh token as a new Key Vault version before handing out the access token', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock(), leaseTable: table }));
    const versionsBefore = await refreshTokenVersions(standIns.secretClient);

    // Act: three redemptions
    let token = await broker.getAccessToken();
    const valuesSeen = [standIns.keyVault.secretValue(SECRET_NAMES.refreshToken)];
    for (let i = 0; i < 2; i++) {
      token = await broker.getAccessToken({ forceRefresh: true, rejectedToken: token });
      valuesSeen.push(standIns.keyVault.secretValue(SECRET_NAMES.refreshToken));
    }

    // Assess
    expect(broker.stats().redemptions).toBe(3);
    expect((await refreshTokenVersions(standIns.secretClient)) - versionsBefore).toBe(3);
    expect(new Set(valuesSeen).size).toBe(3);
    const latest = await standIns.secretClient.getSecret(SECRET_NAMES.refreshToken);
    expect(latest.properties.tags).toEqual({ rotatedFrom: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('keeps the lease row to an owner and an end time, released after each redemption', async () => {
    // Prepare
    const broker = new TokenBroker(
      brokerOptions(standIns, { clock: new FakeClock(), leaseTable: table, instanceId: 'instance-under-test' }),
    );

    // Act
    await broker.getAccessToken();
    const row = await table.getEntity<Record<string, unknown>>(TOKEN_LEASE_KEYS.partitionKey, TOKEN_LEASE_KEYS.rowKey);

    // Assess
    const {
      etag: _etag,
      timestamp: _timestamp,
      'odata.metadata': _metadata,
      ...columns
    } = row as Record<string, unknown>;
    expect(columns).toEqual({
      partitionKey: '$lease',
      rowKey: 'partner-center-token',
      ownerId: 'instance-under-test',
      leaseUntilEpochMs: 0,
    });
  });

  it('never lets two instances sharing one vault and one table redeem the same refresh token', async () => {
    // Prepare: two instances (their own Key Vault clients), one clock (NTP), 120 s tokens, 30 s margin
    const clock = new FakeClock();
    const instances = ['a', 'b'].map((instanceId) => instanceBroker(clock, instanceId));
    const entraBefore = standIns.entra.stats();
    const versionsBefore = await refreshTokenVersions(standIns.secretClient);
    const last = new Map<TokenBroker, string>();

    // Act: 6 rounds; odd rounds let the tokens expire, even rounds force refreshes after a "401"; 10 callers per instance
    for (let round = 1; round <= 6; round++) {
      if (round % 2 === 1) clock.advanceSeconds(121);
      const calls = instances.flatMap((broker) =>
        Array.from({ length: 10 }, () =>
          broker.getAccessToken(round % 2 === 0 ? { forceRefresh: true, rejectedToken: last.get(broker) } : {}),
        ),
      );
      const tokens = await Promise.all(calls);
      instances.forEach((broker, i) => last.set(broker, tokens[i * 10]));
    }

    // Assess
    const entra = standIns.entra.stats();
    const redemptions = instances.reduce((sum, b) => sum + b.stats().redemptions, 0);
    expect(entra.reuseDetections - entraBefore.reuseDetections).toBe(0);
    expect(entra.failures.invalid_grant ?? 0).toBe(entraBefore.failures.invalid_grant ?? 0);
    expect(instances.map((b) => b.stats().redemptions)).toEqual([6, 6]);
    expect(entra.redemptions.refresh_token - entraBefore.redemptions.refresh_token).toBe(redemptions);
    expect((await refreshTokenVersions(standIns.secretClient)) - versionsBefore).toBe(redemptions);
    expect(instances.every((b) => b.health().state === 'ok')).toBe(true);
  });

  it('redeems once per token lifetime across three instances sharing the access token through Key Vault', async () => {
    // Prepare: three instances (own Key Vault clients and table clients), one clock, 120 s tokens, 30 s margin
    const clock = new FakeClock();
    const instances = ['a', 'b', 'c'].map((instanceId) =>
      instanceBroker(clock, instanceId, { sharedAccessTokenSecretName: 'partner-center-access-token' }),
    );
    const entraBefore = standIns.entra.stats();
    const versionsBefore = await refreshTokenVersions(standIns.secretClient);

    // Act: 4 lifetimes, 10 callers per instance each
    for (let lifetime = 0; lifetime < 4; lifetime++) {
      if (lifetime > 0) clock.advanceSeconds(121);
      const tokens = await Promise.all(
        instances.flatMap((broker) => Array.from({ length: 10 }, () => broker.getAccessToken())),
      );
      expect(new Set(tokens).size).toBe(1);
    }

    // Assess
    const entra = standIns.entra.stats();
    expect(entra.redemptions.refresh_token - entraBefore.redemptions.refresh_token).toBe(4);
    expect(entra.reuseDetections - entraBefore.reuseDetections).toBe(0);
    expect((await refreshTokenVersions(standIns.secretClient)) - versionsBefore).toBe(4);
    expect(instances.reduce((sum, b) => sum + b.stats().sharedTokenHits, 0)).toBe(8);
    expect(instances.every((b) => b.health().state === 'ok')).toBe(true);
  });
});
