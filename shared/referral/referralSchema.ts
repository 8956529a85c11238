/**
 * The zod contract of the Partner Center Referral resource and of a referral request.
 *
 * These schemas describe the NORMALISED form: camelCase keys, documented enum spellings, optional fields
 * that were `null` or `""` left out. {@link validateReferralRequest} gets a caller's body into that form
 * first (key case, enum case, empties) and then parses it with these schemas, so they are also the
 * source for JSON Schema / OpenAPI generation (`z.toJSONSchema(referralRequestSchema, { io: 'input' })`).
 */
import { z } from 'zod';
import {
  AssistanceRequestCode,
  ContractTerm,
  CustomerProfileType,
  CustomerSize,
  DealRegistrationType,
  DealType,
  PartnerRole,
  PricingModel,
  PrimaryDeployment,
  REFERRAL_LIMITS,
  ReferralDirection,
  ReferralQualification,
  ReferralStatus,
  ReferralSubstatus,
  ReferralTargetType,
  ReferralType,
  SolutionTagType,
} from './constants';
import { COUNTRY_CODES, CURRENCY_CODES } from './isoCodes';
import { SOLUTION_AREAS, SOLUTION_PLAYS } from './servicesCoSellCatalogue';
import { checkReferralRules, checkRequestRules } from './referralRules';

const L = REFERRAL_LIMITS;

// ---- field types -------------------------------------------------------------------------------

const shortText = z.string().max(L.shortTextLength);
const mediumText = z.string().max(L.mediumTextLength);
const notesText = z.string().max(L.notesLength);
/**
 * A visible character: not white space, not a control or format character (zero-width space, BOM, soft
 * hyphen). [inferred] Partner Center refuses a required string of spaces only; how it treats zero-width
 * characters is not documented, so they count as invisible too.
 */
const VISIBLE_CHARACTER = /[^\s\p{Cc}\p{Cf}]/u;
/** A required string must hold a visible character (an empty one is reported as `empty` by `min(1)`). */
const visible = <T extends z.ZodString>(schema: T) =>
  schema.refine((value) => value === '' || VISIBLE_CHARACTER.test(value), {
    message: 'Must contain a visible character, not only spaces.',
    params: { code: 'blank' },
  });
const requiredText = visible(z.string().min(1).max(L.shortTextLength));
const urlText = z.string().max(L.urlLength);
const utcDateTime = z.iso.datetime().describe('ISO 8601 UTC date-time, e.g. 2024-11-23T18:30:00Z');
const guid = z.guid().describe('GUID');
const emailAddress = z.email().max(L.emailLength);
const countryCode = z.enum(COUNTRY_CODES).describe('ISO 3166-1 alpha-2 country code');
const currencyCode = z.enum(CURRENCY_CODES).describe('ISO 4217 currency code');
const amount = z.number().nonnegative();
const flag = z.boolean();
/** A value whose type Partner Center does not document: any JSON, copied with the same safety checks. */
const opaque = z.unknown();
const list = <T extends z.ZodType>(item: T, maxItems: number = L.arrayItems) => z.array(item).max(maxItems);
const many = <T extends readonly string[]>(values: T) => z.enum(values as unknown as [T[number], ...T[number][]]);

// ---- nested types ------------------------------------------------------------------------------

/** How a contact wants to be reached. */
export const contactPreferenceSchema = z.strictObject({
  locale: shortText.optional(),
  disableNotifications: flag.optional(),
});

/** A person: a customer contact, a partner team member, or a Microsoft-facing contact. */
export const memberSchema = z.strictObject({
  firstName: shortText.optional(),
  lastName: shortText.optional(),
  email: emailAddress.optional(),
  phoneNumber: z.string().max(64).optional(),
  title: shortText.optional(),
  contactPreference: contactPreferenceSchema.optional(),
  emailValidationStatus: shortText.optional(),
  phoneValidationStatus: shortText.optional(),
  linkedInProfileUrl: urlText.optional(),
});

