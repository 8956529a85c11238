/**
 * The Partner Center referrals simulator over real HTTP (node-fetch), with tokens from the Entra
 * stand-in: every operation, every error path, each fault mode and the control surface.
 */
import { randomUUID } from 'node:crypto';
import { createSandboxTls } from '../../../sandbox/tls';
import { startEntra } from '../../../sandbox/entra/server';
import { startPartnerCenter, type RunningPartnerCenter } from '../../../sandbox/partner-center/server';
import { APP_CLIENT, PARTNER_ORG, TENANT_ID, call, form, guardNetwork, startStandIns, type StandIns } from './standIns';

const AUDIENCE = 'https://api.partner.microsoft.com';
/** Response bodies are arbitrary JSON probed by assertions: `any` keeps the assertions readable. */
type Json = Record<string, any>;

/** A small valid referral body. */
function referralBody(overrides: Json = {}): Json {
  return {
    name: 'Contoso supply chain',
    type: 'Independent',
    externalReferenceId: `crm-${randomUUID()}`,
    customerProfile: {
      name: 'Contoso',
      address: { addressLine1: 'One Way', city: 'Redmond', country: 'US' },
      team: [],
    },
    consent: { consentToContact: true, consentToShareReferralWithMicrosoftSellers: false },
    details: { dealValue: 25_000, currency: 'USD', closingDateTime: '2027-01-31T00:00:00Z', notes: 'first notes' },
    ...overrides,
  };
}

