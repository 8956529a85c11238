/**
 * The simulator's own view of a valid referral: required fields, enums, the status/substatus table and
 * allowed transitions. Written independently of the app's contract (shared/referral): the simulator
 * is the other party, and a shared schema would hide disagreements instead of exposing them.
 *
 * Like the real service (a .NET JSON contract), property names and enum values are matched
 * case-insensitively (the documented Step 1 body sends `ConsentToToShareInfoWithOthers` and
 * `profileType: "external"`) and stored in their canonical spelling.
 */
import { isDeepStrictEqual } from 'node:util';
import { invalidRequest, type PartnerApiError } from './errors';

/** Referral status values that can be set. */
export const ReferralStatus = { New: 'New', Active: 'Active', Closed: 'Closed' } as const;
export type ReferralStatus = (typeof ReferralStatus)[keyof typeof ReferralStatus];

/** Substatuses allowed with each status (the documented table). */
export const SUBSTATUSES_BY_STATUS: Readonly<Record<ReferralStatus, readonly string[]>> = {
  New: ['Pending', 'Received'],
  Active: ['Accepted'],
  Closed: ['Won', 'Lost', 'Declined', 'Expired'],
};

/** Statuses reachable from each status; Closed (Won/Lost/Declined/Expired) is terminal. */
export const NEXT_STATUSES: Readonly<Record<ReferralStatus, readonly ReferralStatus[]>> = {
  New: ['New', 'Active', 'Closed'],
  Active: ['Active', 'Closed'],
  Closed: [],
};

/** Enumerations the simulator checks, canonical spellings. */
export const ENUMS = {
  type: ['Independent', 'Shared'],
  status: ['New', 'Active', 'Closed'],
  substatus: ['Pending', 'Received', 'Accepted', 'Won', 'Lost', 'Declined', 'Expired'],
  qualification: ['None', 'Direct', 'MarketingQualified', 'SalesQualified'],
  targetType: ['None', 'BusinessProfileLocation', 'SolutionProfile'],
  solutionType: ['None', 'Category', 'Name'],
  profileType: ['Duns', 'External'],
  assistanceRequestCode: [
    'Unknown',
    'GeneralOrOther',
    'CustomerTechnicalArchitecture',
    'ProofOfConceptOrDemo',
    'QuotesOrLicensing',
    'PostSalesCustomerSuccess',
    'WorkloadSpecificValueProposition',
  ],
  size: [
    '1to50employees',
    '51to500employees',
    'Morethan500employees',
    '1to9employees',
    '10to50employees',
    '51to250employees',
    '251to1000employees',
    '1001to5000employees',
    '5001to10000employees',
    '10001to20000employees',
    'Morethan20000employees',
  ],
} as const;

/** Top-level fields the service owns: set by the simulator, never taken from a request body. */
export const SERVER_OWNED_FIELDS = [
  'id',
  'organizationId',
  'organizationName',
  'createdDateTime',
  'updatedDateTime',
  'acceptedDateTime',
  'closedDateTime',
  'eTag',
  'links',
  'direction',
] as const;

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------
// Canonical property names (case-insensitive input)
// ---------------------------------------------------------------------------------------------------

