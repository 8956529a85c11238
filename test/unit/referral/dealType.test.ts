import { DealType } from '../../../shared/referral';
import { expectInvalid, expectValid, minimalRequest, pointersAndCodes } from './helpers';

const FLAG = 'consentToShareReferralWithMicrosoftSellers';
const coSellBlock = { notes: 'Please help with a proof of concept.', assistanceRequestCode: 'ProofOfConceptOrDemo' };

/** minimalRequest() without type, with the given deal type, flag, type and coSell block. */
function request(fields: { dealType?: string; flag?: boolean; type?: string; coSell?: unknown }): Record<string, any> {
  const { type: _type, ...body } = minimalRequest();
  return {
    ...body,
    consent: fields.flag === undefined ? {} : { [FLAG]: fields.flag },
    ...(fields.dealType === undefined ? {} : { dealType: fields.dealType }),
    ...(fields.type === undefined ? {} : { type: fields.type }),
    ...(fields.coSell === undefined ? {} : { coSell: fields.coSell }),
  };
}

describe('deal types', () => {
  it.each([
    {
      case: 'Private fills the flag false and type Independent',
      fields: { dealType: 'Private' },
      dealType: 'Private',
      flag: false,
      type: 'Independent',
    },
    {
      case: 'Private keeps a given Shared type',
      fields: { dealType: 'Private', type: 'Shared' },
      dealType: 'Private',
      flag: false,
      type: 'Shared',
    },
    {
      case: 'PartnerLed fills the flag true and type Shared',
      fields: { dealType: 'PartnerLed' },
      dealType: 'PartnerLed',
      flag: true,
      type: 'Shared',
    },
    {
      case: 'CoSell fills the flag true and type Shared',
      fields: { dealType: 'CoSell', coSell: coSellBlock },
      dealType: 'CoSell',
      flag: true,
      type: 'Shared',
    },
    {
      case: 'a flag true without deal type means PartnerLed',
      fields: { flag: true },
      dealType: 'PartnerLed',
      flag: true,
      type: 'Shared',
    },
    {
      case: 'a flag false without deal type means Private',
      fields: { flag: false },
      dealType: 'Private',
      flag: false,
      type: 'Independent',
    },
    {
      case: 'no flag and no deal type means Private (the safest reading)',
      fields: {},
      dealType: 'Private',
      flag: false,
      type: 'Independent',
    },
    {
      case: 'a coSell block without deal type means CoSell',
      fields: { coSell: coSellBlock },
      dealType: 'CoSell',
      flag: true,
      type: 'Shared',
    },
    {
      case: 'the deal type in any case',
      fields: { dealType: 'partner-led', flag: true, type: 'shared' },
      dealType: 'PartnerLed',
      flag: true,
      type: 'Shared',
    },
  ])('$case', ({ fields, dealType, flag, type }) => {
    const value = expectValid(request(fields));
    expect(value.dealType).toBe(dealType);
    expect(value.referral.consent[FLAG]).toBe(flag);
    expect(value.referral.type).toBe(type);
  });

  it.each([
    {
      case: 'Private with the flag true',
      fields: { dealType: 'Private', flag: true },
      errors: [[`/consent/${FLAG}`, 'deal_type_conflict']],
    },
    {
      case: 'PartnerLed with the flag false',
      fields: { dealType: 'PartnerLed', flag: false },
      errors: [[`/consent/${FLAG}`, 'deal_type_conflict']],
    },
    {
      case: 'PartnerLed with type Independent',
      fields: { dealType: 'PartnerLed', type: 'Independent' },
      errors: [['/type', 'deal_type_conflict']],
    },
    {
      case: 'CoSell with the flag false and type Independent',
      fields: { dealType: 'CoSell', flag: false, type: 'Independent', coSell: coSellBlock },
      errors: [
        [`/consent/${FLAG}`, 'deal_type_conflict'],
        ['/type', 'deal_type_conflict'],
      ],
    },
    {
      case: 'a coSell block with the flag false',
      fields: { flag: false, coSell: coSellBlock },
      errors: [[`/consent/${FLAG}`, 'deal_type_conflict']],
    },
    { case: 'CoSell without a coSell block', fields: { dealType: 'CoSell' }, errors: [['/coSell', 'required']] },
    {
      case: 'a coSell block with dealType PartnerLed',
      fields: { dealType: 'PartnerLed', coSell: coSellBlock },
      errors: [['/coSell', 'not_allowed']],
    },
    {
      case: 'a coSell block with dealType Private',
      fields: { dealType: 'Private', coSell: coSellBlock },
      errors: [['/coSell', 'not_allowed']],
    },
    { case: 'an unknown deal type', fields: { dealType: 'Joint' }, errors: [['/dealType', 'invalid_enum']] },
  ])('rejects $case with a pointer at the contradicting field', ({ fields, errors }) => {
    expect(pointersAndCodes(expectInvalid(request(fields)))).toEqual(errors);
  });

  it('explains the contradiction in the message', () => {
    const [error] = expectInvalid(request({ dealType: 'Private', flag: true }));
    expect(error?.message).toBe(
      'dealType Private keeps the referral from Microsoft sellers: consentToShareReferralWithMicrosoftSellers must be false or left out (or use dealType PartnerLed or CoSell).',
    );
  });

  it('points at the flag as the caller spelled it', () => {
    const body = request({ dealType: 'Private' });
    body.Consent = { ConsentToShareReferralWithMicrosoftSellers: true };
    delete body.consent;
    expect(pointersAndCodes(expectInvalid(body))).toEqual([
      ['/Consent/ConsentToShareReferralWithMicrosoftSellers', 'deal_type_conflict'],
    ]);
  });

  it('never sends the deal type to Partner Center', () => {
    for (const dealType of Object.values(DealType)) {
      const value = expectValid(request({ dealType, ...(dealType === 'CoSell' ? { coSell: coSellBlock } : {}) }));
      expect(value.referral).not.toHaveProperty('dealType');
    }
  });
});

