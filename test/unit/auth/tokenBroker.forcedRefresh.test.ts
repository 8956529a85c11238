import { TokenBroker } from '../../../shared/auth';
import { FakeClock, brokerOptions, startAuthStandIns, type AuthStandIns } from './helpers/authStandIns';

describe('Class: TokenBroker (forced refresh after a Partner Center 401)', () => {
  let standIns: AuthStandIns;

  beforeAll(async () => {
    standIns = await startAuthStandIns();
  });

  afterAll(async () => {
    await standIns.close();
  });

  it('redeems again when the rejected token is the cached one', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));
    const rejected = await broker.getAccessToken();

    // Act
    const fresh = await broker.getAccessToken({ forceRefresh: true, rejectedToken: rejected });
    const next = await broker.getAccessToken();

    // Assess
    expect(fresh).not.toBe(rejected);
    expect(next).toBe(fresh);
    expect(broker.stats().redemptions).toBe(2);
  });

  it('returns the newer token without redeeming when the rejected one was already replaced', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));
    const old = await broker.getAccessToken();
    const current = await broker.getAccessToken({ forceRefresh: true, rejectedToken: old });

    // Act
    const answer = await broker.getAccessToken({ forceRefresh: true, rejectedToken: old });

    // Assess
    expect(answer).toBe(current);
    expect(broker.stats().redemptions).toBe(2);
  });

  it('redeems once for 100 concurrent callers whose calls were all refused with the same token', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));
    const rejected = await broker.getAccessToken();

    // Act
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => broker.getAccessToken({ forceRefresh: true, rejectedToken: rejected })),
    );

    // Assess
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).not.toBe(rejected);
    expect(broker.stats().redemptions).toBe(2);
  });

  it('never serves the rejected token again, even when the forced renewal fails', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock(), retry: { maxAttempts: 1 } }));
    const rejected = await broker.getAccessToken();
    standIns.entra.setFaults({ serverErrors: { probability: 1, statuses: [503], operations: ['token'] } });

    // Act
    const forced = await broker
      .getAccessToken({ forceRefresh: true, rejectedToken: rejected })
      .catch((e: unknown) => e);
    const plain = await broker.getAccessToken().catch((e: unknown) => e);
    standIns.entra.clearFaults();

    // Assess
    expect(forced).toMatchObject({ name: 'TokenEndpointError', retryable: true });
    expect(plain).not.toBe(rejected);
  });

  it('forces a redemption without rejectedToken even when the cached token is fresh', async () => {
    // Prepare
    const broker = new TokenBroker(brokerOptions(standIns, { clock: new FakeClock() }));
    const first = await broker.getAccessToken();

    // Act
    const forced = await broker.getAccessToken({ forceRefresh: true });

    // Assess
    expect(forced).not.toBe(first);
    expect(broker.stats().redemptions).toBe(2);
  });
});
