/**
 * The Partner Center client against the simulator: retries, typed errors, MS-RequestId idempotency.
 */
import { createSandboxTls } from '../../../sandbox/tls';
import { startEntra, type RunningEntra } from '../../../sandbox/entra/server';
import { startPartnerCenter, type RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import {
  PartnerCenterClient,
  PartnerCenterRejectedError,
  PartnerCenterThrottledError,
  PartnerCenterUnavailableError,
  deterministicRequestId,
  odataEquals,
  type AccessTokenSource,
} from '../../../shared/partner-center';
import { createLogger, type LogFields } from '../../../shared/platform/logging';
import { example } from '../../helpers/examples';

const AUDIENCE = 'https://api.partner.microsoft.com';
let entra: RunningEntra;
let partnerCenter: RunningPartnerCenter;

beforeAll(async () => {
  const tls = await createSandboxTls();
  entra = await startEntra({ tls, clients: [{ clientId: 'app', clientSecret: 'secret' }] });
  partnerCenter = await startPartnerCenter({ entra: entra.verification, seed: 5 });
});
afterAll(async () => {
  await partnerCenter?.close();
  await entra?.close();
});
afterEach(() => partnerCenter.clearFaults());

/** Hands out App+User tokens minted by the Entra stand-in; `firstToken` replaces the first one (e.g. an expired token). */
function tokens(firstToken?: string): AccessTokenSource & { calls: Array<{ forceRefresh?: boolean }> } {
  const calls: Array<{ forceRefresh?: boolean }> = [];
  return {
    calls,
    async getAccessToken(options = {}) {
      calls.push({ forceRefresh: options.forceRefresh });
      if (calls.length === 1 && firstToken) return firstToken;
      return entra.issueAccessToken({ audience: AUDIENCE });
    },
  };
}

const client = (
  source: AccessTokenSource,
  overrides: Partial<ConstructorParameters<typeof PartnerCenterClient>[0]> = {},
) =>
  new PartnerCenterClient({
    baseUrl: partnerCenter.url,
    tokens: source,
    baseBackoffMs: 5,
    maxBackoffMs: 1500,
    timeoutMs: 2000,
    ...overrides,
  });

const step1 = (name: string) => ({ ...example('step1-partner-led.json'), name, mpnId: '1234567' });

describe('PartnerCenterClient', () => {
  it('creates a referral and finds it again by engagement', async () => {
    const pc = client(tokens());
    const created = await pc.createReferral(step1('client-create'));
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    const related = await pc.listReferrals({ filter: odataEquals('engagementId', created.engagementId) });
    expect(related.map((r) => r.id)).toEqual([created.id]);
  });

  it('retries after a lost response with the same MS-RequestId, so the referral exists once', async () => {
    partnerCenter.setFaults({ seed: 1, commitThenDrop: { probability: 0.6, operations: ['create'] } });
    const pc = client(tokens(), { maxAttempts: 10 });
    const requestId = deterministicRequestId('client-test:partner');
    const created = await pc.createReferral(step1('client-drop'), { requestId });
    partnerCenter.clearFaults();
    const again = await pc.createReferral(step1('client-drop'), { requestId });
    expect(again.id).toBe(created.id);
    expect(
      (partnerCenter.referrals() as unknown as Array<{ name: string }>).filter((r) => r.name === 'client-drop'),
    ).toHaveLength(1);
  });

  it('honours Retry-After on 429 and gives up with a retryable throttling error', async () => {
    partnerCenter.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 0 } });
    const pc = client(tokens(), { maxAttempts: 3 });
    const error = await pc.createReferral(step1('client-429')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerCenterThrottledError);
    expect((error as PartnerCenterThrottledError).retryable).toBe(true);
    expect(pc.stats().byStatus['429']).toBe(3);
  });

  it('gives up at once, retryable, on a Retry-After longer than it may wait (the queue retries later)', async () => {
    partnerCenter.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 60 } });
    const sleeps: number[] = [];
    const pc = client(tokens(), { maxAttempts: 4, maxRetryAfterMs: 30_000, sleep: async (ms) => void sleeps.push(ms) });
    const error = await pc.createReferral(step1('client-429-long')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerCenterThrottledError);
    expect(error).toMatchObject({ retryable: true, retryAfterMs: 60_000 });
    expect(pc.stats().calls).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("logs a failure with Partner Center's error code readable (codes are not customer data)", async () => {
    const lines: Array<LogFields & { message: string }> = [];
    const logger = createLogger({ sink: (_level, record) => lines.push(record) });
    await client(tokens(), { logger })
      .createReferral({ name: 'no required fields' })
      .catch(() => undefined);
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'Partner Center call failed', status: 400, code: 'invalidRequest' }),
    );
  });

  it("turns a 400 into a permanent typed error with Partner Center's code and no retry", async () => {
    const pc = client(tokens());
    const error = await pc.createReferral({ name: 'no required fields' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerCenterRejectedError);
    expect(error).toMatchObject({ status: 400, code: 'invalidRequest', retryable: false });
    expect(pc.stats().calls).toBe(1);
  });

  it('forces one token refresh after a 401 and retries once', async () => {
    const expired = entra.issueAccessToken({ audience: AUDIENCE, lifetimeSeconds: -60 });
    const source = tokens(expired);
    const created = await client(source).createReferral(step1('client-401'));
    expect(created.id).toBeTruthy();
    expect(source.calls).toEqual([{ forceRefresh: undefined }, { forceRefresh: true }]);
  });

  it('stops retrying when the next attempt could not finish before the deadline', async () => {
    partnerCenter.setFaults({ serverErrors: { probability: 1, statuses: [503] } });
    const pc = client(tokens(), { maxAttempts: 50, baseBackoffMs: 200 });
    const error = await pc
      .createReferral(step1('client-deadline'), { deadlineEpochMs: Date.now() + 300 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerCenterUnavailableError);
    expect(pc.stats().calls).toBeLessThan(50);
  });
});
