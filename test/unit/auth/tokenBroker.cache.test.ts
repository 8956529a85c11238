import { TokenBroker, TokenEndpointError } from '../../../shared/auth';
import type { FetchLike } from '../../../shared/auth';
import { FakeClock, brokerOptions, startAuthStandIns, type AuthStandIns } from './helpers/authStandIns';

describe('Class: TokenBroker (cache and single flight)', () => {
  let standIns: AuthStandIns;

  beforeAll(async () => {
    standIns = await startAuthStandIns({ accessTokenLifetimeSeconds: 3600 });
  });

  afterAll(async () => {
    await standIns.close();
  });

  afterEach(() => {
    standIns.entra.clearFaults();
    standIns.keyVault.clearFaults();
  });

  it('answers repeated calls from the cache after one redemption', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));

    // Act
    const first = await broker.getAccessToken();
    const again = await Promise.all(Array.from({ length: 50 }, () => broker.getAccessToken()));

    // Assess
    expect(again.every((token) => token === first)).toBe(true);
    expect(broker.stats()).toMatchObject({ redemptions: 1, cacheHits: 50 });
    expect(broker.health().state).toBe('ok');
  });

  it.each([
    { case: 'one second before the margin', advanceSeconds: 3600 - 300 - 1, redemptions: 1 },
    { case: 'exactly at the margin', advanceSeconds: 3600 - 300, redemptions: 2 },
    { case: 'after expiry', advanceSeconds: 3600 + 5, redemptions: 2 },
  ])('renews the token only once the expiry margin is reached ($case)', async ({ advanceSeconds, redemptions }) => {
    // Prepare
    const clock = new FakeClock();
    const broker = new TokenBroker(brokerOptions(standIns, { clock, expiryMarginSeconds: 300 }));
    const first = await broker.getAccessToken();

    // Act
    clock.advanceSeconds(advanceSeconds);
    const second = await broker.getAccessToken();

    // Assess
    expect(broker.stats().redemptions).toBe(redemptions);
    expect(second === first).toBe(redemptions === 1);
  });

  it('caps the margin at half the lifetime, so a short-lived token is still reused', async () => {
    // Prepare: 60 s tokens with the default 300 s margin
    const shortLived = await startAuthStandIns({ accessTokenLifetimeSeconds: 60 });
    try {
      const clock = new FakeClock();
      const broker = new TokenBroker(brokerOptions(shortLived, { clock, expiryMarginSeconds: 300 }));
      const first = await broker.getAccessToken();

      // Act
      clock.advanceSeconds(29);
      const beforeHalf = await broker.getAccessToken();
      clock.advanceSeconds(1);
      const atHalf = await broker.getAccessToken();

      // Assess
      expect(beforeHalf).toBe(first);
      expect(atHalf).not.toBe(first);
      expect(broker.stats().redemptions).toBe(2);
    } finally {
      await shortLived.close();
    }
  });

  it('shares one redemption among 100 concurrent callers (single flight)', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));
    const before = standIns.entra.stats().redemptions.refresh_token;

    // Act
    const tokens = await Promise.all(Array.from({ length: 100 }, () => broker.getAccessToken()));

    // Assess
    expect(new Set(tokens).size).toBe(1);
    expect(standIns.entra.stats().redemptions.refresh_token - before).toBe(1);
    expect(broker.stats()).toMatchObject({ redemptions: 1, sharedRefreshes: 99, keyVaultReads: 3, keyVaultWrites: 1 });
  });

  it('reads two secrets, not three, when the client secret carries the client id as a tag', async () => {
    // Prepare
    const tagged = await startAuthStandIns({ tagClientId: true });
    try {
      const broker = new TokenBroker(brokerOptions(tagged, { clock: new FakeClock() }));

      // Act
      await Promise.all(Array.from({ length: 1000 }, () => broker.getAccessToken()));

      // Assess: client secret (with the id in its tags) and refresh token; the client-id secret is never read
      expect(broker.stats()).toMatchObject({ redemptions: 1, keyVaultReads: 2, keyVaultWrites: 1 });
      expect(tagged.keyVault.stats().reads['partner-center-client-id'] ?? 0).toBe(0);
    } finally {
      await tagged.close();
    }
  });

  it('does not cache a failed redemption: every waiter sees the failure and the next call redeems again', async () => {
    // Prepare: the token endpoint answers 503 to everything, one attempt per redemption
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock(), retry: { maxAttempts: 1 } }));
    standIns.entra.setFaults({ serverErrors: { probability: 1, statuses: [503], operations: ['token'] } });

    // Act
    const failures = await Promise.allSettled(Array.from({ length: 10 }, () => broker.getAccessToken()));
    standIns.entra.clearFaults();
    const recovered = await broker.getAccessToken();

    // Assess
    expect(
      failures.every((f) => f.status === 'rejected' && f.reason instanceof TokenEndpointError && f.reason.retryable),
    ).toBe(true);
    expect(broker.stats()).toMatchObject({ redemptions: 1, redemptionAttempts: 2 });
    expect(typeof recovered).toBe('string');
    expect(broker.health().state).toBe('ok');
  });

  it('does not cache a failed Key Vault read of the client credentials', async () => {
    // Prepare: Key Vault answers 503 to every read
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock(), retry: { maxAttempts: 1 } }));
    standIns.keyVault.setFaults({ serverErrors: { probability: 1, statuses: [503], operations: ['get'] } });

    // Act
    const failure = await broker.getAccessToken().catch((error: unknown) => error);
    standIns.keyVault.clearFaults();
    const token = await broker.getAccessToken();

    // Assess
    expect(failure).toMatchObject({ name: 'SecretStoreError', retryable: true, status: 503 });
    expect(broker.health().state).toBe('ok');
    expect(token.length).toBeGreaterThan(20);
  });

  it('serves the still-valid token when a renewal inside the margin fails, and retries later', async () => {
    // Prepare
    const clock = new FakeClock();
    let fail = false;
    const fetch: FetchLike = async (url, init) => {
      if (fail) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return standIns.fetch(url, init);
    };
    const broker = new TokenBroker(
      brokerOptions(standIns, { clock, fetch, retry: { maxAttempts: 1 }, refreshRetryIntervalMs: 5_000 }),
    );
    const first = await broker.getAccessToken();
    clock.advanceSeconds(3600 - 200); // inside the 300 s margin, 200 s of life left

    // Act
    fail = true;
    const duringOutage = await broker.getAccessToken();
    const degraded = broker.health();
    const withinRetryInterval = await broker.getAccessToken();
    fail = false;
    clock.advanceSeconds(6);
    const renewed = await broker.getAccessToken();

    // Assess
    expect(duringOutage).toBe(first);
    expect(degraded).toMatchObject({ state: 'degraded', lastError: expect.stringContaining('TokenEndpointError') });
    expect(withinRetryInterval).toBe(first);
    expect(broker.stats().redemptionAttempts).toBe(2);
    expect(renewed).not.toBe(first);
    expect(broker.health().state).toBe('ok');
  });
});