type Shape = { [key: string]: Shape | null };
const member: Shape = {
  firstName: null,
  lastName: null,
  phoneNumber: null,
  email: null,
  title: null,
  contactPreference: { locale: null, disableNotifications: null },
  phoneValidationStatus: null,
  emailValidationStatus: null,
  linkedInProfileUrl: null,
};
const solution: Shape = {
  id: null,
  name: null,
  type: null,
  price: null,
  quantity: null,
  currency: null,
  publisherName: null,
  solutionType: null,
  closingDateTime: null,
};
const REFERRAL_SHAPE: Shape = {
  id: null,
  engagementId: null,
  organizationId: null,
  organizationName: null,
  name: null,
  externalReferenceId: null,
  createdDateTime: null,
  updatedDateTime: null,
  expirationDateTime: null,
  acceptedDateTime: null,
  closedDateTime: null,
  status: null,
  substatus: null,
  statusReason: null,
  type: null,
  qualification: null,
  referralSource: null,
  callToAction: null,
  customerProfile: {
    name: null,
    address: {
      addressLine1: null,
      addressLine2: null,
      city: null,
      state: null,
      postalCode: null,
      country: null,
      region: null,
    },
    size: null,
    team: member,
    ids: { profileType: null, id: null },
    isMatchingComplete: null,
    isMaccEligible: null,
    activities: null,
    type: null,
  },
  consent: {
    consentToToShareInfoWithOthers: null,
    consentToShareInfoWithOthers: null,
    consentToContact: null,
    consentToMicrosoftToContactSpecificPartners: null,
    consentToShareReferralWithMicrosoftSellers: null,
  },
  details: {
    notes: null,
    dealValue: null,
    currency: null,
    closingDateTime: null,
    requirements: {
      industries: null,
      products: null,
      services: null,
      solutions: solution,
      additionalRequirements: null,
    },
  },
  team: member,
  inviteContext: {
    notes: null,
    assistanceRequestCode: null,
    invitedMpnId: null,
    invitedBy: { organizationId: null, organizationName: null },
  },
  target: { type: null, id: null },
  partnerRole: null,
  solutionArea: null,
  solutionPlay: null,
  eTag: null,
  links: null,
  direction: null,
  mpnId: null,
  campaignId: null,
  salesStage: null,
  dealSensitivity: null,
  attributes: null,
  trackingInfo: null,
  customerMarketplaceIntent: null,
};

/** Renames known properties to their canonical spelling, at any depth (arrays of objects included). */
function canonicalize(value: unknown, shape: Shape): unknown {
  if (Array.isArray(value)) return value.map((item) => canonicalize(item, shape));
  if (!isObject(value)) return value;
  const byLower = new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]));
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    const canonical = byLower.get(key.toLowerCase()) ?? key;
    const innerShape = shape[canonical];
    out[canonical] = innerShape ? canonicalize(inner, innerShape) : inner;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------

/** Collects problems while walking a referral; the first one becomes the error's target. */
class Checker {
  readonly problems: Array<{ target: string; message: string }> = [];

  add(target: string, message: string): void {
    this.problems.push({ target, message });
  }

  /** Canonical enum spelling of `obj[key]` (case-insensitive); empty or null passes when `optional`. */
  enumField(
    obj: JsonObject,
    key: string,
    target: string,
    allowed: readonly string[],
    options: { required?: boolean; emptyAllowed?: boolean } = {},
  ): void {
    const value = obj[key];
    if (value === undefined || value === null || (options.emptyAllowed && value === '')) {
      if (options.required) this.add(target, `The ${target} field is required.`);
      return;
    }
    const match = typeof value === 'string' ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
    if (!match) {
      this.add(target, `The value of ${target} is not valid. Allowed values: ${allowed.join(', ')}.`);
      return;
    }
    obj[key] = match;
  }

  stringField(
    obj: JsonObject,
    key: string,
    target: string,
    options: { required?: boolean; maxLength?: number } = {},
  ): void {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (options.required) this.add(target, `The ${target} field is required.`);
      return;
    }
    if (typeof value !== 'string') return this.add(target, `${target} must be a string.`);
    if (options.required && value.trim() === '') return this.add(target, `The ${target} field is required.`);
    if (options.maxLength !== undefined && value.length > options.maxLength)
      this.add(target, `${target} must be at most ${options.maxLength} characters.`);
  }

  objectField(obj: JsonObject, key: string, target: string, required: boolean): JsonObject | undefined {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (required) this.add(target, `The ${target} field is required.`);
      return undefined;
    }
    if (!isObject(value)) {
      this.add(target, `${target} must be an object.`);
      return undefined;
    }
    return value;
  }

  arrayOfObjects(obj: JsonObject, key: string, target: string): JsonObject[] {
    const value = obj[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every(isObject)) {
      this.add(target, `${target} must be an array of objects.`);
      return [];
    }
    return value;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** True for a GUID string. */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value);
}

