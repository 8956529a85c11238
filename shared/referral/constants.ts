/**
 * Enums and limits of the Partner Center Referral resource, as `as const` objects with derived union types.
 *
 * Values are the documented API spellings (../shared/reference/partner-center-referrals.md §2 and the
 * "Create a referral" page). Callers may send any letter case; the validator normalises to these.
 */

/** Lifecycle status of a referral. */
export const ReferralStatus = { None: 'None', New: 'New', Active: 'Active', Closed: 'Closed' } as const;
export type ReferralStatus = (typeof ReferralStatus)[keyof typeof ReferralStatus];

/**
 * Substatus within a status (New: Pending/Received; Active: Accepted; Closed: Won/Lost/Declined/Expired).
 * The UI's "Error" close reason is not accepted: an `Error` substatus in the API is not documented.
 */
export const ReferralSubstatus = {
  None: 'None',
  Pending: 'Pending',
  Received: 'Received',
  Accepted: 'Accepted',
  Won: 'Won',
  Lost: 'Lost',
  Declined: 'Declined',
  Expired: 'Expired',
} as const;
export type ReferralSubstatus = (typeof ReferralSubstatus)[keyof typeof ReferralSubstatus];

/** Visibility: `Independent` (one partner) or `Shared` (the collaborating parties, e.g. partner and Microsoft). */
export const ReferralType = { Independent: 'Independent', Shared: 'Shared' } as const;
export type ReferralType = (typeof ReferralType)[keyof typeof ReferralType];

/** Who qualified the referral. */
export const ReferralQualification = {
  None: 'None',
  Direct: 'Direct',
  MarketingQualified: 'MarketingQualified',
  SalesQualified: 'SalesQualified',
} as const;
export type ReferralQualification = (typeof ReferralQualification)[keyof typeof ReferralQualification];

/** What a referral target names: a business profile location (Microsoft is `{BusinessProfileLocation, msft}`) or a solution. */
export const ReferralTargetType = {
  None: 'None',
  BusinessProfileLocation: 'BusinessProfileLocation',
  SolutionProfile: 'SolutionProfile',
} as const;
export type ReferralTargetType = (typeof ReferralTargetType)[keyof typeof ReferralTargetType];

/** `details.requirements.solutions[].type`: a predefined category name or a catalogue id (`SOL-xxxx-XXX`). */
export const SolutionTagType = { None: 'None', Category: 'Category', Name: 'Name' } as const;
export type SolutionTagType = (typeof SolutionTagType)[keyof typeof SolutionTagType];

/** The help asked of Microsoft (`inviteContext.assistanceRequestCode`, and the `coSell` block). */
export const AssistanceRequestCode = {
  Unknown: 'Unknown',
  GeneralOrOther: 'GeneralOrOther',
  CustomerTechnicalArchitecture: 'CustomerTechnicalArchitecture',
  ProofOfConceptOrDemo: 'ProofOfConceptOrDemo',
  QuotesOrLicensing: 'QuotesOrLicensing',
  PostSalesCustomerSuccess: 'PostSalesCustomerSuccess',
  WorkloadSpecificValueProposition: 'WorkloadSpecificValueProposition',
} as const;
export type AssistanceRequestCode = (typeof AssistanceRequestCode)[keyof typeof AssistanceRequestCode];

/** `customerProfile.size` (both the older three-band and the newer eight-band values are documented). */
export const CustomerSize = {
  '1to50employees': '1to50employees',
  '51to500employees': '51to500employees',
  Morethan500employees: 'Morethan500employees',
  '1to9employees': '1to9employees',
  '10to50employees': '10to50employees',
  '51to250employees': '51to250employees',
  '251to1000employees': '251to1000employees',
  '1001to5000employees': '1001to5000employees',
  '5001to10000employees': '5001to10000employees',
  '10001to20000employees': '10001to20000employees',
  Morethan20000employees: 'Morethan20000employees',
} as const;
export type CustomerSize = (typeof CustomerSize)[keyof typeof CustomerSize];

/** `customerProfile.ids[].profileType`. */
export const CustomerProfileType = { Duns: 'Duns', External: 'External' } as const;
export type CustomerProfileType = (typeof CustomerProfileType)[keyof typeof CustomerProfileType];

