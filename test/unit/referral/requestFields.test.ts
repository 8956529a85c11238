import { expectInvalid, expectValid, minimalRequest, pointersAndCodes } from './helpers';

describe('callbackUrl', () => {
  it.each([
    { case: 'an https URL', url: 'https://crm.example.com/hooks/referrals?tenant=1' },
    { case: 'an https URL with a port', url: 'https://crm.example.com:8443/hook' },
  ])('accepts $case', ({ url }) => {
    expect(expectValid({ ...minimalRequest(), callbackUrl: url }).callbackUrl).toBe(url);
  });

  it.each([
    { case: 'an http URL', url: 'http://crm.example.com/hook', code: 'insecure_callback' },
    { case: 'a relative URL', url: '/hooks/referrals', code: 'invalid_url' },
    { case: 'another scheme', url: 'ftp://crm.example.com/hook', code: 'invalid_url' },
    { case: 'a URL with credentials', url: 'https://user:secret@crm.example.com/hook', code: 'invalid_url' },
    { case: 'a URL over 2048 characters', url: `https://crm.example.com/${'a'.repeat(2048)}`, code: 'too_long' },
    { case: 'a number', url: 42, code: 'invalid_type' },
  ])('rejects $case', ({ url, code }) => {
    expect(pointersAndCodes(expectInvalid({ ...minimalRequest(), callbackUrl: url }))).toEqual([
      ['/callbackUrl', code],
    ]);
  });

  it('accepts http only when allowInsecureCallback is set', () => {
    const body = { ...minimalRequest(), CallbackURL: 'http://127.0.0.1:7071/hook' };
    expect(pointersAndCodes(expectInvalid(body))).toEqual([['/CallbackURL', 'insecure_callback']]);
    expect(expectValid(body, { allowInsecureCallback: true }).callbackUrl).toBe('http://127.0.0.1:7071/hook');
  });

  it('is never part of the referral', () => {
    expect(
      expectValid({ ...minimalRequest(), callbackUrl: 'https://crm.example.com/hook' }).referral,
    ).not.toHaveProperty('callbackUrl');
  });
});

describe('empty values on optional fields', () => {
  it.each([
    { case: 'an empty string', value: '' },
    { case: 'null', value: null },
  ])('treats $case as absent', ({ value }) => {
    const body = {
      ...minimalRequest(),
      name: value,
      status: value,
      inviteContext: value,
      team: value,
      callbackUrl: value,
      dealType: value,
      coSell: value,
    };
    const result = expectValid(body);
    expect(result.referral).not.toHaveProperty('name');
    expect(result.referral).not.toHaveProperty('status');
    expect(result.referral).not.toHaveProperty('inviteContext');
    expect(result.referral).not.toHaveProperty('team');
    expect(result.dealType).toBe('Private');
  });
});
