/**
 * Changes to referrals over real HTTP and the events each one sends: Microsoft's decision on the
 * Microsoft referral, inbound referrals, a person's edit in the UI, PATCH/PUT as the reference has them
 * (read-only fields, If-Match, terminal states), and the `clientErrors` fault.
 */
import { randomUUID } from 'node:crypto';
import { startPartnerCenter } from '../../../sandbox/partner-center/server';
import { PARTNER_ORG, call, guardNetwork, startStandIns, type StandIns } from './standIns';
import { startEventReceiver, verifyReceivedEvent, type EventReceiver } from './eventReceiver';

/** Response bodies are arbitrary JSON probed by assertions: `any` keeps the assertions readable. */
type Json = Record<string, any>;

const EVENT_HOST = 'https://events.partnercenter.example';

const referralBody = (overrides: Json = {}): Json => ({
  name: 'Contoso supply chain',
  type: 'Shared',
  customerProfile: {
    name: 'Contoso',
    address: { city: 'Redmond', country: 'US' },
    ids: [{ profileType: 'Duns', id: '123456789' }],
    team: [],
  },
  consent: { consentToContact: true, consentToShareReferralWithMicrosoftSellers: true },
  details: { dealValue: 50_000, currency: 'USD', notes: 'first notes' },
  ...overrides,
});

