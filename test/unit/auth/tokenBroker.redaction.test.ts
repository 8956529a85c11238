import { TokenBroker, type FetchLike } from '../../../shared/auth';
import {
  FakeClock,
  InMemoryLeaseTable,
  SECRET_NAMES,
  brokerOptions,
  capturingLogger,
  recordingSleep,
  startAuthStandIns,
  type AuthStandIns,
} from './helpers/authStandIns';

/** Everything an error exposes when logged or serialised: message, own fields, and its cause chain. */
function exposedText(error: unknown, depth = 0): string {
  if (!(error instanceof Error) || depth > 5) return String(error);
  const own = Object.fromEntries(Object.entries(error).filter(([key]) => key !== 'cause'));
  return [
    error.name,
    error.message,
    error.stack ?? '',
    JSON.stringify(own),
    exposedText((error as { cause?: unknown }).cause, depth + 1),
  ].join('\n');
}

describe('Class: TokenBroker (no secret or token ever leaves it)', () => {
  let standIns: AuthStandIns;

  beforeAll(async () => {
    standIns = await startAuthStandIns();
  });

  afterAll(async () => {
    await standIns.close();
  });

  it('keeps tokens and secrets out of logs, errors, health and the lease table across success and failure paths', async () => {
    // Prepare: record every secret value that crosses the wire
    const secrets = new Set<string>([standIns.app.clientSecret]);
    const fetch: FetchLike = async (url, init) => {
      for (const [key, value] of new URLSearchParams(typeof init?.body === 'string' ? init.body : ''))
        if (['refresh_token', 'client_secret'].includes(key)) secrets.add(value);
      const response = await standIns.fetch(url, init);
      const body = (await response
        .clone()
        .json()
        .catch(() => ({}))) as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token', 'id_token'])
        if (typeof body[key] === 'string') secrets.add(body[key]);
      return response;
    };
    const { logger, lines } = capturingLogger();
    const clock = new FakeClock();
    const leaseTable = new InMemoryLeaseTable();
    const { sleep } = recordingSleep(undefined, () => {
      standIns.keyVault.clearFaults();
      standIns.entra.clearFaults();
    });
    const broker = new TokenBroker(
      brokerOptions(standIns, { clock, fetch, logger, leaseTable, sleep, recheckIntervalMs: 1_000 }),
    );
    const errors: unknown[] = [];
    const attempt = async (options?: { forceRefresh?: boolean; rejectedToken?: string }) => {
      try {
        secrets.add(await broker.getAccessToken(options));
      } catch (error) {
        errors.push(error);
      }
    };

    // Act: success, forced refresh, retried faults, a refused write, a refused grant, recovery
    await attempt();
    await attempt({ forceRefresh: true });
    standIns.keyVault.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 1, operations: ['get'] } });
    standIns.entra.setFaults({ serverErrors: { probability: 1, statuses: [503], operations: ['token'] } });
    await attempt({ forceRefresh: true });
    standIns.keyVault.setFaults({ serverErrors: { probability: 1, statuses: [500], operations: ['set'] } });
    const failingWrites = new TokenBroker(
      brokerOptions(standIns, { clock, fetch, logger, leaseTable, retry: { maxAttempts: 1 } }),
    );
    await failingWrites.getAccessToken().catch((error: unknown) => errors.push(error));
    standIns.keyVault.clearFaults();
    await failingWrites.getAccessToken().then(
      (t) => secrets.add(t),
      (error: unknown) => errors.push(error),
    );
    standIns.entra.revokeAll();
    clock.advanceSeconds(3600);
    await attempt();
    await attempt();
    const newRefreshToken = standIns.entra.issueRefreshToken();
    secrets.add(newRefreshToken);
    await standIns.storeRefreshToken(newRefreshToken);
    clock.advanceSeconds(2);
    await attempt();
    secrets.add(standIns.keyVault.secretValue(SECRET_NAMES.refreshToken) ?? '');

    // Assess
    const exposed = [
      ...lines.map((line) => JSON.stringify(line)),
      ...errors.map((error) => exposedText(error)),
      JSON.stringify(broker.health()),
      JSON.stringify(failingWrites.health()),
      JSON.stringify([...leaseTable.rows.values()]),
      JSON.stringify(leaseTable.writes),
    ].join('\n');
    expect(errors.map((e) => (e as Error).name)).toEqual(
      expect.arrayContaining(['SecretStoreError', 'ReauthorizationRequiredError']),
    );
    expect(lines.length).toBeGreaterThan(5);
    expect(secrets.size).toBeGreaterThan(8);
    const leaked = [...secrets].filter((secret) => secret.length >= 16 && exposed.includes(secret));
    expect(leaked).toEqual([]);
    expect(exposed).toMatch(/version/); // versions are what the logs name instead
  });
});