/** The customer's address; the country is required (the co-sell connectors require it too). */
export const addressSchema = z.strictObject({
  addressLine1: shortText.optional(),
  addressLine2: shortText.optional(),
  city: shortText.optional(),
  state: shortText.optional(),
  postalCode: z.string().max(32).optional(),
  country: countryCode,
  region: shortText.optional(),
});

/** A customer identifier (D-U-N-S number or the partner's own id). */
export const customerProfileIdSchema = z.strictObject({
  profileType: z.enum(CustomerProfileType),
  id: requiredText,
});

/** The customer: name, address, size, contacts, identifiers. */
export const customerProfileSchema = z.strictObject({
  name: requiredText,
  address: addressSchema,
  size: z.enum(CustomerSize).optional(),
  team: list(memberSchema, L.teamMembers).optional(),
  ids: list(customerProfileIdSchema).optional(),
  isMatchingComplete: flag.optional(),
  isMaccEligible: flag.optional(),
  activities: list(opaque).optional(),
  /** Sent as `""` by the documented Step 1 body; meaning undocumented. */
  type: shortText.optional(),
});

/** Consent flags. `consentToToShareInfoWithOthers` keeps its double "To": that is the real field name. */
export const consentSchema = z.strictObject({
  consentToToShareInfoWithOthers: flag.optional(),
  consentToContact: flag.optional(),
  consentToMicrosoftToContactSpecificPartners: flag.optional(),
  /** false = a Private deal; true = shared with Microsoft sellers (PartnerLed, CoSell). */
  consentToShareReferralWithMicrosoftSellers: flag.optional(),
});

const idReferenceSchema = z.strictObject({ id: requiredText });

/** A solution on the referral (`details.requirements.solutions[]`). */
export const solutionTagSchema = z.strictObject({
  id: requiredText,
  name: shortText.optional(),
  type: z.enum(SolutionTagType).optional(),
  price: amount.optional(),
  quantity: z.number().int().nonnegative().optional(),
  currency: currencyCode.optional(),
  publisherName: shortText.optional(),
  solutionType: shortText.optional(),
  closingDateTime: utcDateTime.optional(),
});

/** `{ type, id }` pairs such as `{ type: "CustomerMarketplaceIntent", id: "HaveNotDecided" }`. */
export const requirementAttributeSchema = z.strictObject({ type: requiredText, id: requiredText });

/** IoT requirements. [inferred] The types of azureCertifiedDevice and attachServices are undocumented: any JSON. */
export const iotRequirementsSchema = z.strictObject({
  customerLicenseAgreementNumber: shortText.optional(),
  deviceCategory: shortText.optional(),
  siliconType: shortText.optional(),
  azureCertifiedDevice: opaque.optional(),
  attachServices: opaque.optional(),
});

/** What the customer needs. */
export const requirementsSchema = z.strictObject({
  industries: list(idReferenceSchema).optional(),
  products: list(idReferenceSchema).optional(),
  services: list(idReferenceSchema).optional(),
  solutions: list(solutionTagSchema, L.solutions).optional(),
  offers: list(opaque).optional(),
  salesPlays: list(opaque).optional(),
  additionalRequirements: z
    .strictObject({ iot: iotRequirementsSchema.optional(), attributes: list(requirementAttributeSchema).optional() })
    .optional(),
});

/** The deal: notes, value, currency, closing date, requirements. */
export const referralDetailsSchema = z.strictObject({
  notes: notesText.optional(),
  dealValue: amount.optional(),
  currency: currencyCode.optional(),
  closingDateTime: utcDateTime.optional(),
  customerRequestedContact: flag.optional(),
  customerAction: shortText.optional(),
  incentiveLevel: shortText.optional(),
  requirements: requirementsSchema.optional(),
});

/** An organisation reference (`inviteContext.invitedBy`): `organizationId` is `msft` for Microsoft. */
export const organizationReferenceSchema = z.strictObject({
  organizationId: shortText.optional(),
  organizationName: shortText.optional(),
});

