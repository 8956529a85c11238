import { expectInvalid, expectValid, minimalRequest, pointersAndCodes, requestExample } from './helpers';

describe('key normalisation', () => {
  it.each([
    { case: 'PascalCase keys (the documented property table)', key: 'CustomerProfile' },
    { case: 'lower-case keys', key: 'customerprofile' },
    { case: 'upper-case keys', key: 'CUSTOMERPROFILE' },
    { case: 'camelCase keys (the API)', key: 'customerProfile' },
  ])('accepts $case and normalises them to camelCase', ({ key }) => {
    const body = minimalRequest();
    const profile = body.customerProfile;
    delete body.customerProfile;
    body[key] = { Name: profile.name, ADDRESS: { Country: 'US' } };
    const { referral } = expectValid(body);
    expect(referral.customerProfile).toEqual({ name: 'Fabrikam Ltd', address: { country: 'US' } });
  });

  it('keeps the double "To" of consentToToShareInfoWithOthers, whatever the case sent', () => {
    const body = { ...minimalRequest(), consent: { CONSENTTOTOSHAREINFOWITHOTHERS: true } };
    expect(expectValid(body).referral.consent.consentToToShareInfoWithOthers).toBe(true);
  });

  it('normalises keys inside arrays of objects', () => {
    const body = { ...minimalRequest(), Team: [{ FirstName: 'Riley', EMAIL: 'riley@example.com' }] };
    expect(expectValid(body).referral.team).toEqual([{ firstName: 'Riley', email: 'riley@example.com' }]);
  });

  it('normalises the request-level fields too', () => {
    const body = { ...minimalRequest(), DealType: 'partnerled', CallbackUrl: 'https://crm.example.com/hook' };
    const value = expectValid(body);
    expect(value.dealType).toBe('PartnerLed');
    expect(value.callbackUrl).toBe('https://crm.example.com/hook');
  });

  it('rejects a field given twice once case is ignored, pointing at the second', () => {
    const body = { ...minimalRequest(), details: { dealValue: 1, dealvalue: 2 } };
    expect(pointersAndCodes(expectInvalid(body))).toEqual([['/details/dealvalue', 'duplicate_field']]);
  });

  it('counts a field given as null as given when looking for duplicates', () => {
    const body = { ...minimalRequest(), details: { Notes: null, notes: 'x' } };
    expect(pointersAndCodes(expectInvalid(body))).toEqual([['/details/notes', 'duplicate_field']]);
  });
});

describe('unknown fields', () => {
  it.each([
    {
      case: 'details.closeDate',
      path: ['details', 'closeDate'],
      pointer: '/details/closeDate',
      suggestion: 'closingDateTime',
    },
    { case: 'a typo at the top', path: ['custmerProfile'], pointer: '/custmerProfile', suggestion: 'customerProfile' },
    {
      case: 'a single "To"',
      path: ['consent', 'consentToShareInfoWithOthers'],
      pointer: '/consent/consentToShareInfoWithOthers',
      suggestion: 'consentToToShareInfoWithOthers',
    },
    { case: 'a PascalCase typo', path: ['Details', 'DealValu'], pointer: '/Details/DealValu', suggestion: 'dealValue' },
    { case: 'a member field', path: ['team', 0, 'emial'], pointer: '/team/0/emial', suggestion: 'email' },
  ])('rejects $case and suggests the nearest known name', ({ path, pointer, suggestion }) => {
    const body: Record<string, any> = minimalRequest();
    if (path[0] === 'Details') {
      body.Details = body.details;
      delete body.details;
    }
    if (path[0] === 'team') body.team = [{ firstName: 'Riley' }];
    let node = body;
    for (const segment of path.slice(0, -1)) node = node[segment as string];
    node[path[path.length - 1] as string] = 'x';
    const errors = expectInvalid(body);
    expect(errors).toContainEqual({
      pointer,
      code: 'unknown_field',
      message: `Unknown field. Did you mean ${suggestion}?`,
    });
  });

  it('offers no suggestion when nothing is close', () => {
    const errors = expectInvalid({ ...minimalRequest(), zodiacSign: 'Leo' });
    expect(errors).toEqual([{ pointer: '/zodiacSign', code: 'unknown_field', message: 'Unknown field.' }]);
  });

  it('lets unknown fields pass through unchanged when allowUnknownFields is set', () => {
    const body = requestExample();
    body.futureField = { Nested: [1, 'two', { Three: true }] };
    body.details.futureDetail = 'kept';
    body.customerProfile.team[0].pronouns = 'they/them';
    const { referral } = expectValid(body, { allowUnknownFields: true }) as { referral: Record<string, any> };
    expect(referral.futureField).toEqual({ Nested: [1, 'two', { Three: true }] });
    expect(referral.details.futureDetail).toBe('kept');
    expect(referral.customerProfile.team[0].pronouns).toBe('they/them');
  });

  it('still validates known fields when unknown fields pass through', () => {
    const body = { ...minimalRequest(), futureField: 1, details: { dealValue: -1 } };
    expect(pointersAndCodes(expectInvalid(body, { allowUnknownFields: true }))).toEqual([
      ['/details/dealValue', 'negative'],
    ]);
  });

  it("never passes unknown fields through the bridge's own coSell block", () => {
    const body = {
      ...minimalRequest(),
      dealType: 'CoSell',
      coSell: { notes: 'help', assistanceRequestCode: 'GeneralOrOther', urgency: 'high' },
    };
    expect(pointersAndCodes(expectInvalid(body, { allowUnknownFields: true }))).toEqual([
      ['/coSell/urgency', 'unknown_field'],
    ]);
  });
});
