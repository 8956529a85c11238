import { TokenBroker } from '../../../shared/auth';
import {
  FakeClock,
  InMemoryLeaseTable,
  brokerOptions,
  capturingLogger,
  startAuthStandIns,
  type AuthStandIns,
} from './helpers/authStandIns';

const SHARED_SECRET = 'partner-center-access-token';

describe('Class: TokenBroker (one access token shared through Key Vault)', () => {
  let standIns: AuthStandIns;

  beforeAll(async () => {
    standIns = await startAuthStandIns({ accessTokenLifetimeSeconds: 3600, tagClientId: true });
  });

  afterAll(async () => {
    await standIns.close();
  });

  /** `count` instances on one clock, one lease table and one vault (each with its own Key Vault client). */
  function instances(count: number, options: { sharing?: boolean; clock?: FakeClock } = {}) {
    const clock = options.clock ?? new FakeClock();
    const leaseTable = new InMemoryLeaseTable();
    const brokers = Array.from({ length: count }, (_, i) => {
      const log = capturingLogger();
      const broker = new TokenBroker(
        brokerOptions(standIns, {
          clock,
          leaseTable,
          instanceId: `instance-${i}`,
          secretClient: standIns.createSecretClient(),
          logger: log.logger,
          expiryMarginSeconds: 300,
          ...(options.sharing === false ? {} : { sharedAccessTokenSecretName: SHARED_SECRET }),
        }),
      );
      return { broker, lines: log.lines };
    });
    return { clock, leaseTable, brokers: brokers.map((b) => b.broker), logs: () => brokers.flatMap((b) => b.lines) };
  }

  const redemptionsAt = () => standIns.entra.stats().redemptions.refresh_token ?? 0;

  it('redeems once for three cold instances; the others read the token the first one stored', async () => {
    // Prepare
    const { brokers } = instances(3);
    const before = redemptionsAt();

    // Act: one after the other, as instances start
    const tokens = [];
    for (const broker of brokers) tokens.push(await broker.getAccessToken());

    // Assess
    expect(redemptionsAt() - before).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(brokers.map((b) => b.stats().redemptions)).toEqual([1, 0, 0]);
    expect(brokers[0].stats()).toMatchObject({ keyVaultReads: 2, keyVaultWrites: 2 }); // client secret, refresh token; rotated RT, shared AT
    expect(brokers.slice(1).map((b) => b.stats())).toEqual([
      expect.objectContaining({ sharedTokenHits: 1, keyVaultReads: 1, keyVaultWrites: 0, leaseClaims: 0 }),
      expect.objectContaining({ sharedTokenHits: 1, keyVaultReads: 1, keyVaultWrites: 0, leaseClaims: 0 }),
    ]);
    const stored = await standIns.secretClient.getSecret(SHARED_SECRET);
    expect(stored.value).toBe(tokens[0]);
    expect(stored.properties.expiresOn).toBeInstanceOf(Date);
  });

  it('redeems once per token lifetime across three instances renewing at the same time', async () => {
    // Prepare
    const { clock, brokers } = instances(3);
    await Promise.all(brokers.map((b) => b.getAccessToken()));
    const before = redemptionsAt();

    // Act: three lifetimes, ten callers per instance each time
    for (let lifetime = 0; lifetime < 3; lifetime++) {
      clock.advanceSeconds(3600 - 300);
      const tokens = await Promise.all(brokers.flatMap((b) => Array.from({ length: 10 }, () => b.getAccessToken())));
      expect(new Set(tokens).size).toBe(1);
    }

    // Assess
    expect(redemptionsAt() - before).toBe(3);
    expect(standIns.entra.stats().reuseDetections).toBe(0);
  });

  it('never takes the token Partner Center refused from Key Vault: one instance redeems, the others take its token', async () => {
    // Prepare
    const { brokers } = instances(3);
    const refused = await brokers[0].getAccessToken();
    await Promise.all(brokers.slice(1).map((b) => b.getAccessToken()));
    const before = redemptionsAt();

    // Act: every instance got a 401 for the same shared token
    const fresh = [];
    for (const broker of brokers)
      fresh.push(await broker.getAccessToken({ forceRefresh: true, rejectedToken: refused }));

    // Assess
    expect(redemptionsAt() - before).toBe(1);
    expect(fresh.every((token) => token !== refused)).toBe(true);
    expect(new Set(fresh).size).toBe(1);
  });

  it('costs a lone instance no Key Vault read for the shared token: the lease row says none is fresh', async () => {
    // Prepare
    const { clock, brokers } = instances(1);
    await brokers[0].getAccessToken();
    const before = brokers[0].stats();

    // Act: the next lifetime
    clock.advanceSeconds(3600 - 300);
    await brokers[0].getAccessToken();

    // Assess: the refresh token only (as without sharing), plus the shared token's write
    const after = brokers[0].stats();
    expect(after.keyVaultReads - before.keyVaultReads).toBe(1);
    expect(after.keyVaultWrites - before.keyVaultWrites).toBe(2);
    expect(after.redemptions - before.redemptions).toBe(1);
  });

  it('redeems per instance when sharing is off (TOKEN_SHARING=off)', async () => {
    // Prepare
    const { brokers } = instances(3, { sharing: false });
    const before = redemptionsAt();

    // Act
    for (const broker of brokers) await broker.getAccessToken();

    // Assess
    expect(redemptionsAt() - before).toBe(3);
    expect(brokers.every((b) => b.stats().sharedTokenHits === 0)).toBe(true);
  });

  it('redeems its own token when Key Vault holds an expiring shared one', async () => {
    // Prepare: instance 0 stores a token, then time passes to its renewal point
    const { clock, brokers } = instances(2);
    const old = await brokers[0].getAccessToken();
    clock.advanceSeconds(3600 - 300);
    const before = redemptionsAt();

    // Act
    const renewed = await brokers[1].getAccessToken();

    // Assess
    expect(redemptionsAt() - before).toBe(1);
    expect(renewed).not.toBe(old);
    expect((await standIns.secretClient.getSecret(SHARED_SECRET)).value).toBe(renewed);
  });

  it('never writes the access token into the lease table or a log line', async () => {
    // Prepare
    const { brokers, leaseTable, logs } = instances(2);

    // Act
    const token = await brokers[0].getAccessToken();
    await brokers[1].getAccessToken();

    // Assess
    const written = JSON.stringify([...leaseTable.rows.values(), leaseTable.writes]);
    expect(written).not.toContain(token);
    expect(JSON.stringify(logs())).not.toContain(token);
    expect(JSON.stringify(logs())).toContain('Access token taken from Key Vault');
  });
});