/** The invitation into the engagement. */
export const inviteContextSchema = z.strictObject({
  notes: notesText.optional(),
  assistanceRequestCode: z.enum(AssistanceRequestCode).optional(),
  invitedMpnId: shortText.optional(),
  invitedBy: organizationReferenceSchema.optional(),
});

/** Who the referral is for: Microsoft is `{ type: "BusinessProfileLocation", id: "msft" }`. */
export const referralTargetSchema = z.strictObject({
  type: z.enum(ReferralTargetType),
  id: requiredText,
});

const linkSchema = z.strictObject({ uri: urlText.optional(), method: shortText.optional() });

/** Read-only links Partner Center returns (`links` is removed before a full update). */
export const referralLinksSchema = z.strictObject({
  relatedReferrals: linkSchema.optional(),
  self: linkSchema.optional(),
});

/** Read-only tracking ids (the MSX id lands here once Microsoft accepts). */
export const trackingInfoSchema = z.strictObject({
  microsoftMsxId: shortText.optional(),
  microsoftUSFedOpportunityId: shortText.optional(),
  microsoftUSFedLeadId: shortText.optional(),
  migratedPSCDealId: shortText.optional(),
  migratedPSCPartnerDealId: shortText.optional(),
});

/** IP co-sell deal registration (connector contract; read-only here). */
export const dealRegistrationSchema = z.strictObject({
  id: shortText.optional(),
  type: z.enum(DealRegistrationType).optional(),
  registrationDateTime: utcDateTime.optional(),
  status: shortText.optional(),
  statusReason: mediumText.optional(),
  contract: z
    .strictObject({
      value: amount.optional(),
      currency: currencyCode.optional(),
      startDateTime: utcDateTime.optional(),
      endDateTime: utcDateTime.optional(),
      signDateTime: utcDateTime.optional(),
      term: z.enum(ContractTerm).optional(),
    })
    .optional(),
  solutionDetails: list(
    z.strictObject({
      id: shortText.optional(),
      name: shortText.optional(),
      value: amount.optional(),
      currency: currencyCode.optional(),
      isDeployedOnAzure: flag.optional(),
      primaryDeploymentOn: z.enum(PrimaryDeployment).optional(),
      pricingModel: z.enum(PricingModel).optional(),
      marketplaceTransactionDetails: z
        .strictObject({
          isMarketplaceTransacted: flag.optional(),
          marketplaceTransactionDateTime: utcDateTime.optional(),
        })
        .optional(),
    }),
  ).optional(),
  statusHistory: z
    .strictObject({
      reviewPendingDateTime: utcDateTime.optional(),
      actionRequiredDateTime: utcDateTime.optional(),
      passedDateTime: utcDateTime.optional(),
      failedDateTime: utcDateTime.optional(),
      approvedDateTime: utcDateTime.optional(),
    })
    .optional(),
});

// ---- the referral ------------------------------------------------------------------------------

/** The Referral type enum schema (`type`). */
const referralTypeSchema = z.enum(ReferralType);

