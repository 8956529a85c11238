/**
 * The referral contract: the zod schema of the Partner Center Referral resource, key and enum
 * normalisation, deal types, the status/substatus lifecycle, the Services co-sell catalogue, and
 * RFC 9457 problem details. See docs/contract.md.
 */
export {
  AssistanceRequestCode,
  ContractTerm,
  CustomerProfileType,
  CustomerSize,
  DealRegistrationType,
  DealType,
  PARTNER_ROLE_LABELS,
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
export { COUNTRY_CODES, CURRENCY_CODES, type CountryCode, type CurrencyCode } from './isoCodes';
export { ReferralContractError, type ReferralContractErrorContext } from './errors';
export {
  ALLOWED_STATUS_TRANSITIONS,
  ALLOWED_SUBSTATUS_BY_STATUS,
  TERMINAL_SUBSTATUSES,
  isAllowedStatusTransition,
  isAllowedSubstatus,
  type ReferralState,
} from './statusLifecycle';
export {
  SERVICES_CO_SELL_CATALOGUE,
  SOLUTION_AREAS,
  SOLUTION_PLAYS,
  isCataloguePair,
  solutionPlaysOf,
  type ServicesCoSellCatalogue,
  type SolutionAreaEntry,
} from './servicesCoSellCatalogue';
export { resolveDealType, defaultReferralType, type DealTypeConflict, type DealTypeResolution } from './dealTypeRules';
export {
  addressSchema,
  callbackUrlSchema,
  coSellSchema,
  consentSchema,
  customerProfileSchema,
  memberSchema,
  referralDetailsSchema,
  referralRequestSchema,
  referralSchema,
  type Member,
  type ParsedReferralRequest,
  type Referral,
} from './referralSchema';
export {
  validateReferralRequest,
  type CoSellRequest,
  type ReferralRequest,
  type ValidateOptions,
  type ValidationResult,
} from './validateReferralRequest';
export { VALIDATION_PROBLEM_SLUG, VALIDATION_PROBLEM_TITLE } from './validationProblem';
export {
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPE_BASE,
  problem,
  toJsonPointer,
  type ProblemDetails,
  type ProblemFieldError,
} from './problem';
