/**
 * The refresh token is refused (revoked, expired, reused): referrals park, health says so, and they
 * resume by themselves once an operator stores a new refresh token. Nothing is resubmitted.
 */
import https from 'node:https';
import nodeFetch from 'node-fetch';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { call, eventually, startTestSandbox, waitForFinal } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox({ appSettings: { TOKEN_REAUTH_RECHECK_SECONDS: '1' } });
}, 120_000);
afterAll(async () => sandbox?.stop());

/** Stores a new refresh-token version the way an operator does (`npm run auth:consent` writes the same secret). */
async function storeNewRefreshToken(): Promise<void> {
  const token = sandbox.entra.issueAccessToken({ audience: sandbox.keyVault.resource, user: null });
  const name = sandbox.appSettings.KEY_VAULT_REFRESH_TOKEN_SECRET_NAME;
  const response = await nodeFetch(`${sandbox.keyVault.url}/secrets/${name}?api-version=7.5`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ value: sandbox.entra.issueRefreshToken('referrals-admin@partner.example') }),
    agent: new https.Agent({ ca: sandbox.caPem }),
  });
  expect(response.status).toBe(200);
}

it('parks referrals while the refresh token is refused and resumes them after a new one is stored', async () => {
  // Every refresh token is revoked; a fresh instance has no cached access token.
  sandbox.entra.revokeAll();
  await sandbox.restartHost({ kill: true });

  const bodies = [
    uniqueDeal(example('private-deal.json'), 'reauth-1'),
    uniqueDeal(example('cosell-deal.json'), 'reauth-2'),
  ];
  const accepted = await Promise.all(bodies.map((body) => call(sandbox, 'POST', '/referrals', body)));
  for (const response of accepted) {
    expect(response.status).toBe(202);
    expect(response.body.state).toBe('AwaitingReauthorization');
    expect(response.body.lastError.code).toBe('reauthorizationRequired');
  }
  const health = await call(sandbox, 'GET', '/health');
  expect(health.body.dependencies.partnerCenterTokens.state).toBe('reauthorization-required');
  expect(health.body.dependencies.parkedReferrals.count).toBe(2);
  expect(sandbox.partnerCenter.referrals()).toHaveLength(0);

  await storeNewRefreshToken();

  const views = await Promise.all(accepted.map((r) => waitForFinal(sandbox, r.body.trackingId, 60_000)));
  expect(views.map((v) => v.state)).toEqual(['Completed', 'Linked']);
  const stored = sandbox.partnerCenter.referrals() as any[];
  expect(stored.filter((r) => r.name === bodies[0].name)).toHaveLength(1);
  expect(stored.filter((r) => r.engagementId === views[1].partnerReferral.engagementId)).toHaveLength(2);
  await eventually(
    async () => ((await call(sandbox, 'GET', '/health')).body.status === 'ok' ? true : undefined),
    20_000,
  );
}, 120_000);
