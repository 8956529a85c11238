/**
 * Conformance with the documentation: the three example bodies of "Create a referral"
 * (../shared/reference/create-a-referral.txt, copied verbatim into fixtures/ with their placeholders)
 * go through the simulator, and the answers have the documented shape: the keys of the documented
 * response example, a quoted eTag, links, and Step 1 and Step 2 sharing one engagement.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PARTNER_ORG, call, guardNetwork, startStandIns, type StandIns } from './standIns';

/** The documented bodies are arbitrary JSON probed by assertions: `any` keeps the assertions readable. */
type Json = Record<string, any>;

const fixture = (name: string, replacements: Record<string, string> = {}): Json => {
  let text = readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8');
  for (const [placeholder, value] of Object.entries(replacements)) text = text.split(placeholder).join(value);
  expect(text).not.toMatch(/"<[A-Z_ ()]+>"/);
  return JSON.parse(text) as Json;
};

const kind = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

describe('conformance with the documented create-a-referral examples', () => {
  let sandbox: StandIns;
  let token: string;
  let network: ReturnType<typeof guardNetwork>;
  const documentedResponse = fixture('response-example');

  beforeAll(async () => {
    network = guardNetwork();
    sandbox = await startStandIns();
    token = sandbox.entra.issueAccessToken({ audience: 'https://api.partner.microsoft.com' });
  });

  afterAll(async () => {
    await sandbox.close();
    network.restore();
  });

  const send = async (method: string, query: string, body?: Json) => {
    const response = await call(`${sandbox.partnerCenter.referralsUrl}${query}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  /** The documented response's keys are all present, with the documented JSON types where a value is given. */
  const expectDocumentedShape = (referral: Json) => {
    for (const [key, value] of Object.entries(documentedResponse)) {
      expect(referral).toHaveProperty([key]);
      if (value !== null && referral[key] !== null)
        expect(`${key}: ${kind(referral[key])}`).toBe(`${key}: ${kind(value)}`);
    }
    expect(referral.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(referral.engagementId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(referral.eTag).toMatch(/^"[^"]+"$/);
    expect(referral.links).toEqual({
      relatedReferrals: {
        uri: `${sandbox.partnerCenter.referralsUrl}?$filter=engagementId eq '${referral.engagementId}'`,
        method: 'GET',
      },
      self: { uri: `${sandbox.partnerCenter.referralsUrl}/${referral.id}`, method: 'GET' },
    });
  };

  it('creates the request example and answers with the documented response shape', async () => {
    const request = fixture('request-example');
    const { status, body } = await send('POST', '', request);
    expect(status).toBe(201);
    expectDocumentedShape(body);
    expect(body).toMatchObject({
      organizationId: PARTNER_ORG.id,
      organizationName: PARTNER_ORG.name,
      name: request.name,
      type: 'Shared',
      qualification: 'SalesQualified',
      status: 'New',
      substatus: 'Pending',
      target: request.target,
      customerProfile: request.customerProfile,
      consent: request.consent,
      inviteContext: { invitedBy: { organizationId: 'msft' } },
    });
  });

  it('creates the Step 1 partner-led deal and the Step 2 Microsoft referral in one engagement, listed by $filter', async () => {
    const step1 = await send('POST', '', fixture('step1-partner-led', { '<ENTER PARTNER_MPN_ID>': '6543210' }));
    expect(step1.status).toBe(201);
    expectDocumentedShape(step1.body);
    expect(step1.body).toMatchObject({
      organizationId: PARTNER_ORG.id,
      mpnId: '6543210',
      consent: {
        consentToToShareInfoWithOthers: true,
        consentToContact: true,
        consentToShareReferralWithMicrosoftSellers: true,
      },
      customerProfile: { ids: [{ profileType: 'External', id: '9-XIPFFGUQI' }] },
    });

    const step2 = await send(
      'POST',
      '',
      fixture('step2-microsoft', {
        '<ENTER_ENGAGEMENT_ID_OF_PARTNER_REFERRAL>': step1.body.engagementId,
        '<PARTNER_ORGANIZATION_ID (ACCOUNT_ID GUID)>': PARTNER_ORG.id,
        '<INVITING_PARTNERS_ORGANIZATION_NAME>': PARTNER_ORG.name,
      }),
    );
    expect(step2.status).toBe(201);
    expectDocumentedShape(step2.body);
    expect(step2.body).toMatchObject({
      engagementId: step1.body.engagementId,
      organizationId: 'msft',
      organizationName: 'Microsoft',
      inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo', invitedBy: { organizationId: PARTNER_ORG.id } },
    });
    expect(step2.body.id).not.toBe(step1.body.id);

    const related = await send('GET', `?$filter=${encodeURIComponent(`engagementId eq '${step1.body.engagementId}'`)}`);
    expect(related.status).toBe(200);
    expect(related.body.value.map((r: Json) => r.id)).toEqual([step1.body.id, step2.body.id]);
    expect(related.body.value).toEqual([step1.body, step2.body]);

    const relatedLink = new URL(step2.body.links.relatedReferrals.uri);
    const viaLink = await send('GET', `?$filter=${encodeURIComponent(relatedLink.searchParams.get('$filter') ?? '')}`);
    expect(viaLink.body.value).toHaveLength(2);
    expect(network.attempted).toEqual([]);
  });
});
