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

  it.each([
    'https://[::ffff:127.0.0.1]:9/',
    'https://[::ffff:7f00:1]/hook',
    'https://[::ffff:0:0]/hook',
    'https://[::ffff:a9fe:a9fe]/latest/meta-data',
    'https://[::127.0.0.1]/hook',
    'https://[64:ff9b::7f00:1]/hook',
    'https://[fe80::1]/hook',
    'https://[febf::1]/hook',
    'https://[::1]/hook',
    'https://[fd00::1]/hook',
    'https://127.0.0.1/hook',
    'https://10.0.0.5/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://0/hook',
    'https://2130706433/hook',
    'https://0x7f.1/hook',
    'https://localhost/hook',
    'https://LOCALHOST./hook',
    'https://api.localhost/hook',
  ])('refuses %s: not a public address', (url) => {
    expect(expectInvalid({ ...minimalRequest(), CallbackUrl: url })).toEqual([
      {
        pointer: '/CallbackUrl',
        code: 'callback_target_not_public',
        message:
          'Must not point at a loopback, private, link-local or other non-public address (allowed only in the sandbox).',
      },
    ]);
  });

  it.each(['https://20.30.40.50/hook', 'https://[2603:1030::1]/hook', 'https://[::ffff:8.8.8.8]/hook'])(
    'accepts the public address %s',
    (url) => {
      expect(expectValid({ ...minimalRequest(), callbackUrl: url }).callbackUrl).toBe(url);
    },
  );

  it('accepts a private address only when allowPrivateCallbackTargets is set (it follows allowInsecureCallback by default)', () => {
    const body = { ...minimalRequest(), callbackUrl: 'https://[::ffff:127.0.0.1]:9/' };
    expect(expectValid(body, { allowPrivateCallbackTargets: true }).callbackUrl).toBe(body.callbackUrl);
    expect(expectValid(body, { allowInsecureCallback: true }).callbackUrl).toBe(body.callbackUrl);
    expect(expectInvalid(body, { allowInsecureCallback: true, allowPrivateCallbackTargets: false })).toHaveLength(1);
    expect(expectInvalid(body, { allowInsecureCallback: false, allowPrivateCallbackTargets: false })).toHaveLength(1);
  });

  it('does not resolve names: a public-looking name passes here and is checked at delivery', () => {
    const url = 'https://hooks.internal.example.com/referrals';
    expect(expectValid({ ...minimalRequest(), callbackUrl: url }).callbackUrl).toBe(url);
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
