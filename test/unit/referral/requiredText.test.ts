import fc from 'fast-check';
import { validateReferralRequest } from '../../../shared/referral';
import { expectInvalid, expectValid, minimalRequest } from './helpers';

/** A valid CoSell request that fills every required string field of the contract. */
function everyRequiredString(): Record<string, any> {
  return {
    ...minimalRequest(),
    dealType: 'CoSell',
    customerProfile: {
      name: 'Fabrikam Ltd',
      address: { country: 'US' },
      ids: [{ profileType: 'Duns', id: '123456789' }],
    },
    details: {
      requirements: {
        industries: [{ id: 'Retail' }],
        products: [{ id: 'Azure' }],
        services: [{ id: 'Consulting' }],
        solutions: [{ id: 'SOL-1' }],
        additionalRequirements: { attributes: [{ type: 'CustomerMarketplaceIntent', id: 'HaveNotDecided' }] },
      },
    },
    target: [{ type: 'SolutionProfile', id: 'SOL-1' }],
    coSell: { notes: 'Joint PoC', assistanceRequestCode: 'GeneralOrOther' },
  };
}

/** Every required string field, as a path into {@link everyRequiredString}. */
const REQUIRED_STRINGS: ReadonlyArray<readonly (string | number)[]> = [
  ['customerProfile', 'name'],
  ['customerProfile', 'ids', 0, 'id'],
  ['details', 'requirements', 'industries', 0, 'id'],
  ['details', 'requirements', 'products', 0, 'id'],
  ['details', 'requirements', 'services', 0, 'id'],
  ['details', 'requirements', 'solutions', 0, 'id'],
  ['details', 'requirements', 'additionalRequirements', 'attributes', 0, 'type'],
  ['details', 'requirements', 'additionalRequirements', 'attributes', 0, 'id'],
  ['target', 0, 'id'],
  ['coSell', 'notes'],
];

function withValue(path: readonly (string | number)[], value: unknown): Record<string, any> {
  const body = everyRequiredString();
  let node = body;
  for (const segment of path.slice(0, -1)) node = node[segment];
  node[path[path.length - 1] as string] = value;
  return body;
}

/** White space and invisible characters: spaces, tabs, line breaks, no-break and ideographic spaces, zero-width ones. */
const invisible = fc
  .array(fc.constantFrom(' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\u3000', '\u200b', '\u2060', '\ufeff', '\u00ad'), {
    minLength: 1,
    maxLength: 40,
  })
  .map((chars) => chars.join(''));

describe('required string fields', () => {
  it('accepts the request that fills them all', () => {
    expect(expectValid(everyRequiredString()).dealType).toBe('CoSell');
  });

  it.each(REQUIRED_STRINGS.map((path) => ({ field: `/${path.join('/')}`, path })))(
    'refuses $field of spaces only, as Partner Center would, with a pointer at the field',
    ({ field, path }) => {
      expect(expectInvalid(withValue(path, '   '))).toEqual([
        { pointer: field, code: 'blank', message: 'Must contain a visible character, not only spaces.' },
      ]);
    },
  );

  it('refuses any mix of white space and invisible characters in any required field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...REQUIRED_STRINGS), invisible, (path, value) => {
        const result = validateReferralRequest(withValue(path, value));
        return !result.ok && result.problem.errors?.length === 1 && result.problem.errors[0]?.code === 'blank';
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a value with one visible character among spaces, as given', () => {
    fc.assert(
      fc.property(invisible, fc.constantFrom('F', 'é', '漢', '1', '-'), invisible, (before, visible, after) => {
        const name = `${before}${visible}${after}`;
        const result = validateReferralRequest(withValue(['customerProfile', 'name'], name));
        return result.ok && result.value.referral.customerProfile.name === name;
      }),
      { numRuns: 200 },
    );
  });

  it('still reports an empty required string as empty, once', () => {
    expect(expectInvalid(withValue(['customerProfile', 'name'], ''))).toEqual([
      { pointer: '/customerProfile/name', code: 'empty', message: 'Must not be empty.' },
    ]);
  });

  it("points at the caller's key spelling", () => {
    const body = everyRequiredString();
    body.CustomerProfile = { ...body.customerProfile, Name: ' \t ' };
    delete body.customerProfile;
    delete body.CustomerProfile.name;
    expect(expectInvalid(body).map((e) => [e.pointer, e.code])).toEqual([['/CustomerProfile/Name', 'blank']]);
  });
});