function checkMembers(check: Checker, members: JsonObject[], target: string): void {
  members.forEach((m, i) => {
    for (const key of ['firstName', 'lastName', 'phoneNumber', 'title'])
      check.stringField(m, key, `${target}[${i}].${key}`);
    const email = m.email;
    if (email !== undefined && email !== null && email !== '' && (typeof email !== 'string' || !EMAIL.test(email))) {
      check.add(`${target}[${i}].email`, `${target}[${i}].email is not a valid email address.`);
    }
    const preference = check.objectField(m, 'contactPreference', `${target}[${i}].contactPreference`, false);
    if (
      preference &&
      preference.disableNotifications !== undefined &&
      typeof preference.disableNotifications !== 'boolean'
    ) {
      check.add(`${target}[${i}].contactPreference.disableNotifications`, 'disableNotifications must be a boolean.');
    }
  });
}

function checkStatusPair(check: Checker, referral: JsonObject, defaults: boolean): void {
  const before = check.problems.length;
  check.enumField(referral, 'status', 'status', ENUMS.status);
  check.enumField(referral, 'substatus', 'substatus', ENUMS.substatus);
  if (check.problems.length > before) return;
  let status = referral.status as ReferralStatus | undefined | null;
  let substatus = referral.substatus as string | undefined | null;
  if (status === null) status = undefined;
  if (substatus === null) substatus = undefined;
  if (status === undefined && substatus !== undefined) {
    status = (Object.keys(SUBSTATUSES_BY_STATUS) as ReferralStatus[]).find((s) =>
      SUBSTATUSES_BY_STATUS[s].includes(substatus as string),
    );
  }
  if (status === undefined && defaults) status = ReferralStatus.New;
  if (status !== undefined && substatus === undefined) {
    const options = SUBSTATUSES_BY_STATUS[status];
    if (options.length > 1 && status === ReferralStatus.Closed) {
      check.add('substatus', 'A Closed referral needs a substatus: Won, Lost, Declined or Expired.');
      return;
    }
    substatus = options[0];
  }
  if (status === undefined || substatus === undefined) {
    check.add('status', 'The status field is required.');
    return;
  }
  if (!SUBSTATUSES_BY_STATUS[status].includes(substatus)) {
    check.add(
      'substatus',
      `Substatus ${substatus} is not allowed with status ${status}. Allowed: ${SUBSTATUSES_BY_STATUS[status].join(', ')}.`,
    );
    return;
  }
  referral.status = status;
  referral.substatus = substatus;
}

/**
 * Canonicalizes and validates a referral body (create, full update, or the result of a patch).
 * Returns the canonical referral, or the first problem as a 400 `invalidRequest` (its message lists
 * up to five problems). `defaults`: fill status/substatus New/Pending when absent (create).
 */