describe('changes to referrals and their events', () => {
  let sandbox: StandIns;
  let receiver: EventReceiver;
  let token: string;
  let network: ReturnType<typeof guardNetwork>;

  beforeAll(async () => {
    network = guardNetwork();
    receiver = await startEventReceiver();
    sandbox = await startStandIns({
      partnerCenter: { webhooks: { retryBaseDelayMs: 1, retryMaxDelayMs: 4, eventResourceBaseUrl: EVENT_HOST } },
    });
    token = sandbox.entra.issueAccessToken({ audience: 'https://api.partner.microsoft.com' });
  });

  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
    network.restore();
  });

  beforeEach(async () => {
    // Let the previous test's deliveries land before forgetting them (reset cancels, but a request
    // already on the wire still reaches the receiver).
    await sandbox.partnerCenter.eventsSettled();
    sandbox.partnerCenter.reset({ registrations: true });
    sandbox.partnerCenter.registerWebhook({ webhookUrl: receiver.url });
    receiver.received.length = 0;
  });

  const pc = () => sandbox.partnerCenter;

  async function send(
    method: string,
    url: string,
    options: { body?: unknown; headers?: Record<string, string>; token?: string | null } = {},
  ): Promise<{ status: number; body: Json; headers: { get(name: string): string | null } }> {
    const bearer = options.token === undefined ? token : options.token;
    const response = await call(url, {
      method,
      headers: {
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, headers: response.headers };
  }

  const api = (path = '') => `${pc().referralsUrl}${path}`;
  const control = (path: string) => `${pc().url}/_sandbox${path}`;
  const create = async (overrides: Json = {}) => {
    const result = await send('POST', api(), { body: referralBody(overrides) });
    expect(result.status).toBe(201);
    return result.body;
  };
  /** The partner's referral and the Microsoft referral of the same engagement (the two-step co-sell). */
  const coSell = async () => {
    const own = await create();
    const microsoft = await create({ engagementId: own.engagementId, organizationId: 'msft', target: [] });
    return { own, microsoft };
  };
  const get = async (id: string) => (await send('GET', api(`/${id}`))).body;
  /**
   * Events received so far as [EventName, referral id of ResourceUri], in the order the changes were
   * published (deliveries run in parallel, so arrival order is not guaranteed, as with Partner Center).
   */
  const received = async () => {
    await pc().eventsSettled();
    const published = pc()
      .deliveries()
      .map((d) => JSON.stringify(d.event));
    const position = (raw: Buffer) => published.indexOf(raw.toString('utf8'));
    expect(receiver.received.every((e) => position(e.raw) >= 0)).toBe(true);
    return [...receiver.received]
      .sort((a, b) => position(a.raw) - position(b.raw))
      .map((e) => [e.body.EventName, String(e.body.ResourceUri).split('/').pop()]);
  };
  const decide = (id: string, body: Json) =>
    send('POST', control(`/referrals/${id}/microsoft-decision`), { body, token: null });

  describe('events of our own changes', () => {
    it('sends referral-created for our referral and related-referral-created for the Microsoft one', async () => {
      const { own, microsoft } = await coSell();
      expect(await received()).toEqual([
        ['referral-created', own.id],
        ['related-referral-created', microsoft.id],
      ]);
      const created = receiver.received.find((e) => e.body.EventName === 'referral-created');
      expect(created?.body.ResourceUri).toBe(`${EVENT_HOST}/engagements/v1/referrals/${own.id}`);
      for (const event of receiver.received)
        await expect(verifyReceivedEvent(event, sandbox.tls.caPem)).resolves.toBe(true);
    });

    it('sends referral-updated for a PATCH and a PUT, with ResourceChangeUtcDate = the new updatedDateTime', async () => {
      const referral = await create();
      await send('PATCH', api(`/${referral.id}`), { body: [{ op: 'replace', path: '/details/notes', value: 'b' }] });
      const patched = await get(referral.id);
      const { links: _links, ...full } = patched;
      const put = await send('PUT', api(`/${referral.id}`), {
        body: { ...full, name: 'renamed' },
        headers: { 'If-Match': patched.eTag },
      });
      expect(put.status).toBe(200);
      expect(await received()).toEqual([
        ['referral-created', referral.id],
        ['referral-updated', referral.id],
        ['referral-updated', referral.id],
      ]);
      const dates = receiver.received.map((e) => String(e.body.ResourceChangeUtcDate)).sort();
      // Every change has its own, later updatedDateTime: the receiver can order them by it.
      expect(dates).toEqual([referral.updatedDateTime, patched.updatedDateTime, put.body.updatedDateTime]);
      expect(new Set(dates).size).toBe(3);
    });

    it('sends nothing for an idempotent replay of a create', async () => {
      const requestId = randomUUID();
      await send('POST', api(), { body: referralBody(), headers: { 'MS-RequestId': requestId } });
      await send('POST', api(), { body: referralBody(), headers: { 'MS-RequestId': requestId } });
      expect(await received()).toHaveLength(1);
    });

    it('can name the partner referral in related-referral events instead (relatedEventResource: own)', async () => {
      const simulator = await startPartnerCenter({ auth: false, webhooks: { relatedEventResource: 'own' } });
      try {
        simulator.registerWebhook({ webhookUrl: receiver.url });
        const post = async (body: Json) => {
          const response = await call(simulator.referralsUrl, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          });
          return (await response.json()) as Json;
        };
        const own = await post(referralBody());
        await post(referralBody({ engagementId: own.engagementId, organizationId: 'msft' }));
        await simulator.eventsSettled();
        expect(receiver.received.map((e) => [e.body.EventName, String(e.body.ResourceUri).split('/').pop()])).toEqual([
          ['referral-created', own.id],
          ['related-referral-created', own.id],
        ]);
      } finally {
        await simulator.close();
      }
    });
  });

  describe('POST /_sandbox/referrals/{id}/microsoft-decision', () => {
    it('Accepted: the Microsoft referral goes Active/Accepted with the MSX id, and related-referral-updated goes out', async () => {
      const { own, microsoft } = await coSell();
      const result = await decide(own.id, { decision: 'Accepted', msxId: '7-ABCDEFGHIJ', reason: 'Seller engaged' });
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({
        id: microsoft.id,
        status: 'Active',
        substatus: 'Accepted',
        statusReason: 'Seller engaged',
        trackingInfo: { microsoftMsxId: '7-ABCDEFGHIJ' },
      });
      expect(result.body.eTag).not.toBe(microsoft.eTag);
      expect(result.headers.get('etag')).toBe(result.body.eTag);
      expect(result.body.updatedDateTime > microsoft.updatedDateTime).toBe(true);
      // What the partner reads through the API, on the related referral of the engagement.
      const listed = await send('GET', api(`?$filter=engagementId eq '${own.engagementId}'`));
      const related = listed.body.value.find((r: Json) => r.organizationId === 'msft');
      expect(related).toEqual(result.body);
      expect((await get(own.id)).eTag).toBe(own.eTag);
      expect((await received()).slice(2)).toEqual([['related-referral-updated', microsoft.id]]);
      const updated = receiver.received.find((e) => e.body.EventName === 'related-referral-updated');
      expect(updated?.body.ResourceChangeUtcDate).toBe(result.body.updatedDateTime);
    });

    it('Accepted without an msxId gets one generated', async () => {
      const { microsoft } = await coSell();
      const result = await decide(microsoft.id, { decision: 'Accepted' });
      expect(result.body.trackingInfo.microsoftMsxId).toMatch(/^7-[0-9A-F]{10}$/);
      expect(result.body.statusReason).toBeNull();
    });

    it.each([
      [
        'Declined',
        'No Microsoft seller directly manages this customer',
        'No Microsoft seller directly manages this customer',
      ],
      ['Declined', undefined, null],
      ['Expired', undefined, null],
    ])(
      '%s (reason given: %s): the Microsoft referral closes, statusReason %s',
      async (decision, reason, statusReason) => {
        const { own, microsoft } = await coSell();
        const result = await decide(own.id, { decision, ...(reason ? { reason } : {}) });
        expect(result.status).toBe(200);
        expect(result.body).toMatchObject({ id: microsoft.id, status: 'Closed', substatus: decision, statusReason });
        expect(result.body.closedDateTime).toBe(result.body.updatedDateTime);
        expect(result.body.trackingInfo.microsoftMsxId).toBeUndefined();
        expect((await received()).slice(2)).toEqual([['related-referral-updated', microsoft.id]]);

        const again = await decide(own.id, { decision: 'Accepted' });
        expect(again.status).toBe(409);
        expect(again.body.error).toMatchObject({ code: 'invalidRequest', message: expect.stringMatching(/closed/) });
      },
    );

    it('lets Microsoft close after accepting (Active → Closed)', async () => {
      const { own } = await coSell();
      await decide(own.id, { decision: 'Accepted', msxId: '7-1' });
      const declined = await decide(own.id, { decision: 'Declined', reason: 'Customer went elsewhere' });
      expect(declined.body).toMatchObject({ substatus: 'Declined', trackingInfo: { microsoftMsxId: '7-1' } });
    });

    it('refuses an engagement without a Microsoft referral (409), an unknown referral (404) and a bad decision (400)', async () => {
      const lonely = await create();
      const noMicrosoft = await decide(lonely.id, { decision: 'Accepted' });
      expect(noMicrosoft.status).toBe(409);
      expect(noMicrosoft.body.error).toMatchObject({ target: 'engagementId' });
      expect((await decide(randomUUID(), { decision: 'Accepted' })).status).toBe(404);
      const bad = await decide(lonely.id, { decision: 'Maybe' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.target).toBe('decision');
    });
  });

  describe('POST /_sandbox/inbound-referrals', () => {
    it('creates an Incoming referral addressed to the partner by Microsoft and sends referral-created', async () => {
      const result = await send('POST', control('/inbound-referrals'), {
        body: referralBody({ name: 'Lead from Microsoft', qualification: 'SalesQualified' }),
        token: null,
      });
      expect(result.status).toBe(201);
      expect(result.body).toMatchObject({
        direction: 'Incoming',
        status: 'New',
        substatus: 'Pending',
        organizationId: PARTNER_ORG.id,
        organizationName: PARTNER_ORG.name,
        inviteContext: { invitedBy: { organizationId: 'msft', organizationName: 'Microsoft' } },
      });
      const listed = await send('GET', api("?$filter=direction eq 'Incoming' and substatus eq 'Pending'"));
      expect(listed.body.value.map((r: Json) => r.id)).toEqual([result.body.id]);
      expect(await received()).toEqual([['referral-created', result.body.id]]);
    });

    it('keeps another sender named in inviteContext.invitedBy, and refuses an invalid body', async () => {
      const invitedBy = { organizationId: randomUUID(), organizationName: 'Fabrikam Partner' };
      const result = await send('POST', control('/inbound-referrals'), {
        body: referralBody({ inviteContext: { notes: 'P2P', invitedBy } }),
        token: null,
      });
      expect(result.body.inviteContext).toEqual({ notes: 'P2P', invitedBy });
      const invalid = await send('POST', control('/inbound-referrals'), { body: { type: 'Shared' }, token: null });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.code).toBe('invalidRequest');
    });
  });

  describe('POST /_sandbox/referrals/{id}/edit (a person in the Partner Center UI)', () => {
    it('applies the patch with a new eTag and updatedDateTime, sends referral-updated, and makes our If-Match fail', async () => {
      const referral = await create();
      const edited = await send('POST', control(`/referrals/${referral.id}/edit`), {
        body: [{ op: 'replace', path: '/details/dealValue', value: 75_000 }],
        token: null,
      });
      expect(edited.status).toBe(200);
      expect(edited.body.details.dealValue).toBe(75_000);
      expect(edited.body.eTag).not.toBe(referral.eTag);
      expect(edited.body.updatedDateTime > referral.updatedDateTime).toBe(true);
      expect(await received()).toEqual([
        ['referral-created', referral.id],
        ['referral-updated', referral.id],
      ]);
      const ours = await send('PATCH', api(`/${referral.id}`), {
        body: [{ op: 'replace', path: '/details/notes', value: 'ours' }],
        headers: { 'If-Match': referral.eTag },
      });
      expect(ours.status).toBe(412);
      expect(ours.body.error.code).toBe('preconditionFailed');
    });

    it('holds to the same rules as PATCH: terminal states, read-only fields, the status table', async () => {
      const referral = await create();
      const edit = (body: Json[]) => send('POST', control(`/referrals/${referral.id}/edit`), { body, token: null });
      expect((await edit([{ op: 'replace', path: '/customerProfile/name', value: 'Other' }])).status).toBe(400);
      expect((await edit([{ op: 'remove', path: '/details/notes' }])).status).toBe(400);
      await edit([
        { op: 'replace', path: '/status', value: 'Closed' },
        { op: 'replace', path: '/substatus', value: 'Lost' },
      ]);
      const late = await edit([{ op: 'replace', path: '/details/notes', value: 'late' }]);
      expect(late.status).toBe(400);
      expect(late.body.error.message).toMatch(/terminal/);
      expect((await send('POST', control(`/referrals/${randomUUID()}/edit`), { body: [], token: null })).status).toBe(
        404,
      );
    });
  });

  describe('PATCH and PUT conformance', () => {
    it.each([
      [
        'the customer name',
        [{ op: 'replace', path: '/customerProfile/name', value: 'Fabrikam' }],
        'customerProfile.name',
      ],
      [
        'the country',
        [{ op: 'replace', path: '/customerProfile/address/country', value: 'FR' }],
        'customerProfile.address.country',
      ],
      [
        'the address',
        [{ op: 'replace', path: '/customerProfile/address/city', value: 'Seattle' }],
        'customerProfile.address',
      ],
      ['the DUNS', [{ op: 'replace', path: '/customerProfile/ids/0/id', value: '987654321' }], 'customerProfile.ids'],
      [
        'a consent flag',
        [{ op: 'replace', path: '/consent/consentToContact', value: false }],
        'consent.consentToContact',
      ],
      [
        'the sharing with Microsoft (cannot be undone)',
        [{ op: 'replace', path: '/consent/consentToShareReferralWithMicrosoftSellers', value: false }],
        'consent.consentToShareReferralWithMicrosoftSellers',
      ],
    ])('refuses a change of %s with 400 and the Partner Center error body', async (_label, body, target) => {
      const referral = await create();
      const result = await send('PATCH', api(`/${referral.id}`), { body });
      expect(result.status).toBe(400);
      expect(result.body).toEqual({ error: { code: 'invalidRequest', message: expect.any(String), target } });
      expect((await get(referral.id)).eTag).toBe(referral.eTag);
    });

    it('allows an upgrade to co-sell: sharing with Microsoft false → true', async () => {
      const referral = await create({
        consent: { consentToContact: true, consentToShareReferralWithMicrosoftSellers: false },
      });
      const result = await send('PATCH', api(`/${referral.id}`), {
        body: [{ op: 'replace', path: '/consent/consentToShareReferralWithMicrosoftSellers', value: true }],
        headers: { Prefer: 'return=representation' },
      });
      expect(result.status).toBe(200);
      expect(result.body.consent.consentToShareReferralWithMicrosoftSellers).toBe(true);
    });

    it('refuses a PUT that changes a read-only field, and takes one that keeps them', async () => {
      const referral = await create();
      const { links: _links, ...full } = referral;
      const renamed = await send('PUT', api(`/${referral.id}`), {
        body: { ...full, customerProfile: { ...full.customerProfile, name: 'Fabrikam' } },
        headers: { 'If-Match': referral.eTag },
      });
      expect(renamed.status).toBe(400);
      expect(renamed.body.error.target).toBe('customerProfile.name');
      const kept = await send('PUT', api(`/${referral.id}`), {
        body: { ...full, details: { ...full.details, dealValue: 60_000 } },
        headers: { 'If-Match': referral.eTag },
      });
      expect(kept.status).toBe(200);
      expect(kept.body.updatedDateTime > referral.updatedDateTime).toBe(true);
    });

    it('changes eTag and updatedDateTime on every change, even within one millisecond', async () => {
      const frozen = Date.parse('2026-12-01T00:00:00Z');
      const simulator = await startPartnerCenter({ auth: false, nowMs: () => frozen });
      try {
        const post = await call(simulator.referralsUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(referralBody()),
        });
        const referral = (await post.json()) as Json;
        const seen = [[referral.eTag, referral.updatedDateTime]];
        for (const notes of ['b', 'c', 'd']) {
          const response = await call(`${simulator.referralsUrl}/${referral.id}`, {
            method: 'PATCH',
            headers: { 'Content-Type': 'application/json', Prefer: 'return=representation' },
            body: JSON.stringify([{ op: 'replace', path: '/details/notes', value: notes }]),
          });
          const body = (await response.json()) as Json;
          seen.push([body.eTag, body.updatedDateTime]);
        }
        expect(new Set(seen.map(([eTag]) => eTag)).size).toBe(4);
        const dates = seen.map(([, date]) => date);
        expect([...dates].sort()).toEqual(dates);
        expect(new Set(dates).size).toBe(4);
      } finally {
        await simulator.close();
      }
    });

    it('answers a change of a terminal referral with 409 when configured so (terminalRefusalStatus)', async () => {
      const simulator = await startPartnerCenter({ auth: false, terminalRefusalStatus: 409 });
      try {
        const post = await call(simulator.referralsUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(referralBody({ status: 'Closed', substatus: 'Won' })),
        });
        const referral = (await post.json()) as Json;
        const patch = await call(`${simulator.referralsUrl}/${referral.id}`, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify([{ op: 'replace', path: '/details/notes', value: 'late' }]),
        });
        expect(patch.status).toBe(409);
        expect(((await patch.json()) as Json).error).toMatchObject({ code: 'invalidRequest', target: 'status' });
      } finally {
        await simulator.close();
      }
    });
  });

  describe('clientErrors fault', () => {
    const setFaults = (faults: Json) => send('POST', control('/faults'), { body: faults, token: null });
    afterEach(() => pc().clearFaults());

    it('refuses creates with the documented error body, stores nothing, and lets a fixed resend through', async () => {
      const set = await setFaults({
        clientErrors: {
          probability: 1,
          statuses: [400],
          operations: ['create'],
          message: 'customerProfile.address.country must be a two-letter ISO 3166 country code.',
          target: 'customerProfile.address.country',
        },
      });
      expect(set.status).toBe(200);
      const refused = await send('POST', api(), { body: referralBody() });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({
        error: {
          code: 'invalidRequest',
          message: 'customerProfile.address.country must be a two-letter ISO 3166 country code.',
          target: 'customerProfile.address.country',
        },
      });
      expect(pc().referrals()).toHaveLength(0);
      expect(await received()).toEqual([]);
      expect((await send('GET', api())).status).toBe(200);
      expect(pc().stats().faults.clientError).toBe(1);

      await send('DELETE', control('/faults'), { token: null });
      expect((await send('POST', api(), { body: referralBody() })).status).toBe(201);
    });

    it.each([
      [401, 'unauthenticated'],
      [403, 'accessDenied'],
      [404, 'itemNotFound'],
      [409, 'invalidRequest'],
      [412, 'preconditionFailed'],
      [422, 'invalidRequest'],
    ])('answers %i with code %s', async (status, code) => {
      await setFaults({ clientErrors: { probability: 1, statuses: [status] } });
      const result = await send('POST', api(), { body: referralBody() });
      expect(result.status).toBe(status);
      expect(result.body.error).toMatchObject({ code, message: expect.any(String) });
    });

    it('refuses an invalid entry and keeps the previous configuration', async () => {
      await setFaults({ clientErrors: { probability: 1, statuses: [400], operations: ['patch'] } });
      const invalid = await setFaults({ clientErrors: { probability: 1, statuses: [500] } });
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.message).toMatch(/clientErrors\.statuses/);
      expect((await send('GET', control('/faults'), { token: null })).body).toEqual({
        clientErrors: { probability: 1, statuses: [400], operations: ['patch'] },
      });
      expect((await send('POST', api(), { body: referralBody() })).status).toBe(201);
    });
  });
});
