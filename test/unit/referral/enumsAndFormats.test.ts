import { referralSchema } from '../../../shared/referral';
import { expectInvalid, expectValid, minimalRequest, pointersAndCodes } from './helpers';

/** minimalRequest() with `value` set at `path`. */
function withValue(path: readonly (string | number)[], value: unknown): Record<string, any> {
  const body: Record<string, any> = {
    ...minimalRequest(),
    team: [{}],
    target: [{ type: 'SolutionProfile', id: 'SOL-1' }],
  };
  body.details = { requirements: { solutions: [{ id: 'SOL-1' }] } };
  body.customerProfile.ids = [{ profileType: 'Duns', id: '123456789' }];
  body.inviteContext = {};
  let node = body;
  for (const segment of path.slice(0, -1)) node = node[segment as string];
  node[path[path.length - 1] as string] = value;
  return body;
}

function valueAt(body: Record<string, any>, path: readonly (string | number)[]): unknown {
  return path.reduce<any>((node, segment) => node?.[segment], body);
}

describe('enum values', () => {
  it.each([
    { case: 'status', path: ['status'], sent: 'new', expected: 'New' },
    { case: 'type', path: ['type'], sent: 'SHARED', expected: 'Shared' },
    { case: 'qualification', path: ['qualification'], sent: 'salesqualified', expected: 'SalesQualified' },
    { case: 'target type', path: ['target', 0, 'type'], sent: 'solutionprofile', expected: 'SolutionProfile' },
    {
      case: 'solution tag type',
      path: ['details', 'requirements', 'solutions', 0, 'type'],
      sent: 'category',
      expected: 'Category',
    },
    {
      case: 'assistanceRequestCode',
      path: ['inviteContext', 'assistanceRequestCode'],
      sent: 'proofofconceptordemo',
      expected: 'ProofOfConceptOrDemo',
    },
    { case: 'customer size', path: ['customerProfile', 'size'], sent: '10TO50EMPLOYEES', expected: '10to50employees' },
    { case: 'profile type', path: ['customerProfile', 'ids', 0, 'profileType'], sent: 'duns', expected: 'Duns' },
    { case: 'country', path: ['customerProfile', 'address', 'country'], sent: 'gb', expected: 'GB' },
    { case: 'currency', path: ['details', 'currency'], sent: 'eur', expected: 'EUR' },
    { case: 'direction', path: ['direction'], sent: 'incoming', expected: 'Incoming' },
  ])('matches the $case case-insensitively and sends the documented spelling', ({ path, sent, expected }) => {
    const body = withValue(path, sent);
    const { referral } = expectValid(body);
    expect(valueAt(referral, path)).toBe(expected);
  });

  it.each([
    { case: 'status', path: ['status'], value: 'Open', message: 'Must be one of: None, New, Active, Closed.' },
    {
      case: 'substatus Error (the UI close reason is not an API value)',
      path: ['substatus'],
      value: 'Error',
      message: 'Must be one of: None, Pending, Received, Accepted, Won, Lost, Declined, Expired.',
    },
    {
      case: 'type',
      path: ['type'],
      value: 'Sharred',
      message: 'Must be one of: Independent, Shared. Did you mean Shared?',
    },
    {
      case: 'qualification',
      path: ['qualification'],
      value: 'Qualified',
      message: 'Must be one of: None, Direct, MarketingQualified, SalesQualified. Did you mean SalesQualified?',
    },
    {
      case: 'target type',
      path: ['target', 0, 'type'],
      value: 'Partner',
      message: 'Must be one of: None, BusinessProfileLocation, SolutionProfile.',
    },
    {
      case: 'country given as alpha-3',
      path: ['customerProfile', 'address', 'country'],
      value: 'USA',
      message: 'Must be a valid ISO 3166-1 alpha-2 country code. Did you mean US?',
    },
    {
      case: 'user-assigned country XK',
      path: ['customerProfile', 'address', 'country'],
      value: 'XK',
      message: 'Must be a valid ISO 3166-1 alpha-2 country code.',
    },
    {
      case: 'currency',
      path: ['details', 'currency'],
      value: 'DOLLARS',
      message: 'Must be a valid ISO 4217 currency code.',
    },
  ])('rejects an unknown $case, listing or suggesting documented values', ({ path, value, message }) => {
    const errors = expectInvalid(withValue(path, value));
    expect(errors).toContainEqual({ pointer: `/${path.join('/')}`, code: 'invalid_enum', message });
  });
});

