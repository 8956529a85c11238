/**
 * The pipeline end to end: the local host running the built app, Azurite, and the stand-ins.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueueServiceClient } from '@azure/storage-queue';
import type { RunningSandbox } from '../../../sandbox/sandbox';
import { call, eventually, startTestSandbox, waitForFinal } from '../../helpers/sandboxHarness';
import { example, uniqueDeal } from '../../helpers/examples';
import { identifyRequest, trackingIdForInvalidMessage } from '../../../shared/workflow/idempotency';

let sandbox: RunningSandbox;
const stored = (): any[] => sandbox.partnerCenter.referrals() as any[];
const referralsIn = (engagementId: string) => stored().filter((r) => r.engagementId === engagementId);
const byName = (name: string) => stored().filter((r) => r.name === name);

beforeAll(async () => {
  sandbox = await startTestSandbox();
}, 120_000);
afterAll(async () => sandbox?.stop());

describe('HTTP submit', () => {
  it('creates a Private deal and answers 201 with the tracking view', async () => {
    const body = uniqueDeal(example('private-deal.json'), 'private-1');
    const response = await call(sandbox, 'POST', '/referrals', body);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ state: 'Completed', final: true, dealType: 'Private' });
    expect(response.headers.get('location')).toMatch(/\/api\/referrals\/r[0-9a-f]{31}$/);
    const created = byName(body.name);
    expect(created).toHaveLength(1);
    expect(created[0].consent.consentToShareReferralWithMicrosoftSellers).toBe(false);
    // The partner step records Partner Center's answer: the view shows the referral as created.
    expect(response.body.partnerReferral).toEqual({
      id: created[0].id,
      engagementId: created[0].engagementId,
      status: 'New',
      substatus: 'Pending',
      updatedDateTime: created[0].updatedDateTime,
      name: body.name,
      dealValue: body.details.dealValue,
      currency: body.details.currency,
      closingDateTime: created[0].details.closingDateTime,
    });
  });

  it('takes the documented Step 1 body as a CoSell deal and answers 201 Linked with two referrals in one engagement', async () => {
    const body = uniqueDeal(example('cosell-deal.json'), 'cosell-1');
    const created = await call(sandbox, 'POST', '/referrals', body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'Linked', final: true, dealType: 'CoSell' });
    const view = (await call(sandbox, 'GET', `/referrals/${created.body.trackingId}`)).body;
    expect(view).toEqual(created.body);
    const engagement = referralsIn(view.partnerReferral.engagementId);
    expect(engagement).toHaveLength(2);
    const microsoft = engagement.find((r) => r.organizationId === 'msft')!;
    expect(microsoft.id).toBe(view.microsoftReferral.id);
    expect(microsoft.target).toEqual([{ type: 'BusinessProfileLocation', id: 'msft' }]);
    expect(microsoft.inviteContext.assistanceRequestCode).toBe(body.coSell.assistanceRequestCode);
  });

  it('replays the same request without a new referral and refuses the key for another payload', async () => {
    const body = uniqueDeal(example('partner-led-deal.json'), 'replay-1');
    const headers = { 'Idempotency-Key': 'e2e-replay-1' };
    const first = await call(sandbox, 'POST', '/referrals', body, headers);
    expect(first.status).toBe(201);
    const again = await call(sandbox, 'POST', '/referrals', body, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.trackingId).toBe(first.body.trackingId);
    const changed = await call(sandbox, 'POST', '/referrals', { ...body, name: `${body.name} changed` }, headers);
    expect(changed.status).toBe(422);
    expect(changed.headers.get('content-type')).toContain('application/problem+json');
    expect(byName(body.name)).toHaveLength(1);
  });

  it('creates exactly one partner referral for 100 concurrent identical POSTs', async () => {
    const body = uniqueDeal(example('partner-led-deal.json'), 'concurrent-1');
    const responses = await Promise.all(Array.from({ length: 100 }, () => call(sandbox, 'POST', '/referrals', body)));
    expect(responses.every((r) => [200, 201, 202].includes(r.status))).toBe(true);
    expect(new Set(responses.map((r) => r.body.trackingId)).size).toBe(1);
    await waitForFinal(sandbox, responses[0].body.trackingId);
    expect(byName(body.name)).toHaveLength(1);
  });

  it('answers 400 problem+json for an invalid referral and records nothing', async () => {
    const before = sandbox.partnerCenter.referrals().length;
    const response = await call(sandbox, 'POST', '/referrals', example('invalid-deal.json'));
    expect(response.status).toBe(400);
    expect(response.body.errors.length).toBeGreaterThan(0);
    expect(response.body.errors[0].pointer).toMatch(/^\//);
    expect(sandbox.partnerCenter.referrals().length).toBe(before);
  });

  it('answers 404 for an unknown tracking id', async () => {
    expect((await call(sandbox, 'GET', `/referrals/r${'0'.repeat(31)}`)).status).toBe(404);
    expect((await call(sandbox, 'GET', '/referrals/not-an-id')).status).toBe(404);
  });
});

describe('queue intake', () => {
  const intake = () =>
    QueueServiceClient.fromConnectionString(sandbox.azurite.connectionString).getQueueClient('referral-intake');

  it.each([
    { encoding: 'plain JSON text', encode: (text: string) => text },
    { encoding: 'base64 JSON', encode: (text: string) => Buffer.from(text).toString('base64') },
  ])('finishes a CoSell deal put on the intake queue as $encoding', async ({ encode }) => {
    const tag = `queue-${encode('x')}`;
    const body = uniqueDeal(example('cosell-deal.json'), tag);
    const envelope = { idempotencyKey: `queue-key-${tag}`, referral: body };
    await intake().createIfNotExists();
    await intake().sendMessage(encode(JSON.stringify(envelope)));
    const { trackingId } = identifyRequest(
      { referral: body },
      {
        key: envelope.idempotencyKey,
        source: 'envelope',
      },
    );
    const view = await waitForFinal(sandbox, trackingId);
    expect(view.state).toBe('Linked');
    expect(referralsIn(view.partnerReferral.engagementId)).toHaveLength(2);
  });

  it('records an invalid message as Rejected without retrying it', async () => {
    await intake().createIfNotExists();
    const before = sandbox.partnerCenter.referrals().length;
    const text = '{"name": "missing everything"}';
    await intake().sendMessage(text);
    const view = await waitForFinal(sandbox, trackingIdForInvalidMessage(text));
    expect(view).toMatchObject({ state: 'Rejected', lastError: { step: 'validation', status: 400 } });
    expect(view.lastError.errors.length).toBeGreaterThan(0);
    const poison = QueueServiceClient.fromConnectionString(sandbox.azurite.connectionString).getQueueClient(
      'referral-intake-poison',
    );
    expect(sandbox.partnerCenter.referrals().length).toBe(before);
    expect(
      await poison.exists().then((e) => (e ? poison.peekMessages().then((p) => p.peekedMessageItems.length) : 0)),
    ).toBe(0);
  });
});

describe('validate and health over real HTTP', () => {
  it('validates the documented request example and returns the normalised referral', async () => {
    const response = await call(sandbox, 'POST', '/referrals/validate', example('request-example.json'));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ valid: true, referral: { type: 'Shared' } });
  });

  it.each([
    { case: 'not JSON', body: '{"name": ', headers: { 'Content-Type': 'application/json' }, status: 400 },
    {
      case: 'the wrong content type',
      body: 'name=x',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      status: 415,
    },
    {
      case: 'a body over 256 KiB',
      body: JSON.stringify({ name: 'x'.repeat(300 * 1024) }),
      headers: { 'Content-Type': 'application/json' },
      status: 413,
    },
  ])('answers $status problem+json for $case', async ({ body, headers, status }) => {
    const response = await call(sandbox, 'POST', '/referrals/validate', body, headers);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('reports every dependency as ok', async () => {
    const response = await call(sandbox, 'GET', '/health');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
    expect(Object.keys(response.body.dependencies)).toEqual(
      expect.arrayContaining(['configuration', 'tableStorage', 'partnerCenterTokens']),
    );
  });
});

describe('callbacks', () => {
  it('posts the final tracking view to the callbackUrl without holding up the answer', async () => {
    const received: any[] = [];
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', () => {
        received.push(JSON.parse(text));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const body = {
        ...uniqueDeal(example('partner-led-deal.json'), 'callback-1'),
        callbackUrl: `http://127.0.0.1:${port}/hooks/referrals`,
      };
      const response = await call(sandbox, 'POST', '/referrals', body);
      expect(response.status).toBe(201);
      const delivered = await eventually(async () => received.find((v) => v.trackingId === response.body.trackingId));
      expect(delivered).toMatchObject({
        state: 'Completed',
        final: true,
        partnerReferral: response.body.partnerReferral,
      });
      expect(JSON.stringify(delivered)).not.toContain('@example.com');
    } finally {
      server.close();
    }
  });
});
