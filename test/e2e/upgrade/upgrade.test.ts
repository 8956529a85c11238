/**
 * Upgrade a deal to co-sell later, and fix and resend a refused deal, through the local Functions host
 * (built app from dist/) against the sandbox: Partner Center simulator, Entra and Key Vault stand-ins.
 */
import nodeFetch from 'node-fetch';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { call, eventually, startTestSandbox } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';

let sandbox: RunningSandbox;
const stored = (): any[] => sandbox.partnerCenter.referrals() as any[];
const microsoftIn = (engagementId: string) =>
  stored().filter((r) => r.engagementId === engagementId && r.organizationId === 'msft');
const COSELL = {
  notes: 'The customer now wants an Azure proof of concept.',
  assistanceRequestCode: 'ProofOfConceptOrDemo',
};

beforeAll(async () => {
  sandbox = await startTestSandbox({ seed: 5 });
}, 120_000);
afterAll(async () => sandbox?.stop());
afterEach(() => sandbox.partnerCenter.clearFaults());

async function createdDeal(file: string, tag: string): Promise<any> {
  const response = await call(sandbox, 'POST', '/referrals', uniqueDeal(example(file), tag));
  expect(response.status).toBe(201);
  expect(response.body.state).toBe('Completed');
  return response.body;
}

describe('POST /api/referrals/{trackingId}/co-sell', () => {
  it('upgrades a PartnerLed deal created earlier: Linked, one Microsoft referral in the same engagement', async () => {
    const deal = await createdDeal('partner-led-deal.json', 'e2e-up-pl');
    const upgraded = await call(sandbox, 'POST', `/referrals/${deal.trackingId}/co-sell`, { coSell: COSELL });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body).toMatchObject({
      trackingId: deal.trackingId,
      state: 'Linked',
      dealType: 'CoSell',
      partnerReferral: deal.partnerReferral,
      microsoftReferral: { id: expect.any(String) },
    });
    const microsoft = microsoftIn(deal.partnerReferral.engagementId);
    expect(microsoft.map((r) => r.id)).toEqual([upgraded.body.microsoftReferral.id]);
    // Asked again: the record as it is, nothing new.
    const again = await call(sandbox, 'POST', `/referrals/${deal.trackingId}/co-sell`, { coSell: COSELL });
    expect(again.status).toBe(200);
    expect(microsoftIn(deal.partnerReferral.engagementId)).toHaveLength(1);
    const view = await call(sandbox, 'GET', `/referrals/${deal.trackingId}`);
    expect(view.body).toMatchObject({ state: 'Linked', final: true, dealType: 'CoSell' });
  }, 60_000);

  it('refuses a Private deal without shareWithMicrosoft (400), and shares then links it with it', async () => {
    const deal = await createdDeal('private-deal.json', 'e2e-up-priv');
    const refused = await call(sandbox, 'POST', `/referrals/${deal.trackingId}/co-sell`, { coSell: COSELL });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
    expect(refused.body.detail).toMatch(/cannot be undone/);
    expect(microsoftIn(deal.partnerReferral.engagementId)).toHaveLength(0);

    const upgraded = await call(sandbox, 'POST', `/referrals/${deal.trackingId}/co-sell`, {
      coSell: COSELL,
      shareWithMicrosoft: true,
    });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body.state).toBe('Linked');
    const partner = stored().find((r) => r.id === deal.partnerReferral.id);
    expect(partner).toMatchObject({ type: 'Shared', consent: { consentToShareReferralWithMicrosoftSellers: true } });
    expect(microsoftIn(deal.partnerReferral.engagementId)).toHaveLength(1);
  }, 60_000);

  it('20 concurrent upgrades of one deal: 200/202 answers, one Microsoft referral', async () => {
    const deal = await createdDeal('partner-led-deal.json', 'e2e-up-20');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(sandbox, 'POST', `/referrals/${deal.trackingId}/co-sell`, { coSell: COSELL }),
      ),
    );
    for (const answer of answers) expect([200, 202]).toContain(answer.status);
    await eventually(async () => {
      const view = await call(sandbox, 'GET', `/referrals/${deal.trackingId}`);
      return view.body.state === 'Linked' ? view.body : undefined;
    });
    expect(microsoftIn(deal.partnerReferral.engagementId)).toHaveLength(1);
  }, 60_000);

  it('refuses a closed deal (409 terminal-state) and an unknown id (404)', async () => {
    const deal = await createdDeal('partner-led-deal.json', 'e2e-up-closed');
    const edit = await nodeFetch(`${sandbox.partnerCenter.url}/_sandbox/referrals/${deal.partnerReferral.id}/edit`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        { op: 'replace', path: '/status', value: 'Closed' },
        { op: 'replace', path: '/substatus', value: 'Won' },
      ]),
    });
    expect(edit.status).toBe(200);
    const refused = await call(sandbox, 'POST', `/referrals/${deal.trackingId}/co-sell`, { coSell: COSELL });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toMatch(/#terminal-state$/);
    const unknown = await call(sandbox, 'POST', '/referrals/r0123456789abcdef0123456789abcde/co-sell', {
      coSell: COSELL,
    });
    expect(unknown.status).toBe(404);
  }, 60_000);
});

describe('fix and resend', () => {
  it('a deal Partner Center refused (422) is accepted under the same key once corrected, and created once', async () => {
    const body = uniqueDeal(example('partner-led-deal.json'), 'e2e-resend');
    sandbox.partnerCenter.setFaults({ clientErrors: { probability: 1, statuses: [400], operations: ['create'] } });
    const refused = await call(sandbox, 'POST', '/referrals', body);
    expect(refused.status).toBe(422);
    expect(refused.body.type).toMatch(/#partner-center-rejected$/);
    sandbox.partnerCenter.clearFaults();

    const fixed = { ...body, name: `${String(body.name)} (corrected)` };
    const accepted = await call(sandbox, 'POST', '/referrals', fixed);
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({ trackingId: refused.body.trackingId, state: 'Completed' });
    const replay = await call(sandbox, 'POST', '/referrals', fixed);
    expect(replay.status).toBe(200);
    expect(stored().filter((r) => r.externalReferenceId === body.externalReferenceId)).toHaveLength(1);

    // Now created: another payload under the same key is 422 and says which key and what to do.
    const reused = await call(sandbox, 'POST', '/referrals', { ...fixed, name: 'Yet another name' });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({
      type: expect.stringMatching(/#idempotency-key-reused$/),
      keySource: 'externalReferenceId',
    });
    expect(reused.body.detail).toMatch(/update the referral/);
  }, 60_000);
});