describe('formats and bounds', () => {
  it.each([
    {
      case: 'a date without time',
      path: ['details', 'closingDateTime'],
      value: '2024-11-23',
      code: 'invalid_date_time',
    },
    {
      case: 'a date-time with an offset (not UTC)',
      path: ['details', 'closingDateTime'],
      value: '2024-11-23T18:30:00+02:00',
      code: 'invalid_date_time',
    },
    {
      case: 'an impossible date',
      path: ['details', 'closingDateTime'],
      value: '2024-02-30T00:00:00Z',
      code: 'invalid_date_time',
    },
    { case: 'an e-mail without @', path: ['team', 0, 'email'], value: 'riley.example.com', code: 'invalid_email' },
    { case: 'a negative deal value', path: ['details', 'dealValue'], value: -0.01, code: 'negative' },
    { case: 'a deal value sent as a string', path: ['details', 'dealValue'], value: '50000', code: 'invalid_type' },
    {
      case: 'a negative price',
      path: ['details', 'requirements', 'solutions', 0, 'price'],
      value: -1,
      code: 'negative',
    },
    {
      case: 'a fractional quantity',
      path: ['details', 'requirements', 'solutions', 0, 'quantity'],
      value: 1.5,
      code: 'invalid_type',
    },
    { case: 'an engagementId that is no GUID', path: ['engagementId'], value: 'ENGAGEMENT-1', code: 'invalid_guid' },
    { case: 'a deal name over 256 characters', path: ['name'], value: 'n'.repeat(257), code: 'too_long' },
    { case: 'notes over 4000 characters', path: ['details', 'notes'], value: 'n'.repeat(4001), code: 'too_long' },
    { case: 'an empty required customer name', path: ['customerProfile', 'name'], value: '', code: 'empty' },
    { case: 'a null required customer name', path: ['customerProfile', 'name'], value: null, code: 'invalid_type' },
    {
      case: 'a boolean flag sent as a string',
      path: ['consent', 'consentToContact'],
      value: 'yes',
      code: 'invalid_type',
    },
    {
      case: 'more than 50 team members',
      path: ['team'],
      value: Array.from({ length: 51 }, () => ({})),
      code: 'too_many_items',
    },
    {
      case: 'more than 50 solutions',
      path: ['details', 'requirements', 'solutions'],
      value: Array.from({ length: 51 }, (_, i) => ({ id: `SOL-${i}` })),
      code: 'too_many_items',
    },
    {
      case: 'more than 100 tags',
      path: ['tags'],
      value: Array.from({ length: 10_000 }, () => 'tag'),
      code: 'too_many_items',
    },
  ])('rejects $case', ({ path, value, code }) => {
    expect(pointersAndCodes(expectInvalid(withValue(path, value)))).toEqual([[`/${path.join('/')}`, code]]);
  });

  it.each([
    { case: 'seconds only', value: '2018-11-14T00:00:00Z' },
    { case: 'milliseconds', value: '2024-11-23T18:30:00.000Z' },
    { case: 'the 7 fraction digits Partner Center returns', value: '2019-02-23T02:05:23.2931817Z' },
  ])('accepts a UTC date-time with $case', ({ value }) => {
    expect(expectValid(withValue(['details', 'closingDateTime'], value)).referral.details.closingDateTime).toBe(value);
  });

  it('accepts a deal value of zero', () => {
    expect(expectValid(withValue(['details', 'dealValue'], 0)).referral.details.dealValue).toBe(0);
  });

  it.each([
    { case: 'customerProfile', path: ['customerProfile'] },
    { case: 'consent', path: ['consent'] },
    { case: 'details', path: ['details'] },
    { case: 'the customer name', path: ['customerProfile', 'name'] },
    { case: 'the customer country', path: ['customerProfile', 'address', 'country'] },
  ])('requires $case on create', ({ path }) => {
    const body = minimalRequest();
    let node: Record<string, any> = body;
    for (const segment of path.slice(0, -1)) node = node[segment];
    delete node[path[path.length - 1]];
    expect(pointersAndCodes(expectInvalid(body))).toEqual([[`/${path.join('/')}`, 'required']]);
  });

  it('requires type in the referral sent to Partner Center (a request may leave it to the deal type)', () => {
    const { type: _type, ...withoutType } = expectValid(minimalRequest()).referral;
    expect(referralSchema.safeParse(withoutType).success).toBe(false);
    expect(referralSchema.safeParse({ ...withoutType, type: 'Shared' }).success).toBe(true);
  });
});