describe('the coSell block', () => {
  it('carries notes, the assistance code (normalised) and Microsoft-facing contacts', () => {
    const contacts = [{ FirstName: 'Riley', email: 'riley@partner.example.com' }];
    const value = expectValid(
      request({
        dealType: 'CoSell',
        coSell: { Notes: 'Joint PoC', AssistanceRequestCode: 'customertechnicalarchitecture', Contacts: contacts },
      }),
    );
    expect(value.coSell).toEqual({
      notes: 'Joint PoC',
      assistanceRequestCode: 'CustomerTechnicalArchitecture',
      contacts: [{ firstName: 'Riley', email: 'riley@partner.example.com' }],
    });
  });

  it.each([
    {
      case: 'notes missing',
      coSell: { assistanceRequestCode: 'GeneralOrOther' },
      errors: [['/coSell/notes', 'required']],
    },
    {
      case: 'notes empty',
      coSell: { notes: '', assistanceRequestCode: 'GeneralOrOther' },
      errors: [['/coSell/notes', 'empty']],
    },
    {
      case: 'notes too long',
      coSell: { notes: 'n'.repeat(4001), assistanceRequestCode: 'GeneralOrOther' },
      errors: [['/coSell/notes', 'too_long']],
    },
    {
      case: 'the assistance code missing',
      coSell: { notes: 'help' },
      errors: [['/coSell/assistanceRequestCode', 'required']],
    },
    {
      case: 'an unknown assistance code',
      coSell: { notes: 'help', assistanceRequestCode: 'Money' },
      errors: [['/coSell/assistanceRequestCode', 'invalid_enum']],
    },
    {
      case: 'a contact with a bad e-mail',
      coSell: { notes: 'help', assistanceRequestCode: 'Unknown', contacts: [{ email: 'nope' }] },
      errors: [['/coSell/contacts/0/email', 'invalid_email']],
    },
    { case: 'a coSell that is no object', coSell: 'help please', errors: [['/coSell', 'invalid_type']] },
  ])('rejects $case', ({ coSell, errors }) => {
    expect(pointersAndCodes(expectInvalid(request({ dealType: 'CoSell', coSell })))).toEqual(errors);
  });
});