export function validateReferral(
  input: unknown,
  options: { defaults: boolean },
): { referral: JsonObject } | { error: PartnerApiError } {
  if (!isObject(input))
    return { error: invalidRequest('The request body must be a JSON object (a Referral).', 'body') };
  const referral = canonicalize(structuredClone(input), REFERRAL_SHAPE) as JsonObject;
  const check = new Checker();

  check.enumField(referral, 'type', 'type', ENUMS.type, { required: true });
  check.stringField(referral, 'name', 'name', { maxLength: 256 });
  check.stringField(referral, 'externalReferenceId', 'externalReferenceId', { maxLength: 256 });
  check.stringField(referral, 'statusReason', 'statusReason', { maxLength: 1024 });
  check.enumField(referral, 'qualification', 'qualification', ENUMS.qualification, { emptyAllowed: true });
  if (referral.engagementId !== undefined && referral.engagementId !== null && !isGuid(referral.engagementId)) {
    check.add('engagementId', 'engagementId must be a GUID.');
  }
  checkStatusPair(check, referral, options.defaults);

  const customer = check.objectField(referral, 'customerProfile', 'customerProfile', true);
  if (customer) {
    check.stringField(customer, 'name', 'customerProfile.name', { required: true, maxLength: 256 });
    const address = check.objectField(customer, 'address', 'customerProfile.address', true);
    if (address) {
      const country = address.country;
      if (typeof country !== 'string' || !/^[A-Za-z]{2}$/.test(country)) {
        check.add(
          'customerProfile.address.country',
          'customerProfile.address.country must be a two-letter ISO 3166 country code.',
        );
      } else {
        address.country = country.toUpperCase();
      }
      for (const key of ['addressLine1', 'addressLine2', 'city', 'state', 'postalCode', 'region']) {
        check.stringField(address, key, `customerProfile.address.${key}`);
      }
    }
    check.enumField(customer, 'size', 'customerProfile.size', ENUMS.size, { emptyAllowed: true });
    checkMembers(check, check.arrayOfObjects(customer, 'team', 'customerProfile.team'), 'customerProfile.team');
    check.arrayOfObjects(customer, 'ids', 'customerProfile.ids').forEach((id, i) => {
      check.enumField(id, 'profileType', `customerProfile.ids[${i}].profileType`, ENUMS.profileType, {
        required: true,
      });
      check.stringField(id, 'id', `customerProfile.ids[${i}].id`, { required: true });
    });
  }

  const consent = check.objectField(referral, 'consent', 'consent', true);
  if (consent) {
    for (const [key, value] of Object.entries(consent)) {
      if (key.startsWith('consent') && value !== null && typeof value !== 'boolean')
        check.add(`consent.${key}`, `consent.${key} must be a boolean.`);
    }
  }

  const details = check.objectField(referral, 'details', 'details', true);
  if (details) {
    const dealValue = details.dealValue;
    if (
      dealValue !== undefined &&
      dealValue !== null &&
      (typeof dealValue !== 'number' || !Number.isFinite(dealValue) || dealValue < 0)
    ) {
      check.add('details.dealValue', 'details.dealValue must be a non-negative number.');
    }
    const currency = details.currency;
    if (currency !== undefined && currency !== null && currency !== '') {
      if (typeof currency !== 'string' || !/^[A-Za-z]{3}$/.test(currency))
        check.add('details.currency', 'details.currency must be a three-letter ISO 4217 code.');
      else details.currency = currency.toUpperCase();
    }
    const closing = details.closingDateTime;
    if (
      closing !== undefined &&
      closing !== null &&
      (typeof closing !== 'string' || !ISO_DATE_TIME.test(closing) || Number.isNaN(Date.parse(closing)))
    ) {
      check.add('details.closingDateTime', 'details.closingDateTime must be an ISO 8601 UTC date-time.');
    }
    check.stringField(details, 'notes', 'details.notes', { maxLength: 10_000 });
    const requirements = check.objectField(details, 'requirements', 'details.requirements', false);
    if (requirements) {
      check.arrayOfObjects(requirements, 'solutions', 'details.requirements.solutions').forEach((s, i) => {
        check.enumField(s, 'type', `details.requirements.solutions[${i}].type`, ENUMS.solutionType);
      });
    }
  }

  checkMembers(check, check.arrayOfObjects(referral, 'team', 'team'), 'team');
  check.arrayOfObjects(referral, 'target', 'target').forEach((t, i) => {
    check.enumField(t, 'type', `target[${i}].type`, ENUMS.targetType, { required: true });
    check.stringField(t, 'id', `target[${i}].id`);
  });
  const invite = check.objectField(referral, 'inviteContext', 'inviteContext', false);
  if (invite)
    check.enumField(
      invite,
      'assistanceRequestCode',
      'inviteContext.assistanceRequestCode',
      ENUMS.assistanceRequestCode,
      { emptyAllowed: true },
    );

  if (check.problems.length > 0) {
    const [first] = check.problems;
    const shown = check.problems
      .slice(0, 5)
      .map((p) => p.message)
      .join(' ');
    const more = check.problems.length > 5 ? ` (${check.problems.length - 5} more)` : '';
    return { error: invalidRequest(`${shown}${more}`, first.target) };
  }
  return { referral };
}