describe('Partner Center referrals simulator', () => {
  let sandbox: StandIns;
  let pcUrl: string;
  let token: string;
  let network: ReturnType<typeof guardNetwork>;

  beforeAll(async () => {
    network = guardNetwork();
    sandbox = await startStandIns();
    pcUrl = sandbox.partnerCenter.referralsUrl;
    token = sandbox.entra.issueAccessToken({ audience: AUDIENCE });
  });

  afterAll(async () => {
    await sandbox.close();
    network.restore();
  });

  afterEach(() => sandbox.partnerCenter.clearFaults());

  interface Sent {
    status: number;
    body: Json;
    headers: { get(name: string): string | null };
  }

  async function send(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; token?: string | null; base?: string } = {},
  ): Promise<Sent> {
    const bearer = options.token === undefined ? token : options.token;
    const response = await call(`${options.base ?? pcUrl}${path}`, {
      method,
      headers: {
        ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
        ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...options.headers,
      },
      body:
        options.body === undefined
          ? undefined
          : typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, headers: response.headers };
  }

  const create = async (overrides: Json = {}, headers: Record<string, string> = {}) => {
    const result = await send('POST', '', { body: referralBody(overrides), headers });
    expect(result.status).toBe(201);
    return result.body;
  };

  describe('create', () => {
    it('creates a referral with server-assigned identity, defaults, eTag and links', async () => {
      const correlationId = randomUUID();
      const result = await send('POST', '', { body: referralBody(), headers: { 'MS-CorrelationId': correlationId } });
      expect(result.status).toBe(201);
      expect(result.headers.get('ms-correlationid')).toBe(correlationId);
      const referral = result.body;
      expect(referral).toMatchObject({
        organizationId: PARTNER_ORG.id,
        organizationName: PARTNER_ORG.name,
        status: 'New',
        substatus: 'Pending',
        direction: 'Outgoing',
        type: 'Independent',
        links: {
          self: { uri: `${pcUrl}/${referral.id}`, method: 'GET' },
          relatedReferrals: { uri: `${pcUrl}?$filter=engagementId eq '${referral.engagementId}'`, method: 'GET' },
        },
      });
      expect(referral.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(referral.engagementId).toMatch(/^[0-9a-f-]{36}$/);
      expect(referral.eTag).toMatch(/^".+"$/);
      expect(result.headers.get('etag')).toBe(referral.eTag);
      expect(Date.parse(referral.createdDateTime)).not.toBeNaN();
      expect(referral.updatedDateTime).toBe(referral.createdDateTime);
    });

    it.each([
      ['no type', { type: undefined }, 'type'],
      ['an unknown type', { type: 'Private' }, 'type'],
      ['no customerProfile', { customerProfile: undefined }, 'customerProfile'],
      ['no consent', { consent: undefined }, 'consent'],
      ['no details', { details: undefined }, 'details'],
      [
        'a three-letter country',
        { customerProfile: { name: 'C', address: { country: 'USA' } } },
        'customerProfile.address.country',
      ],
      ['no customer name', { customerProfile: { address: { country: 'US' } } }, 'customerProfile.name'],
      ['a substatus that does not go with the status', { status: 'New', substatus: 'Won' }, 'substatus'],
      ['Closed without a substatus', { status: 'Closed' }, 'substatus'],
      ['an unknown status', { status: 'Open' }, 'status'],
      ['an unknown qualification', { qualification: 'Hot' }, 'qualification'],
      ['an unknown target type', { target: [{ type: 'Partner', id: 'x' }] }, 'target[0].type'],
      ['a negative deal value', { details: { dealValue: -1 } }, 'details.dealValue'],
      ['a malformed currency', { details: { currency: 'US Dollar' } }, 'details.currency'],
      ['a malformed closing date', { details: { closingDateTime: 'next tuesday' } }, 'details.closingDateTime'],
      ['a malformed contact email', { team: [{ firstName: 'A', email: 'not-an-email' }] }, 'team[0].email'],
      [
        'an unknown customer size',
        { customerProfile: { name: 'C', address: { country: 'US' }, size: 'huge' } },
        'customerProfile.size',
      ],
      ['a malformed engagementId', { engagementId: 'engagement-1' }, 'engagementId'],
      ['an unknown engagementId', { engagementId: randomUUID() }, 'engagementId'],
    ])('refuses a body with %s: 400 invalidRequest naming the target', async (_label, overrides, target) => {
      const result = await send('POST', '', { body: referralBody(overrides) });
      expect(result.status).toBe(400);
      expect(result.body).toEqual({ error: { code: 'invalidRequest', message: expect.any(String), target } });
    });

    it('refuses a body that is not JSON or not an object', async () => {
      expect((await send('POST', '', { body: '{"type":' })).body.error).toMatchObject({
        code: 'invalidRequest',
        target: 'body',
      });
      expect((await send('POST', '', { body: [referralBody()] })).body.error).toMatchObject({
        code: 'invalidRequest',
        target: 'body',
      });
    });

    it('matches property names and enum values case-insensitively and stores the canonical spelling', async () => {
      const referral = await create({
        type: 'shared',
        qualification: 'salesqualified',
        consent: { ConsentToToShareInfoWithOthers: true, ConsentToContact: true },
        customerProfile: {
          Name: 'Contoso',
          Address: { Country: 'us' },
          ids: [{ profileType: 'external', id: '9-X' }],
          size: '10TO50EMPLOYEES',
        },
      });
      expect(referral).toMatchObject({
        type: 'Shared',
        qualification: 'SalesQualified',
        consent: { consentToToShareInfoWithOthers: true, consentToContact: true },
        customerProfile: {
          name: 'Contoso',
          address: { country: 'US' },
          ids: [{ profileType: 'External', id: '9-X' }],
          size: '10to50employees',
        },
      });
    });

    it('derives the status from a lone substatus, and keeps a valid status pair', async () => {
      expect(await create({ substatus: 'Received' })).toMatchObject({ status: 'New', substatus: 'Received' });
      expect(await create({ status: 'Active' })).toMatchObject({ status: 'Active', substatus: 'Accepted' });
    });

    it('joins an existing engagement, and keeps organizationId msft for a Microsoft-side referral', async () => {
      const partner = await create({ type: 'Shared' });
      const microsoft = await create({
        type: 'Shared',
        engagementId: partner.engagementId,
        organizationId: 'msft',
        organizationName: 'Microsoft',
      });
      expect(microsoft.engagementId).toBe(partner.engagementId);
      expect(microsoft.id).not.toBe(partner.id);
      expect(microsoft).toMatchObject({ organizationId: 'msft', organizationName: 'Microsoft' });
    });

    it('ignores server-owned fields sent in the body', async () => {
      const referral = await create({
        id: 'mine',
        eTag: '"mine"',
        organizationId: 'someone-else',
        direction: 'Incoming',
        createdDateTime: '2000-01-01T00:00:00Z',
      });
      expect(referral.id).not.toBe('mine');
      expect(referral.eTag).not.toBe('"mine"');
      expect(referral).toMatchObject({ organizationId: PARTNER_ORG.id, direction: 'Outgoing' });
      expect(referral.createdDateTime).not.toBe('2000-01-01T00:00:00Z');
    });

    it('answers a repeated MS-RequestId with the original result and creates nothing', async () => {
      const requestId = randomUUID();
      const before = sandbox.partnerCenter.stats();
      const first = await send('POST', '', { body: referralBody(), headers: { 'MS-RequestId': requestId } });
      const second = await send('POST', '', {
        body: referralBody({ name: 'different body' }),
        headers: { 'MS-RequestId': requestId },
      });
      expect(second.status).toBe(first.status);
      expect(second.body).toEqual(first.body);
      expect(second.headers.get('ms-requestid')).toBe(requestId);
      const after = sandbox.partnerCenter.stats();
      expect(after.referrals).toBe(before.referrals + 1);
      expect(after.idempotentReplays).toBe(before.idempotentReplays + 1);
    });

    it('refuses an MS-RequestId that is not a GUID', async () => {
      const result = await send('POST', '', { body: referralBody(), headers: { 'MS-RequestId': 'retry-1' } });
      expect(result.status).toBe(400);
      expect(result.body.error).toMatchObject({ code: 'invalidRequest', target: 'MS-RequestId' });
    });

    it('can answer creates with 200 instead of 201', async () => {
      const simulator = await startPartnerCenter({ auth: false, createdStatus: 200 });
      try {
        const result = await send('POST', '', { body: referralBody(), base: simulator.referralsUrl, token: null });
        expect(result.status).toBe(200);
        expect(result.body.organizationId).toBe('sandbox-partner');
      } finally {
        await simulator.close();
      }
    });
  });

  describe('get', () => {
    it('returns a stored referral with its ETag', async () => {
      const referral = await create();
      const result = await send('GET', `/${referral.id}`);
      expect(result.status).toBe(200);
      expect(result.body).toEqual(referral);
      expect(result.headers.get('etag')).toBe(referral.eTag);
    });

    it('answers 404 itemNotFound for an unknown id and an unknown path', async () => {
      const result = await send('GET', `/${randomUUID()}`);
      expect(result.status).toBe(404);
      expect(result.body.error.code).toBe('itemNotFound');
      expect((await send('GET', '/a/b')).status).toBe(404);
      expect((await send('DELETE', `/${randomUUID()}`)).status).toBe(405);
    });

    it("hides another organization's referrals", async () => {
      const simulator = await startPartnerCenter({ entra: sandbox.entra.verification });
      try {
        const tokenA = sandbox.entra.issueAccessToken({ audience: AUDIENCE, claims: { tid: 'tenant-a' } });
        const tokenB = sandbox.entra.issueAccessToken({ audience: AUDIENCE, claims: { tid: 'tenant-b' } });
        const created = await send('POST', '', { body: referralBody(), base: simulator.referralsUrl, token: tokenA });
        expect(created.body.organizationId).toBe('tenant-a');
        expect((await send('GET', `/${created.body.id}`, { base: simulator.referralsUrl, token: tokenB })).status).toBe(
          404,
        );
        expect((await send('GET', '', { base: simulator.referralsUrl, token: tokenB })).body.value).toEqual([]);
        expect((await send('GET', `/${created.body.id}`, { base: simulator.referralsUrl, token: tokenA })).status).toBe(
          200,
        );
      } finally {
        await simulator.close();
      }
    });
  });

  describe('list', () => {
    const list = (query: string) => send('GET', `?${query}`);
    const filter = (expression: string) => list(`$filter=${encodeURIComponent(expression)}`);

    it('filters with eq and and on the documented properties', async () => {
      const shared = await create({ type: 'Shared', status: 'Active' });
      await create({ type: 'Shared', engagementId: shared.engagementId, organizationId: 'msft' });
      const byEngagement = await filter(`engagementId eq '${shared.engagementId}'`);
      expect(byEngagement.status).toBe(200);
      expect(byEngagement.body['@odata.context']).toEqual(expect.any(String));
      expect(byEngagement.body.value).toHaveLength(2);

      const combined = await filter(
        `engagementId eq '${shared.engagementId}' and (status eq 'Active' and substatus eq 'Accepted') and type eq 'Shared' and direction eq 'Outgoing'`,
      );
      expect(combined.body.value.map((r: Json) => r.id)).toEqual([shared.id]);
      const microsoft = await filter(`engagementId eq '${shared.engagementId}' and organizationId eq 'msft'`);
      expect(microsoft.body.value).toHaveLength(1);
      expect(
        (await filter(`customerProfile/address/country eq 'US' and engagementId eq '${shared.engagementId}'`)).body
          .value,
      ).toHaveLength(2);
    });

    it("reads quoted strings with '' escaping (externalReferenceId eq 'O''Brien')", async () => {
      const externalReferenceId = `O'Brien ${randomUUID()}`;
      const referral = await create({ externalReferenceId });
      const result = await filter(`externalReferenceId eq '${externalReferenceId.replace(/'/g, "''")}'`);
      expect(result.body.value.map((r: Json) => r.id)).toEqual([referral.id]);
    });

    it.each([
      ["status eq 'New' or status eq 'Active'", /'or' is not supported/],
      ["status ne 'New'", /'ne' is not supported/],
      ["contains(name, 'x')", /function 'contains'/],
      ["team/any(t:t/email eq 'a@b.c')", /.+/],
      ["dealValue eq '5'", /cannot be filtered on/],
      ['status eq 5', /quoted string literal/],
      ["status eq 'New", /unterminated/],
      ["(status eq 'New'", /expected '\)'/],
      ["status eq 'New' status eq 'Active'", /unexpected/],
      ["Status eq 'New'", /cannot be filtered on/],
    ])('refuses the filter %s with 400 invalidRequest', async (expression, message) => {
      const result = await filter(expression);
      expect(result.status).toBe(400);
      expect(result.body.error).toMatchObject({ code: 'invalidRequest', target: '$filter', message });
    });

    it('orders by createdDateTime or updatedDateTime, ascending or descending', async () => {
      const tag = `order-${randomUUID()}`;
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await create({ externalReferenceId: tag })).id);
      const f = `$filter=${encodeURIComponent(`externalReferenceId eq '${tag}'`)}`;
      expect((await list(`${f}&$orderby=createdDateTime desc`)).body.value.map((r: Json) => r.id)).toEqual(
        [...ids].reverse(),
      );
      expect((await list(`${f}&$orderby=createdDateTime asc`)).body.value.map((r: Json) => r.id)).toEqual(ids);
      await send('PATCH', `/${ids[1]}`, { body: [{ op: 'replace', path: '/details/notes', value: 'touched' }] });
      expect((await list(`${f}&$orderby=updatedDateTime desc`)).body.value[0].id).toBe(ids[1]);
      const invalid = await list(`${f}&$orderby=name`);
      expect(invalid.status).toBe(400);
      expect(invalid.body.error.target).toBe('$orderby');
    });

    it('pages by at most 100 with @odata.nextLink and $skiptoken, honouring $top, $skip and $count', async () => {
      const tag = `paging-${randomUUID()}`;
      const created = new Set<string>();
      for (let i = 0; i < 230; i++) created.add((await create({ externalReferenceId: tag })).id);
      const f = `$filter=${encodeURIComponent(`externalReferenceId eq '${tag}'`)}`;

      const seen: string[] = [];
      const pageSizes: number[] = [];
      let next: string | undefined = `${pcUrl}?${f}&$count=true`;
      for (let page = 0; next && page < 10; page++) {
        const result: Sent = await send('GET', '', { base: next });
        expect(result.status).toBe(200);
        expect(result.body['@odata.count']).toBe(230);
        pageSizes.push(result.body.value.length);
        seen.push(...result.body.value.map((r: Json) => r.id));
        next = result.body['@odata.nextLink'];
        if (next) expect(next).toContain('$skiptoken=');
      }
      expect(pageSizes).toEqual([100, 100, 30]);
      expect(new Set(seen)).toEqual(created);

      const top = await list(`${f}&$top=150`);
      expect(top.body.value).toHaveLength(100);
      const rest = await send('GET', '', { base: top.body['@odata.nextLink'] });
      expect(rest.body.value).toHaveLength(50);
      expect(rest.body['@odata.nextLink']).toBeUndefined();

      const skipped = await list(`${f}&$skip=220&$top=5`);
      expect(skipped.body.value.map((r: Json) => r.id)).toEqual([...created].slice(220, 225));
      expect((await list(`${f}&$top=2&$select=name,status`)).body.value[0]).toEqual({
        id: expect.any(String),
        name: 'Contoso supply chain',
        status: 'New',
      });
    });

    it('refuses unknown query options, bad numbers and forged skip tokens', async () => {
      for (const query of ['$expand=team', '$top=-1', '$skip=x', '$skiptoken=garbage', '$count=yes']) {
        const result = await list(query);
        expect(result.status).toBe(400);
        expect(result.body.error.code).toBe('invalidRequest');
      }
    });
  });

  describe('patch', () => {
    it('applies replace and add, answering 204 with the new ETag, or the referral with Prefer: return=representation', async () => {
      const referral = await create({ team: [] });
      const quiet = await send('PATCH', `/${referral.id}`, {
        body: [{ op: 'replace', path: '/details/notes', value: 'second notes' }],
      });
      expect(quiet.status).toBe(204);
      expect(quiet.headers.get('etag')).not.toBe(referral.eTag);

      const loud = await send('PATCH', `/${referral.id}`, {
        body: [
          { op: 'add', path: '/team/-', value: { firstName: 'Ann', lastName: 'Lee', email: 'ann@partner.example' } },
          { op: 'replace', path: '/details/dealValue', value: 30_000 },
        ],
        headers: { Prefer: 'return=representation' },
      });
      expect(loud.status).toBe(200);
      expect(loud.body).toMatchObject({
        details: { notes: 'second notes', dealValue: 30_000 },
        team: [{ firstName: 'Ann' }],
        id: referral.id,
        engagementId: referral.engagementId,
      });
      expect(loud.body.eTag).toBe(loud.headers.get('etag'));
      expect(loud.body.createdDateTime).toBe(referral.createdDateTime);
    });

    it.each([
      ['a remove op', [{ op: 'remove', path: '/details/notes' }], '[0].op'],
      ['a move op', [{ op: 'move', from: '/name', path: '/statusReason', value: 1 }], '[0].op'],
      ['a read-only field', [{ op: 'replace', path: '/id', value: 'x' }], '/id'],
      ['the engagementId', [{ op: 'replace', path: '/engagementId', value: randomUUID() }], '/engagementId'],
      [
        'a replace of a missing value',
        [{ op: 'replace', path: '/details/unknownField', value: 1 }],
        '/details/unknownField',
      ],
      ['a path through nothing', [{ op: 'add', path: '/nothing/here', value: 1 }], '/nothing/here'],
      ['a body that is not an array', { op: 'replace', path: '/name', value: 'x' }, 'body'],
      ['an op without value', [{ op: 'replace', path: '/name' }], '[0].value'],
      ['a result that breaks the contract', [{ op: 'replace', path: '/type', value: 'Private' }], 'type'],
      ['a status pair off the table', [{ op: 'replace', path: '/substatus', value: 'Accepted' }], 'substatus'],
    ])('refuses %s with 400 invalidRequest', async (_label, body, target) => {
      const referral = await create();
      const result = await send('PATCH', `/${referral.id}`, { body });
      expect(result.status).toBe(400);
      expect(result.body.error).toMatchObject({ code: 'invalidRequest', target });
      expect((await send('GET', `/${referral.id}`)).body.eTag).toBe(referral.eTag);
    });

    it('follows the status table: New → Active → Closed, never back, and nothing after a terminal state', async () => {
      const referral = await create();
      const to = (status: string, substatus: string) =>
        send('PATCH', `/${referral.id}`, {
          body: [
            { op: 'replace', path: '/status', value: status },
            { op: 'replace', path: '/substatus', value: substatus },
          ],
        });
      expect((await to('Active', 'Accepted')).status).toBe(204);
      const back = await to('New', 'Pending');
      expect(back.status).toBe(400);
      expect(back.body.error.message).toMatch(/Active cannot change to New/);
      expect((await to('Closed', 'Won')).status).toBe(204);
      const closed = (await send('GET', `/${referral.id}`)).body;
      expect(closed.closedDateTime).toEqual(expect.any(String));
      const afterWon = await send('PATCH', `/${referral.id}`, {
        body: [{ op: 'replace', path: '/details/notes', value: 'late' }],
      });
      expect(afterWon.status).toBe(400);
      expect(afterWon.body.error).toMatchObject({
        code: 'invalidRequest',
        target: 'status',
        message: expect.stringMatching(/terminal/),
      });
    });

    it('uses If-Match when given: a stale eTag gets 412 preconditionFailed, the current one passes', async () => {
      const referral = await create();
      await send('PATCH', `/${referral.id}`, { body: [{ op: 'replace', path: '/name', value: 'renamed' }] });
      const stale = await send('PATCH', `/${referral.id}`, {
        body: [{ op: 'replace', path: '/name', value: 'again' }],
        headers: { 'If-Match': referral.eTag },
      });
      expect(stale.status).toBe(412);
      expect(stale.body.error).toMatchObject({ code: 'preconditionFailed', target: 'If-Match' });
      const current = (await send('GET', `/${referral.id}`)).body.eTag;
      expect(
        (
          await send('PATCH', `/${referral.id}`, {
            body: [{ op: 'replace', path: '/name', value: 'again' }],
            headers: { 'If-Match': current },
          })
        ).status,
      ).toBe(204);
      expect(
        (
          await send('PATCH', `/${referral.id}`, {
            body: [{ op: 'replace', path: '/name', value: 'star' }],
            headers: { 'If-Match': '*' },
          })
        ).status,
      ).toBe(204);
    });

    it('answers 404 for an unknown referral', async () => {
      expect(
        (await send('PATCH', `/${randomUUID()}`, { body: [{ op: 'replace', path: '/name', value: 'x' }] })).status,
      ).toBe(404);
    });
  });

  describe('put', () => {
    const fullUpdate = (referral: Json, changes: Json = {}) => {
      const { links: _links, ...rest } = referral;
      return { ...rest, ...changes };
    };

    it('replaces the whole referral when If-Match carries the current eTag', async () => {
      const referral = await create();
      const result = await send('PUT', `/${referral.id}`, {
        body: fullUpdate(referral, { name: 'replaced', details: { dealValue: 1, currency: 'EUR' } }),
        headers: { 'If-Match': referral.eTag },
      });
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({
        id: referral.id,
        name: 'replaced',
        details: { dealValue: 1, currency: 'EUR' },
        links: referral.links,
      });
      expect(result.body.details.notes).toBeUndefined();
      expect(result.body.eTag).not.toBe(referral.eTag);
    });

    it('refuses a full update without If-Match (400), with links (400), with a stale eTag (412) or without required fields (400)', async () => {
      const referral = await create();
      const noIfMatch = await send('PUT', `/${referral.id}`, { body: fullUpdate(referral) });
      expect(noIfMatch.status).toBe(400);
      expect(noIfMatch.body.error).toMatchObject({ code: 'invalidRequest', target: 'If-Match' });

      const withLinks = await send('PUT', `/${referral.id}`, {
        body: referral,
        headers: { 'If-Match': referral.eTag },
      });
      expect(withLinks.body.error).toMatchObject({ code: 'invalidRequest', target: 'links' });

      const stale = await send('PUT', `/${referral.id}`, {
        body: fullUpdate(referral),
        headers: { 'If-Match': '"stale"' },
      });
      expect(stale.status).toBe(412);

      const { details: _details, ...withoutDetails } = fullUpdate(referral);
      const incomplete = await send('PUT', `/${referral.id}`, {
        body: withoutDetails,
        headers: { 'If-Match': referral.eTag },
      });
      expect(incomplete.body.error).toMatchObject({ code: 'invalidRequest', target: 'details' });

      const moved = await send('PUT', `/${referral.id}`, {
        body: fullUpdate(referral, { engagementId: randomUUID() }),
        headers: { 'If-Match': referral.eTag },
      });
      expect(moved.body.error).toMatchObject({ code: 'invalidRequest', target: 'engagementId' });
    });

    it('refuses a full update of a closed referral', async () => {
      const referral = await create({ status: 'Closed', substatus: 'Lost', statusReason: 'Budget' });
      const result = await send('PUT', `/${referral.id}`, {
        body: fullUpdate(referral, { name: 'reopen' }),
        headers: { 'If-Match': referral.eTag },
      });
      expect(result.status).toBe(400);
      expect(result.body.error.message).toMatch(/terminal/);
    });
  });

  describe('authentication', () => {
    it('accepts an App+User token redeemed from a refresh token at the Entra stand-in', async () => {
      const response = await call(sandbox.entra.tokenUrl, {
        method: 'POST',
        httpsAgent: sandbox.agent,
        ...form({
          grant_type: 'refresh_token',
          refresh_token: sandbox.entra.issueRefreshToken(),
          resource: AUDIENCE,
          client_id: APP_CLIENT.clientId,
          client_secret: APP_CLIENT.clientSecret,
        }),
      });
      const { access_token } = (await response.json()) as { access_token: string };
      expect((await send('GET', '', { token: access_token })).status).toBe(200);
    });

    it.each([
      ['no token', () => null],
      ['an expired token', () => sandbox.entra.issueAccessToken({ audience: AUDIENCE, lifetimeSeconds: -5 })],
      [
        'a token for another audience',
        () => sandbox.entra.issueAccessToken({ audience: 'https://api.partnercenter.microsoft.com' }),
      ],
      ['a token without the mfa claim', () => sandbox.entra.issueAccessToken({ audience: AUDIENCE, amr: ['pwd'] })],
      ['a garbled token', () => 'not.a.jwt'],
    ])('answers 401 unauthenticated for %s', async (_label, makeToken) => {
      const result = await send('GET', '', { token: makeToken() });
      expect(result.status).toBe(401);
      expect(result.body.error).toMatchObject({ code: 'unauthenticated' });
    });

    it('answers 401 for a token signed by another key', async () => {
      const tls = await createSandboxTls();
      const impostor = await startEntra({ tls, tenantId: TENANT_ID, clients: [APP_CLIENT] });
      try {
        const result = await send('GET', '', { token: impostor.issueAccessToken({ audience: AUDIENCE }) });
        expect(result.status).toBe(401);
      } finally {
        await impostor.close();
      }
    });

    it('answers 403 accessDenied for an app-only token', async () => {
      const result = await send('POST', '', {
        body: referralBody(),
        token: sandbox.entra.issueAccessToken({ audience: AUDIENCE, user: null }),
      });
      expect(result.status).toBe(403);
      expect(result.body.error).toMatchObject({ code: 'accessDenied' });
    });
  });

  describe('faults', () => {
    let isolated: RunningPartnerCenter;
    let nowMs = 1_800_000_000_000;

    beforeAll(async () => {
      isolated = await startPartnerCenter({ auth: false, seed: 5, nowMs: () => nowMs });
    });
    afterAll(() => isolated.close());
    beforeEach(() => isolated.reset());

    const onIsolated = (
      method: string,
      path: string,
      options: { body?: unknown; headers?: Record<string, string> } = {},
    ) => send(method, path, { ...options, base: isolated.referralsUrl, token: null });

    it('delays without blocking other requests', async () => {
      isolated.setFaults({ latency: { fixedMs: 400, operations: ['create'] } });
      const finished: string[] = [];
      const slow = onIsolated('POST', '', { body: referralBody() }).then(() => finished.push('create'));
      await new Promise((resolve) => setImmediate(resolve));
      const fast = onIsolated('GET', '').then(() => finished.push('list'));
      await Promise.all([slow, fast]);
      expect(finished).toEqual(['list', 'create']);
      expect(isolated.stats().faults.latency).toBe(1);
    });

    it('answers 429 with Retry-After and the documented body', async () => {
      isolated.setFaults({ rateLimit: { probability: 1, retryAfterSeconds: 57 } });
      const result = await onIsolated('POST', '', { body: referralBody() });
      expect(result.status).toBe(429);
      expect(result.headers.get('retry-after')).toBe('57');
      expect(result.body).toEqual({ statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' });
      expect(isolated.stats()).toMatchObject({
        referrals: 0,
        faults: { rateLimit: 1 },
        calls: { create: { '429': 1 } },
      });
    });

    it('enforces a requests-per-second budget in one-second windows', async () => {
      isolated.setFaults({ rateLimit: { requestsPerSecond: 2 } });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await onIsolated('GET', '')).status);
      nowMs += 1000;
      statuses.push((await onIsolated('GET', '')).status);
      expect(statuses).toEqual([200, 200, 429, 200]);
    });

    it('answers 500 generalException and 503 serviceNotAvailable', async () => {
      isolated.setFaults({ serverErrors: { probability: 1, statuses: [500] } });
      expect((await onIsolated('GET', '')).body.error.code).toBe('generalException');
      isolated.setFaults({ serverErrors: { probability: 1, statuses: [503] } });
      const unavailable = await onIsolated('GET', '');
      expect(unavailable.status).toBe(503);
      expect(unavailable.body.error.code).toBe('serviceNotAvailable');
      expect(isolated.stats().faults).toMatchObject({ status500: 1, status503: 1 });
    });

    it('targets only the named operations', async () => {
      isolated.setFaults({ serverErrors: { probability: 1, operations: ['create'] } });
      expect((await onIsolated('GET', '')).status).toBe(200);
      expect((await onIsolated('POST', '', { body: referralBody() })).status).toBeGreaterThanOrEqual(500);
    });

    it('commits a create, then drops the connection; the retry with the same MS-RequestId gets the stored referral', async () => {
      isolated.setFaults({ commitThenDrop: { probability: 1 } });
      const requestId = randomUUID();
      await expect(
        onIsolated('POST', '', { body: referralBody(), headers: { 'MS-RequestId': requestId } }),
      ).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect(isolated.referrals()).toHaveLength(1);
      isolated.clearFaults();
      const retry = await onIsolated('POST', '', { body: referralBody(), headers: { 'MS-RequestId': requestId } });
      expect(retry.status).toBe(201);
      expect(retry.body.id).toBe(isolated.referrals()[0].id);
      expect(isolated.referrals()).toHaveLength(1);
      expect(isolated.stats()).toMatchObject({
        idempotentReplays: 1,
        faults: { commitThenDrop: 1 },
        calls: { create: { dropped: 1, '201': 1 } },
      });
    });

    it('repeats the same faults for the same seed and configuration', async () => {
      const run = async () => {
        isolated.reset();
        isolated.setFaults({ seed: 42, serverErrors: { probability: 0.3 }, rateLimit: { probability: 0.2 } });
        const statuses: number[] = [];
        for (let i = 0; i < 25; i++) statuses.push((await onIsolated('GET', '')).status);
        return statuses;
      };
      const first = await run();
      expect(new Set(first).size).toBeGreaterThan(1);
      expect(await run()).toEqual(first);
    });

    it('is driven at run time through the control surface, with inspection and reset', async () => {
      const control = `${isolated.url}/_sandbox`;
      const json = { 'Content-Type': 'application/json' };
      const set = await call(`${control}/faults`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({
          latency: { minMs: 1, maxMs: 2, spikeProbability: 0 },
          commitThenDrop: { probability: 0 },
        }),
      });
      expect(set.status).toBe(200);
      expect(await (await call(`${control}/faults`)).json()).toMatchObject({ latency: { minMs: 1, maxMs: 2 } });
      const invalid = await call(`${control}/faults`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ serverErrors: { probability: 2 } }),
      });
      expect(invalid.status).toBe(400);
      expect((await call(`${control}/faults`, { method: 'DELETE' })).status).toBe(204);
      expect(await (await call(`${control}/faults`)).json()).toEqual({});

      await onIsolated('POST', '', { body: referralBody() });
      const stored = (await (await call(`${control}/referrals`)).json()) as { value: Json[]; count: number };
      expect(stored.count).toBe(1);
      const stats = (await (await call(`${control}/stats`)).json()) as Json;
      expect(stats).toMatchObject({ referrals: 1, calls: { create: { '201': 1 } } });
      expect((await call(`${control}/reset`, { method: 'POST' })).status).toBe(204);
      expect(isolated.referrals()).toEqual([]);
    });
  });

  it('counts calls by operation and status', () => {
    const stats = sandbox.partnerCenter.stats();
    expect(stats.calls.create['201']).toBeGreaterThan(0);
    expect(stats.calls.create['400']).toBeGreaterThan(0);
    expect(stats.calls.list['200']).toBeGreaterThan(0);
    expect(stats.calls.patch['412']).toBeGreaterThan(0);
    expect(network.attempted).toEqual([]);
  });
});
