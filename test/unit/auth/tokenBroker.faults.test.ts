import { SecretStoreError, TokenBroker, TokenEndpointError, TOKEN_LEASE_KEYS } from '../../../shared/auth';
import {
  FakeClock,
  InMemoryLeaseTable,
  SECRET_NAMES,
  brokerOptions,
  recordingSleep,
  startAuthStandIns,
  type AuthStandIns,
} from './helpers/authStandIns';

describe('Class: TokenBroker (transient faults)', () => {
  let standIns: AuthStandIns;

  beforeAll(async () => {
    standIns = await startAuthStandIns();
  });

  afterAll(async () => {
    await standIns.close();
  });

  afterEach(() => {
    standIns.entra.clearFaults();
    standIns.keyVault.clearFaults();
  });

  it.each([
    {
      case: 'Key Vault 429 with Retry-After',
      target: 'keyVault',
      faults: { rateLimit: { probability: 1, retryAfterSeconds: 2, operations: ['get'] } },
      minDelayMs: 2_000,
    },
    {
      case: 'Key Vault 503',
      target: 'keyVault',
      faults: { serverErrors: { probability: 1, statuses: [503 as const], operations: ['get'] } },
      minDelayMs: 0,
    },
    {
      case: 'token endpoint 429 with Retry-After',
      target: 'entra',
      faults: { rateLimit: { probability: 1, retryAfterSeconds: 3, operations: ['token'] } },
      minDelayMs: 3_000,
    },
    {
      case: 'token endpoint 503',
      target: 'entra',
      faults: { serverErrors: { probability: 1, statuses: [503 as const], operations: ['token'] } },
      minDelayMs: 0,
    },
  ])('retries after $case, waiting at least the Retry-After it names', async ({ target, faults, minDelayMs }) => {
    // Prepare: the fault answers once; the backoff sleep lifts it
    const standIn = target === 'keyVault' ? standIns.keyVault : standIns.entra;
    const { sleep, delays } = recordingSleep(undefined, () => standIn.clearFaults());
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock(), sleep }));
    standIn.setFaults(faults);

    // Act
    const token = await broker.getAccessToken();

    // Assess
    expect(token.length).toBeGreaterThan(20);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(minDelayMs);
    expect(delays[0]).toBeLessThanOrEqual(Math.max(minDelayMs * 1.1, 5_000));
  });

  it('gives up after the configured attempts with a retryable error and a degraded health', async () => {
    // Prepare
    const { sleep, delays } = recordingSleep();
    const broker = new TokenBroker(
      brokerOptions(standIns, { clock: new FakeClock(), sleep, retry: { maxAttempts: 3 } }),
    );
    standIns.entra.setFaults({ serverErrors: { probability: 1, statuses: [500], operations: ['token'] } });

    // Act
    const error = await broker.getAccessToken().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ retryable: true, status: 500 });
    expect(delays).toHaveLength(2);
    expect(broker.stats().redemptionAttempts).toBe(3);
    expect(broker.health().state).toBe('degraded');
  });

  it('raises a Retry-After longer than the cap instead of waiting for it', async () => {
    // Prepare
    const { sleep, delays } = recordingSleep();
    const broker = new TokenBroker(
      brokerOptions(standIns, { clock: new FakeClock(), sleep, retry: { maxRetryAfterMs: 10_000 } }),
    );
    standIns.keyVault.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 60, operations: ['get'] } });

    // Act
    const error = await broker.getAccessToken().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SecretStoreError);
    expect(error).toMatchObject({ retryable: true, status: 429, retryAfterMs: 60_000 });
    expect(delays).toEqual([]);
  });

  it('keeps a rotated refresh token Key Vault refused and stores it before the next redemption', async () => {
    // Prepare
    await standIns.storeRefreshToken(standIns.entra.issueRefreshToken());
    const clock = new FakeClock();
    const leaseTable = new InMemoryLeaseTable();
    const broker = new TokenBroker(brokerOptions(standIns, { clock, leaseTable, retry: { maxAttempts: 2 } }));
    standIns.keyVault.setFaults({ serverErrors: { probability: 1, statuses: [503], operations: ['set'] } });

    // Act
    const failed = await broker.getAccessToken().catch((e: unknown) => e);
    const leaseAfterFailure = leaseTable.rows.get(
      `${TOKEN_LEASE_KEYS.partitionKey}|${TOKEN_LEASE_KEYS.rowKey}`,
    )?.entity;
    standIns.keyVault.clearFaults();
    const token = await broker.getAccessToken();

    // Assess
    expect(failed).toMatchObject({ name: 'SecretStoreError', operation: 'write', retryable: true });
    expect(Number(leaseAfterFailure?.leaseUntilEpochMs)).toBeGreaterThan(clock.nowMs()); // held, not released
    expect(token.length).toBeGreaterThan(20);
    expect(broker.stats().redemptions).toBe(1); // the access token from the first redemption is used once stored
    expect(standIns.entra.stats().reuseDetections).toBe(0);
    // the stored version is the live one: a fresh broker can redeem it
    const other = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));
    await expect(other.getAccessToken()).resolves.toEqual(expect.any(String));
    expect(standIns.keyVault.secretValue(SECRET_NAMES.refreshToken)).toBeDefined();
  });

  it('re-reads the client credentials once after invalid_client and succeeds with the rotated secret', async () => {
    // Prepare: the cached client secret is stale (rotated in Key Vault after the first read)
    const realSecret = standIns.app.clientSecret;
    await standIns.secretClient.setSecret(SECRET_NAMES.clientSecret, 'stale-client-secret-value');
    const clock = new FakeClock();
    const broker = new TokenBroker(brokerOptions(standIns, { clock }));
    const failed = await broker.getAccessToken().catch((e: unknown) => e);
    await standIns.secretClient.setSecret(SECRET_NAMES.clientSecret, realSecret);

    // Act
    clock.advanceSeconds(10);
    const token = await broker.getAccessToken();

    // Assess
    expect(failed).toMatchObject({ name: 'TokenEndpointError', oauthError: 'invalid_client', retryable: false });
    expect(token.length).toBeGreaterThan(20);
    expect(broker.stats().keyVaultReads).toBeGreaterThanOrEqual(6);
  });
});
