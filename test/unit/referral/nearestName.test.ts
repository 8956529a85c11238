import { editDistance, nearestName } from '../../../shared/referral/nearestName';
import { enumKey } from '../../../shared/referral/enumLookup';

const DETAILS = [
  'notes',
  'dealValue',
  'currency',
  'closingDateTime',
  'customerRequestedContact',
  'customerAction',
  'incentiveLevel',
  'requirements',
];

describe('nearestName', () => {
  it.each([
    { case: 'a word-level near miss', input: 'closeDate', candidates: DETAILS, expected: 'closingDateTime' },
    { case: 'an all-lower-case near miss', input: 'closedate', candidates: DETAILS, expected: 'closingDateTime' },
    { case: 'a typo', input: 'dealvalu', candidates: DETAILS, expected: 'dealValue' },
    { case: 'a transposition', input: 'curerncy', candidates: DETAILS, expected: 'currency' },
    {
      case: 'a missing "To"',
      input: 'consentToShareInfoWithOthers',
      candidates: ['consentToToShareInfoWithOthers', 'consentToContact', 'consentToShareReferralWithMicrosoftSellers'],
      expected: 'consentToToShareInfoWithOthers',
    },
    { case: 'an alpha-3 country', input: 'USA', candidates: ['SA', 'US', 'UA'], expected: 'US', normalise: enumKey },
    { case: 'nothing close', input: 'zodiacSign', candidates: DETAILS, expected: undefined },
    { case: 'a two-letter code one edit from many', input: 'XK', candidates: ['CK', 'XA', 'UK'], expected: undefined },
    { case: 'an empty input', input: '', candidates: DETAILS, expected: undefined },
    { case: 'an input longer than any name', input: 'x'.repeat(65), candidates: DETAILS, expected: undefined },
  ])('suggests for $case', ({ input, candidates, expected, normalise }) => {
    expect(nearestName(input, candidates, normalise)).toBe(expected);
  });
});

describe('editDistance', () => {
  it.each([
    { a: 'kitten', b: 'sitting', expected: 3 },
    { a: '', b: 'abc', expected: 3 },
    { a: 'same', b: 'same', expected: 0 },
  ])('is $expected between "$a" and "$b"', ({ a, b, expected }) => {
    expect(editDistance(a, b)).toBe(expected);
  });

  it('stops early past the limit', () => {
    expect(editDistance('abcdefgh', 'zzzzzzzz', 2)).toBe(3);
  });
});
