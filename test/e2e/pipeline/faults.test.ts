/**
 * Faults on the way to Partner Center: every request still ends final, each partner referral exists
 * once, each co-sell deal is linked once.
 */
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { call, eventually, startTestSandbox, waitForFinal } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';

let sandbox: RunningSandbox;
const stored = (): any[] => sandbox.partnerCenter.referrals() as any[];

beforeAll(async () => {
  sandbox = await startTestSandbox({
    seed: 7,
    appSettings: {
      PARTNER_CENTER_TIMEOUT_MS: '1500',
      PARTNER_CENTER_MAX_ATTEMPTS: '3',
      SUBMIT_TIME_BUDGET_MS: '2000',
      STEP_LEASE_SECONDS: '4',
      LOCAL_HOST_QUEUE_LEASE_MS: '4000',
    },
  });
}, 120_000);
afterAll(async () => sandbox?.stop());
afterEach(() => {
  sandbox.partnerCenter.clearFaults();
  sandbox.keyVault.clearFaults();
  sandbox.entra.clearFaults();
});

/** Submits `count` deals of `file`, then checks every one ends final with exactly one referral per side. */
async function submitAndCheck(
  tag: string,
  count: number,
  file = 'cosell-deal.json',
  whileFaulty?: () => Promise<void>,
) {
  const bodies = Array.from({ length: count }, (_, i) => uniqueDeal(example(file), `${tag}-${i}`));
  const accepted = await Promise.all(bodies.map((body) => call(sandbox, 'POST', '/referrals', body)));
  for (const response of accepted) expect([201, 202]).toContain(response.status);
  await whileFaulty?.();
  sandbox.partnerCenter.clearFaults();
  sandbox.keyVault.clearFaults();
  sandbox.entra.clearFaults();
  const views = await Promise.all(accepted.map((r) => waitForFinal(sandbox, r.body.trackingId, 60_000)));
  for (const [i, view] of views.entries()) {
    const expectLinked = bodies[i].dealType === 'CoSell';
    expect(view.state).toBe(expectLinked ? 'Linked' : 'Completed');
    const partnerSide = stored().filter((r) => r.name === bodies[i].name && r.organizationId !== 'msft');
    expect(partnerSide).toHaveLength(1);
    const engagement = stored().filter((r) => r.engagementId === partnerSide[0].engagementId);
    expect(engagement.filter((r) => r.organizationId === 'msft')).toHaveLength(expectLinked ? 1 : 0);
  }
  return views;
}

describe('faults between the bridge and Partner Center', () => {
  it('creates each referral once when responses are lost after the create was stored (commit-then-drop)', async () => {
    sandbox.partnerCenter.setFaults({ seed: 11, commitThenDrop: { probability: 0.5, operations: ['create'] } });
    await submitAndCheck('drop', 6, 'cosell-deal.json', () => new Promise((r) => setTimeout(r, 3000)));
    expect(sandbox.partnerCenter.stats().faults.commitThenDrop).toBeGreaterThan(0);
  }, 120_000);

  it('rides out a 429 storm honouring Retry-After', async () => {
    sandbox.partnerCenter.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 1 } });
    await submitAndCheck('storm', 4, 'cosell-deal.json', () => new Promise((r) => setTimeout(r, 2500)));
    expect(sandbox.partnerCenter.stats().faults.rateLimit).toBeGreaterThan(0);
  }, 120_000);

  it('rides out a run of 500 and 503 answers', async () => {
    sandbox.partnerCenter.setFaults({ seed: 3, serverErrors: { probability: 0.8 } });
    await submitAndCheck('5xx', 4, 'partner-led-deal.json', () => new Promise((r) => setTimeout(r, 2500)));
    const faults = sandbox.partnerCenter.stats().faults;
    expect(faults.status500 + faults.status503).toBeGreaterThan(0);
  }, 120_000);

  it('accepts durably through a Key Vault outage at cold start and finishes afterwards', async () => {
    sandbox.keyVault.setFaults({ serverErrors: { probability: 1, statuses: [503] } });
    await sandbox.restartHost({ kill: true });
    const views = await submitAndCheck('kv', 2, 'private-deal.json', () => new Promise((r) => setTimeout(r, 2500)));
    expect(views.every((v) => v.state === 'Completed')).toBe(true);
  }, 120_000);

  it('finishes a co-sell deal whose host crashed during the inline link step; a retry with the same key replays it', async () => {
    sandbox.partnerCenter.setFaults({ latency: { fixedMs: 600, operations: ['create'] } });
    const body = uniqueDeal(example('cosell-deal.json'), 'crash-inline');
    const headers = { 'Idempotency-Key': 'e2e-crash-inline' };
    const posting = call(sandbox, 'POST', '/referrals', body, headers).then(
      (response) => response.status,
      () => 'connection lost' as const,
    );
    // The partner referral exists: the Microsoft create (600 ms) is under way. Crash the host in it.
    await eventually(async () => (stored().some((r) => r.name === body.name) ? true : undefined), 10_000, 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sandbox.restartHost({ kill: true });
    sandbox.partnerCenter.clearFaults();
    expect(await posting).toBe('connection lost');
    const retried = await call(sandbox, 'POST', '/referrals', body, headers);
    expect([200, 202]).toContain(retried.status);
    const view = await waitForFinal(sandbox, retried.body.trackingId, 60_000);
    expect(view.state).toBe('Linked');
    expect(stored().filter((r) => r.name === body.name && r.organizationId !== 'msft')).toHaveLength(1);
    expect(stored().filter((r) => r.engagementId === view.partnerReferral.engagementId)).toHaveLength(2);
  }, 120_000);

  it('finishes a co-sell deal whose host crashed in the queued link step (the sweeper resumes it)', async () => {
    sandbox.partnerCenter.setFaults({ latency: { fixedMs: 1200, operations: ['create'] } });
    const body = uniqueDeal(example('cosell-deal.json'), 'crash-1');
    const accepted = await call(sandbox, 'POST', '/referrals', body);
    // 1.2 s + 1.2 s outlast the 2 s budget: the inline link step is cut short and handed to referral-link.
    expect(accepted.status).toBe(202);
    // The queued link step is now calling Partner Center (1.2 s): crash the host in the middle of it.
    await eventually(
      async () =>
        (await call(sandbox, 'GET', `/referrals/${accepted.body.trackingId}`)).body.state === 'CreatingMicrosoft'
          ? true
          : undefined,
      10_000,
      50,
    );
    await sandbox.restartHost({ kill: true });
    sandbox.partnerCenter.clearFaults();
    const view = await waitForFinal(sandbox, accepted.body.trackingId, 60_000);
    expect(view.state).toBe('Linked');
    const engagement = stored().filter((r) => r.engagementId === view.partnerReferral.engagementId);
    expect(engagement).toHaveLength(2);
  }, 120_000);
});