/** `direction` as Partner Center reports it (read-only). */
export const ReferralDirection = { Incoming: 'Incoming', Outgoing: 'Outgoing' } as const;
export type ReferralDirection = (typeof ReferralDirection)[keyof typeof ReferralDirection];

/**
 * Services co-sell partner role. [inferred] The API spelling is not documented: the validator accepts the
 * UI label ("Presales envisioning") or this PascalCase form in any case and always sends the PascalCase form.
 */
export const PartnerRole = {
  PresalesEnvisioning: 'PresalesEnvisioning',
  SolutionDesign: 'SolutionDesign',
  ProofOfConcept: 'ProofOfConcept',
  BusinessStrategy: 'BusinessStrategy',
  DeploymentServices: 'DeploymentServices',
  AdoptionAndChangeManagement: 'AdoptionAndChangeManagement',
  Transaction: 'Transaction',
  ManagedServices: 'ManagedServices',
} as const;
export type PartnerRole = (typeof PartnerRole)[keyof typeof PartnerRole];

/** The Partner Center UI label of each {@link PartnerRole} (as the "Create a referral" page lists them). */
export const PARTNER_ROLE_LABELS: Readonly<Record<PartnerRole, string>> = {
  PresalesEnvisioning: 'Presales envisioning',
  SolutionDesign: 'Solution design',
  ProofOfConcept: 'Proof of concept',
  BusinessStrategy: 'Business strategy',
  DeploymentServices: 'Deployment services',
  AdoptionAndChangeManagement: 'Adoption and change management',
  Transaction: 'Transaction',
  ManagedServices: 'Managed services',
};

/** `registrations[].type` (IP co-sell deal registration, read through the connector contract). */
export const DealRegistrationType = { AzureIPCoSell: 'AzureIPCoSell' } as const;
export type DealRegistrationType = (typeof DealRegistrationType)[keyof typeof DealRegistrationType];

/** `registrations[].contract.term`. */
export const ContractTerm = { Perpetual: 'Perpetual', Finite: 'Finite' } as const;
export type ContractTerm = (typeof ContractTerm)[keyof typeof ContractTerm];

/** `registrations[].solutionDetails[].primaryDeploymentOn`. */
export const PrimaryDeployment = { Customer: 'Customer', Partner: 'Partner' } as const;
export type PrimaryDeployment = (typeof PrimaryDeployment)[keyof typeof PrimaryDeployment];

/** `registrations[].solutionDetails[].pricingModel`. */
export const PricingModel = { PayAsYouGo: 'PayAsYouGo', Other: 'Other' } as const;
export type PricingModel = (typeof PricingModel)[keyof typeof PricingModel];

/**
 * The request-level deal type (never sent to Partner Center).
 * Private: not shared with Microsoft sellers. PartnerLed: shared, no help asked. CoSell: shared and help
 * asked (a second, Microsoft referral is created from the `coSell` block).
 */
export const DealType = { Private: 'Private', PartnerLed: 'PartnerLed', CoSell: 'CoSell' } as const;
export type DealType = (typeof DealType)[keyof typeof DealType];

/**
 * Size limits. Documented: at most 50 team members and 50 solutions per deal (bulk upload rules, which
 * likely mirror the API). [inferred] The text lengths and the other array sizes are this bridge's own
 * bounds, generous for real deals and small enough to keep a hostile body cheap.
 */
export const REFERRAL_LIMITS = {
  /** Names, ids, labels. */
  shortTextLength: 256,
  /** statusReason and other one-line descriptions. */
  mediumTextLength: 1024,
  /** details.notes, inviteContext.notes, coSell.notes. */
  notesLength: 4000,
  /** E-mail addresses (RFC 5321 path limit). */
  emailLength: 254,
  /** URLs (callbackUrl, links, LinkedIn profiles). */
  urlLength: 2048,
  /** team, customerProfile.team, coSell.contacts, requirements.solutions (documented: 50). */
  teamMembers: 50,
  solutions: 50,
  /** Every other array. */
  arrayItems: 100,
  /** Objects and arrays nested inside each other. */
  maxDepth: 32,
  /** Object keys and array items in the whole body. */
  maxNodes: 10_000,
  /** Field errors reported in one problem body (the rest are counted in `detail`). */
  maxErrors: 50,
} as const;
