import { defaultCredentialOptions, shouldDisableInstanceDiscovery } from '../../../shared/auth';

describe('Function: shouldDisableInstanceDiscovery', () => {
  it.each([
    { case: 'no authority host (Azure: managed identity)', env: {}, expected: false },
    { case: 'the public cloud', env: { AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com' }, expected: false },
    { case: 'the sandbox on 127.0.0.1', env: { AZURE_AUTHORITY_HOST: 'https://127.0.0.1:7082' }, expected: true },
    { case: 'localhost', env: { AZURE_AUTHORITY_HOST: 'https://localhost:7082/' }, expected: true },
    { case: 'IPv6 loopback', env: { AZURE_AUTHORITY_HOST: 'https://[::1]:7082' }, expected: true },
    {
      case: 'the explicit setting',
      env: { AZURE_AUTHORITY_HOST: 'https://login.contoso.test', AZURE_DISABLE_INSTANCE_DISCOVERY: 'true' },
      expected: true,
    },
    { case: 'the setting set to false', env: { AZURE_DISABLE_INSTANCE_DISCOVERY: 'false' }, expected: false },
    { case: 'a malformed authority', env: { AZURE_AUTHORITY_HOST: 'not a url' }, expected: false },
  ])('answers $expected for $case', ({ env, expected }) => {
    expect(shouldDisableInstanceDiscovery(env)).toBe(expected);
    expect(defaultCredentialOptions({ env }).disableInstanceDiscovery === true).toBe(expected);
  });
});
