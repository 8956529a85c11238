import { PROBLEM_TYPE_BASE, validateReferralRequest } from '../../../shared/referral';
import { example } from '../../helpers/examples';
import { minimalRequest } from './helpers';

function problemOf(input: unknown) {
  const result = validateReferralRequest(input);
  if (result.ok) throw new Error('expected a problem');
  return result.problem;
}

describe('the problem body', () => {
  it('is RFC 9457 problem details with field errors (invalid-deal.json)', () => {
    expect(problemOf(example('invalid-deal.json'))).toMatchInlineSnapshot(`
{
  "detail": "10 problems were found in the request body. Each entry of errors points at a field with a JSON pointer.",
  "errors": [
    {
      "code": "unknown_field",
      "message": "Unknown field. Did you mean closingDateTime?",
      "pointer": "/details/closeDate",
    },
    {
      "code": "required",
      "message": "Required.",
      "pointer": "/customerProfile/name",
    },
    {
      "code": "invalid_enum",
      "message": "Must be a valid ISO 3166-1 alpha-2 country code. Did you mean US?",
      "pointer": "/customerProfile/address/country",
    },
    {
      "code": "invalid_email",
      "message": "Must be an e-mail address.",
      "pointer": "/customerProfile/team/0/email",
    },
    {
      "code": "negative",
      "message": "Must not be negative.",
      "pointer": "/details/dealValue",
    },
    {
      "code": "invalid_enum",
      "message": "Must be a valid ISO 4217 currency code.",
      "pointer": "/details/currency",
    },
    {
      "code": "invalid_substatus",
      "message": "With status New the substatus must be one of: Pending, Received.",
      "pointer": "/substatus",
    },
    {
      "code": "services_incomplete",
      "message": "partnerRole, solutionArea and solutionPlay go together (Services co-sell): give all three or none.",
      "pointer": "/solutionArea",
    },
    {
      "code": "services_incomplete",
      "message": "partnerRole, solutionArea and solutionPlay go together (Services co-sell): give all three or none.",
      "pointer": "/solutionPlay",
    },
    {
      "code": "deal_type_conflict",
      "message": "dealType Private keeps the referral from Microsoft sellers: consentToShareReferralWithMicrosoftSellers must be false or left out (or use dealType PartnerLed or CoSell).",
      "pointer": "/consent/consentToShareReferralWithMicrosoftSellers",
    },
  ],
  "status": 400,
  "title": "The referral is not valid",
  "type": "https://github.com/cosell-referral-bridge/docs/errors#validation",
}
`);
  });

  it('points at PascalCase keys as the caller sent them', () => {
    const body = {
      Type: 'Shared',
      CustomerProfile: { Name: 'Fabrikam', Address: { Country: 'Narnia' } },
      Consent: {},
      Details: { DealValue: -1, ClosingDateTime: 'tomorrow' },
    };
    expect(problemOf(body)).toMatchInlineSnapshot(`
{
  "detail": "3 problems were found in the request body. Each entry of errors points at a field with a JSON pointer.",
  "errors": [
    {
      "code": "invalid_enum",
      "message": "Must be a valid ISO 3166-1 alpha-2 country code.",
      "pointer": "/CustomerProfile/Address/Country",
    },
    {
      "code": "negative",
      "message": "Must not be negative.",
      "pointer": "/Details/DealValue",
    },
    {
      "code": "invalid_date_time",
      "message": "Must be an ISO 8601 UTC date-time such as 2024-11-23T18:30:00Z.",
      "pointer": "/Details/ClosingDateTime",
    },
  ],
  "status": 400,
  "title": "The referral is not valid",
  "type": "https://github.com/cosell-referral-bridge/docs/errors#validation",
}
`);
  });

  it('has type, title and status of a validation failure', () => {
    const problem = problemOf({});
    expect(problem).toMatchObject({
      type: `${PROBLEM_TYPE_BASE}validation`,
      title: 'The referral is not valid',
      status: 400,
    });
  });

  it('says how many problems there are when it lists only the first 50', () => {
    const team = Array.from({ length: 50 }, () => ({ email: 'not-an-email' }));
    const problem = problemOf({
      ...minimalRequest(),
      team,
      customerProfile: { ...minimalRequest().customerProfile, team },
    });
    expect(problem.errors).toHaveLength(50);
    expect(problem.detail).toBe(
      '100 problems were found in the request body. Each entry of errors points at a field with a JSON pointer. The first 50 are listed.',
    );
  });

  it('never echoes the values the caller sent', () => {
    const secrets = [
      'sue.smith@@contoso',
      '+1 (206) 555-0100-SECRET',
      'Sue-Secret-Name',
      'Secret Street 1',
      'NOT-A-GUID-SECRET',
      'yesterday-secret',
    ];
    const body = {
      ...minimalRequest(),
      engagementId: secrets[4],
      customerProfile: {
        name: secrets[2].repeat(40),
        address: { addressLine1: secrets[3].repeat(30), country: 'Secretland' },
        team: [{ email: secrets[0], phoneNumber: secrets[1].repeat(5), firstName: { secret: secrets[2] } }],
      },
      details: { closingDateTime: secrets[5], currency: 'SECRET' },
      status: 'SecretStatus',
    };
    const text = JSON.stringify(problemOf(body));
    for (const secret of [...secrets, 'Secretland', 'SECRET', 'SecretStatus']) expect(text).not.toContain(secret);
  });
});