/** Every top-level Referral property. Read-only ones are known so a caller may send them back. */
const referralShape = {
  id: guid.optional(),
  engagementId: guid.optional(),
  name: shortText.optional(),
  externalReferenceId: shortText.optional(),
  organizationId: shortText.optional(),
  organizationName: shortText.optional(),
  createdDateTime: utcDateTime.optional(),
  updatedDateTime: utcDateTime.optional(),
  expirationDateTime: utcDateTime.optional(),
  acceptedDateTime: utcDateTime.optional(),
  closedDateTime: utcDateTime.optional(),
  status: z.enum(ReferralStatus).optional(),
  substatus: z.enum(ReferralSubstatus).optional(),
  statusReason: mediumText.optional(),
  type: referralTypeSchema,
  qualification: z.enum(ReferralQualification).optional(),
  referralSource: shortText.optional(),
  callToAction: shortText.optional(),
  customerProfile: customerProfileSchema,
  consent: consentSchema,
  details: referralDetailsSchema,
  customerMarketplaceIntent: shortText.optional(),
  team: list(memberSchema, L.teamMembers).optional(),
  inviteContext: inviteContextSchema.optional(),
  target: list(referralTargetSchema).optional(),
  /** Services co-sell. [inferred] JSON placement: top-level camelCase. All three or none. */
  partnerRole: z.enum(PartnerRole).optional(),
  solutionArea: many(SOLUTION_AREAS)
    .describe('Services co-sell solution area (services-co-sell-catalogue.json)')
    .optional(),
  solutionPlay: many(SOLUTION_PLAYS)
    .describe('Services co-sell solution play (services-co-sell-catalogue.json)')
    .optional(),
  eTag: shortText.optional(),
  links: referralLinksSchema.optional(),
  direction: z.enum(ReferralDirection).optional(),
  mpnId: shortText.optional(),
  campaignId: shortText.optional(),
  salesStage: shortText.optional(),
  dealSensitivity: shortText.optional(),
  quality: shortText.optional(),
  isSpam: flag.optional(),
  favorite: flag.optional(),
  referralProgram: shortText.optional(),
  createdVia: shortText.optional(),
  lastModifiedVia: shortText.optional(),
  lastRunId: shortText.optional(),
  tags: list(shortText).optional(),
  registrationStatus: shortText.optional(),
  registrations: list(dealRegistrationSchema).optional(),
  trackingInfo: trackingInfoSchema.optional(),
  attributes: z.strictObject({ objectType: shortText.optional() }).optional(),
};

/** Refinements run even when a field failed, so every problem is reported at once. */
const always = { when: () => true };

/**
 * The Referral resource as sent to Partner Center (normalised camelCase). Required on create: type,
 * customerProfile, consent, details. Also checks status/substatus against the transition table and the
 * Services co-sell fields (all three or none; area/play pair from the catalogue).
 */
export const referralSchema = z.strictObject(referralShape).superRefine(checkReferralRules, always);

/** A normalised referral: what is sent to Partner Center. */
export type Referral = z.infer<typeof referralSchema>;
/** A person on a referral. */
export type Member = z.infer<typeof memberSchema>;

/** The `coSell` block: what the Microsoft referral of a CoSell deal needs. */
export const coSellSchema = z.strictObject({
  notes: visible(z.string().min(1).max(L.notesLength)),
  assistanceRequestCode: z.enum(AssistanceRequestCode),
  contacts: list(memberSchema, L.teamMembers).optional(),
});

/** An absolute http(s) URL without credentials (whether http is allowed is an option of the validator). */
export const callbackUrlSchema = z
  .string()
  .max(L.urlLength)
  .superRefine((value, ctx) => {
    if (!isHttpUrl(value)) {
      ctx.addIssue({
        code: 'custom',
        message: 'Must be an absolute https URL without user name or password.',
        params: { code: 'invalid_url' },
      });
    }
  });

/**
 * A referral request body: the referral's fields plus the request-level `dealType`, `coSell` and
 * `callbackUrl` (never sent to Partner Center). `type` may be left out (filled from the deal type).
 * Checks the deal-type rules on top of the referral rules.
 */
export const referralRequestSchema = z
  .strictObject({
    ...referralShape,
    type: referralTypeSchema.optional(),
    dealType: z.enum(DealType).optional(),
    coSell: coSellSchema.optional(),
    callbackUrl: callbackUrlSchema.optional(),
  })
  .superRefine((value, ctx) => {
    checkReferralRules(value, ctx);
    checkRequestRules(value, ctx);
  }, always);

/** A request body that passed {@link referralRequestSchema} (before the deal type is applied). */
export type ParsedReferralRequest = z.infer<typeof referralRequestSchema>;

function isHttpUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.hostname !== '' &&
    url.username === '' &&
    url.password === ''
  );
}
