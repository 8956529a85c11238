import { ReauthorizationRequiredError, TokenBroker, type BrokerHealth, type FetchLike } from '../../../shared/auth';
import { FakeClock, SECRET_NAMES, brokerOptions, startAuthStandIns, type AuthStandIns } from './helpers/authStandIns';

describe('Class: TokenBroker (reauthorization required)', () => {
  let standIns: AuthStandIns;

  beforeAll(async () => {
    standIns = await startAuthStandIns();
  });

  afterAll(async () => {
    await standIns.close();
  });

  /** A broker whose refresh token has just been revoked, after one successful redemption. */
  async function brokerWithRevokedToken(recheckIntervalMs = 30_000) {
    await standIns.storeRefreshToken(standIns.entra.issueRefreshToken());
    const clock = new FakeClock();
    const changes: BrokerHealth[] = [];
    const broker = new TokenBroker(
      brokerOptions(standIns, { clock, recheckIntervalMs, onStateChange: (h) => changes.push(h) }),
    );
    await broker.getAccessToken();
    standIns.entra.revokeRefreshToken(standIns.keyVault.secretValue(SECRET_NAMES.refreshToken) ?? '');
    clock.advanceSeconds(3600); // the cached token has expired
    return { broker, clock, changes };
  }

  it('raises ReauthorizationRequiredError on invalid_grant and reports it through health and onStateChange', async () => {
    // Prepare
    const { broker, changes } = await brokerWithRevokedToken();

    // Act
    const error = await broker.getAccessToken().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect(error).toMatchObject({ retryable: false, reason: 'invalid_grant' });
    expect(broker.health()).toMatchObject({
      state: 'reauthorization-required',
      lastError: expect.stringContaining('ReauthorizationRequiredError'),
    });
    expect(changes.map((h) => h.state)).toEqual(['ok', 'reauthorization-required']);
  });

  it('fails fast without calling the token endpoint or Key Vault while reauthorization is required', async () => {
    // Prepare
    const { broker, clock } = await brokerWithRevokedToken();
    const first = await broker.getAccessToken().catch((e: unknown) => e);
    const tokenCalls = standIns.entra.stats().requests.token;
    const reads = broker.stats().keyVaultReads;

    // Act
    clock.advanceSeconds(29);
    const later = await Promise.allSettled(
      Array.from({ length: 20 }, () => broker.getAccessToken({ forceRefresh: true })),
    );

    // Assess
    expect(later.every((r) => r.status === 'rejected' && r.reason === first)).toBe(true);
    expect(standIns.entra.stats().requests.token).toBe(tokenCalls);
    expect(broker.stats().keyVaultReads).toBe(reads);
  });

  it('re-reads the secret version at most once per recheck interval while no new token is stored', async () => {
    // Prepare
    const { broker, clock } = await brokerWithRevokedToken(30_000);
    await broker.getAccessToken().catch(() => undefined);
    const reads = broker.stats().keyVaultReads;

    // Act: 3 intervals pass, 10 concurrent calls after each
    for (let interval = 0; interval < 3; interval++) {
      clock.advanceSeconds(30);
      await Promise.allSettled(Array.from({ length: 10 }, () => broker.getAccessToken()));
    }

    // Assess
    expect(broker.stats().keyVaultReads - reads).toBe(3);
    expect(broker.health().state).toBe('reauthorization-required');
  });

  it('leaves the state and redeems once an operator stores a new refresh token version', async () => {
    // Prepare
    const { broker, clock, changes } = await brokerWithRevokedToken(30_000);
    await broker.getAccessToken().catch(() => undefined);

    // Act
    await standIns.storeRefreshToken(standIns.entra.issueRefreshToken());
    const beforeRecheck = await broker.getAccessToken().catch((e: unknown) => e);
    clock.advanceSeconds(30);
    const token = await broker.getAccessToken();

    // Assess
    expect(beforeRecheck).toBeInstanceOf(ReauthorizationRequiredError);
    expect(token.length).toBeGreaterThan(20);
    expect(broker.health().state).toBe('ok');
    expect(changes.map((h) => h.state)).toEqual(['ok', 'reauthorization-required', 'ok']);
  });

  it('retries once with the newer version when another rotator stored one while this redemption was refused', async () => {
    // Prepare: just before the first redemption, someone else stores a new token and the old family dies
    await standIns.storeRefreshToken(standIns.entra.issueRefreshToken());
    let raced = false;
    const fetch: FetchLike = async (url, init) => {
      if (!raced) {
        raced = true;
        standIns.entra.revokeRefreshToken(standIns.keyVault.secretValue(SECRET_NAMES.refreshToken) ?? '');
        await standIns.storeRefreshToken(standIns.entra.issueRefreshToken());
      }
      return standIns.fetch(url, init);
    };
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock(), fetch }));

    // Act
    const token = await broker.getAccessToken();

    // Assess
    expect(token.length).toBeGreaterThan(20);
    expect(broker.stats()).toMatchObject({ redemptions: 1, redemptionAttempts: 2 });
    expect(broker.health().state).toBe('ok');
  });

  it('asks for a sign-in when no refresh token is stored at all, and recovers when one appears', async () => {
    // Prepare
    const empty = await startAuthStandIns({ seedRefreshToken: false });
    try {
      const clock = new FakeClock();
      const broker = new TokenBroker(brokerOptions(empty, { clock, recheckIntervalMs: 1_000 }));

      // Act
      const error = await broker.getAccessToken().catch((e: unknown) => e);
      await empty.storeRefreshToken(empty.entra.issueRefreshToken());
      clock.advanceMs(1_000);
      const token = await broker.getAccessToken();

      // Assess
      expect(error).toMatchObject({ name: 'ReauthorizationRequiredError', reason: 'secretNotFound', retryable: false });
      expect(token.length).toBeGreaterThan(20);
    } finally {
      await empty.close();
    }
  });
});
