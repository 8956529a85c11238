import { example } from '../../helpers/examples';
import { expectValid } from './helpers';

describe('the three documented request bodies', () => {
  it.each([
    { case: 'the "Request example"', file: 'request-example.json', dealType: 'Private' },
    { case: 'the "Step 1" partner-led body', file: 'step1-partner-led.json', dealType: 'PartnerLed' },
    { case: 'the "Step 2" Microsoft referral body', file: 'step2-microsoft-referral.json', dealType: 'PartnerLed' },
  ])('$case validates as a $dealType deal', ({ file, dealType }) => {
    expect(expectValid(example(file)).dealType).toBe(dealType);
  });

  it('normalises the PascalCase consent keys of Step 1 to camelCase, keeping the double "To"', () => {
    const { referral } = expectValid(example('step1-partner-led.json'));
    expect(referral.consent).toEqual({
      consentToToShareInfoWithOthers: true,
      consentToContact: true,
      consentToMicrosoftToContactSpecificPartners: true,
      consentToShareReferralWithMicrosoftSellers: true,
    });
  });

  it('normalises the lower-case profileType "external" of Step 1 to the documented "External"', () => {
    const { referral } = expectValid(example('step1-partner-led.json'));
    expect(referral.customerProfile.ids).toEqual([{ profileType: 'External', id: '9-XIPFFGUQI' }]);
  });

  it('accepts the empty strings Step 1 sends for optional fields and leaves them out', () => {
    const { referral } = expectValid(example('step1-partner-led.json'));
    expect(referral.externalReferenceId).toBeUndefined();
    expect(referral.campaignId).toBeUndefined();
    expect(referral.customerProfile.size).toBeUndefined();
    expect(referral.customerProfile.type).toBeUndefined();
    expect(referral.customerProfile.address).toEqual({
      addressLine1: 'One Microsoft Way',
      city: 'Redmond',
      country: 'US',
    });
    expect(referral.details.notes).toBeUndefined();
  });

  it('accepts the nulls the documented bodies send for optional fields and leaves them out', () => {
    const step1 = expectValid(example('step1-partner-led.json')).referral;
    expect(step1.details.requirements?.solutions).toEqual([
      { type: 'Name', id: 'SOL-8163-XCJ', name: 'Contoso Solution', publisherName: 'Contoso-ISV', solutionType: '3P' },
    ]);
    const step2 = expectValid(example('step2-microsoft-referral.json')).referral;
    expect(step2.customerProfile).not.toHaveProperty('isMaccEligible');
    expect(step2.customerProfile).not.toHaveProperty('activities');
    expect(step2.customerProfile.address).not.toHaveProperty('postalCode');
    expect(step2.customerProfile.team?.[0]).not.toHaveProperty('linkedInProfileUrl');
  });

  it('knows the read-only fields the documented bodies send back', () => {
    const step1 = expectValid(example('step1-partner-led.json')).referral;
    expect(step1).toMatchObject({
      attributes: { objectType: 'Referral' },
      trackingInfo: {},
      mpnId: '4567890',
      target: [],
    });
    expect(step1.customerProfile.isMatchingComplete).toBe(true);
    expect(step1.team?.[0]).toMatchObject({ emailValidationStatus: 'None', phoneValidationStatus: 'None' });
    const step2 = expectValid(example('step2-microsoft-referral.json')).referral;
    expect(step2).toMatchObject({
      engagementId: '37ef26aa-1d15-4533-9f93-a69bd33ab1e5',
      organizationId: 'msft',
      organizationName: 'Microsoft',
      dealSensitivity: 'None',
      inviteContext: { assistanceRequestCode: 'ProofOfConceptOrDemo' },
    });
  });

  it('fills the share flag of the Request example from the default deal type (Private) and keeps its type', () => {
    const { referral, coSell, callbackUrl } = expectValid(example('request-example.json'));
    expect(referral.type).toBe('Shared');
    expect(referral.consent).toEqual({
      consentToToShareInfoWithOthers: true,
      consentToContact: true,
      consentToShareReferralWithMicrosoftSellers: false,
    });
    expect(coSell).toBeUndefined();
    expect(callbackUrl).toBeUndefined();
  });

  it('keeps the values of the Request example unchanged', () => {
    const body = example('request-example.json');
    const { referral } = expectValid(body);
    const { consent: _sent, ...rest } = body;
    const { consent: _normalised, ...normalised } = referral;
    expect(normalised).toEqual(rest);
  });
});

describe('the other examples', () => {
  it.each([
    { case: 'private-deal.json', dealType: 'Private', coSell: false },
    { case: 'partner-led-deal.json', dealType: 'PartnerLed', coSell: false },
    { case: 'cosell-deal.json', dealType: 'CoSell', coSell: true },
    { case: 'services-cosell-deal.json', dealType: 'CoSell', coSell: true },
  ])('$case validates as a $dealType deal', ({ case: file, dealType, coSell }) => {
    const value = expectValid(example(file));
    expect(value.dealType).toBe(dealType);
    expect(value.coSell !== undefined).toBe(coSell);
    expect(value.referral).not.toHaveProperty('dealType');
    expect(value.referral).not.toHaveProperty('coSell');
    expect(value.referral).not.toHaveProperty('callbackUrl');
  });

  it('uses only obviously fake contacts in the examples the bridge adds', () => {
    for (const file of [
      'private-deal.json',
      'partner-led-deal.json',
      'cosell-deal.json',
      'services-cosell-deal.json',
      'invalid-deal.json',
    ]) {
      const text = JSON.stringify(example(file));
      for (const [, address] of text.matchAll(/"email":"([^"]*)"/g))
        expect(address).toMatch(/example(\.com)?$|example-at-example\.com$/);
      for (const [, phone] of text.matchAll(/"phoneNumber":"([^"]*)"/g)) expect(phone).toMatch(/555/);
    }
  });
});