/** Why a status change is refused, or undefined when `from` → `to` is allowed. */
export function transitionProblem(
  from: { status: string; substatus: string },
  to: { status: string; substatus: string },
): string | undefined {
  if (from.status === ReferralStatus.Closed) {
    return `The referral is closed (${from.substatus}): a referral in a terminal state cannot be modified.`;
  }
  const allowed = NEXT_STATUSES[from.status as ReferralStatus] ?? [];
  if (!allowed.includes(to.status as ReferralStatus)) {
    return `Status ${from.status} cannot change to ${to.status}. Allowed: ${allowed.join(', ')}.`;
  }
  return undefined;
}

/** True for a non-array object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Why an update of `previous` to `next` (both canonical) touches a field that is read-only after
 * creation, as `{ target, message }`, or undefined. The documented list
 * (../shared/reference/partner-center-lifecycle.md, "Updating a referral"): customer name, address,
 * country and DUNS; consent flags; partner id (`mpnId`). Sharing with Microsoft cannot be undone:
 * `consentToShareReferralWithMicrosoftSellers` may go from false to true and `type` from Independent to
 * Shared (an upgrade to co-sell), never back. The reference says both "consent flags are read-only after
 * creation" and "Private and partner-led deals can be upgraded to co-sell before a terminal state"; sharing
 * allowed and un-sharing refused is how the simulator reconciles them [inferred]. Location scope has no
 * documented field and is not checked.
 */
export function readOnlyProblem(
  previous: JsonObject,
  next: JsonObject,
): { target: string; message: string } | undefined {
  const readOnly = (target: string) => ({
    target,
    message: `The field ${target} is read-only after the referral is created.`,
  });
  const before = isObject(previous.customerProfile) ? previous.customerProfile : {};
  const after = isObject(next.customerProfile) ? next.customerProfile : {};
  if (!sameValue(before.name, after.name)) return readOnly('customerProfile.name');
  const addressBefore = isObject(before.address) ? before.address : {};
  const addressAfter = isObject(after.address) ? after.address : {};
  if (!sameValue(addressBefore.country, addressAfter.country)) return readOnly('customerProfile.address.country');
  if (!sameValue(addressBefore, addressAfter)) return readOnly('customerProfile.address');
  if (!sameValue(dunsIds(before.ids), dunsIds(after.ids))) return readOnly('customerProfile.ids');
  const consentBefore = isObject(previous.consent) ? previous.consent : {};
  const consentAfter = isObject(next.consent) ? next.consent : {};
  for (const key of new Set([...Object.keys(consentBefore), ...Object.keys(consentAfter)])) {
    const was = consentBefore[key] ?? null;
    const is = consentAfter[key] ?? null;
    if (sameValue(was, is)) continue;
    if (key === 'consentToShareReferralWithMicrosoftSellers' && was !== true && is === true) continue;
    if (key === 'consentToShareReferralWithMicrosoftSellers' && was === true) {
      return {
        target: `consent.${key}`,
        message: 'A referral shared with Microsoft cannot be unshared (consentToShareReferralWithMicrosoftSellers).',
      };
    }
    return readOnly(`consent.${key}`);
  }
  if (previous.type === 'Shared' && next.type !== 'Shared') {
    return { target: 'type', message: 'A referral shared with Microsoft cannot be unshared (type Shared).' };
  }
  if (previous.mpnId !== undefined && previous.mpnId !== null && !sameValue(previous.mpnId, next.mpnId))
    return readOnly('mpnId');
  return undefined;
}

function dunsIds(ids: unknown): string[] {
  if (!Array.isArray(ids)) return [];
  return ids
    .filter((id): id is JsonObject => isObject(id) && id.profileType === 'Duns')
    .map((id) => String(id.id))
    .sort();
}

function sameValue(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(normalize(a), normalize(b));
}

/** null, undefined and '' are the same absence; keys in any order. */
function normalize(value: unknown): unknown {
  if (value === undefined || value === null || value === '') return null;
  if (Array.isArray(value)) return value.map(normalize);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .map(([k, v]) => [k, normalize(v)] as const)
      .filter(([, v]) => v !== null)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}
