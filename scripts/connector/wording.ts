/**
 * Titles, descriptions and visibility of the connector's fields: how a key becomes a flow-designer title
 * ({@link titleOf}), the titles and descriptions the contract's keys alone cannot give, and which request
 * fields the designer shows by default. Used by swaggerSchema.ts (annotate) and definitions.ts.
 */

/**
 * Titles (x-ms-summary) of referral fields whose key alone is ambiguous or badly cased. `[]` marks
 * array items. (The tracking view and problem schemas carry theirs in `.meta()`.)
 */
export const REFERRAL_SUMMARIES: Readonly<Record<string, string>> = {
  name: 'Deal Name',
  type: 'Referral Type',
  status: 'Referral Status',
  substatus: 'Referral Substatus',
  team: 'Partner Team',
  'customerProfile.name': 'Customer Name',
  'customerProfile.address': 'Customer Address',
  'customerProfile.size': 'Customer Size',
  'customerProfile.team': 'Customer Contacts',
  'customerProfile.ids': 'Customer IDs',
  'customerProfile.ids[].id': 'Customer ID',
  'customerProfile.type': 'Customer Type',
  'details.notes': 'Deal Notes',
  'details.currency': 'Deal Currency',
  coSell: 'Co-Sell',
  'coSell.notes': 'Notes for Microsoft',
  'coSell.contacts': 'Contacts for Microsoft',
  'inviteContext.notes': 'Invitation Notes',
  'consent.consentToToShareInfoWithOthers': 'Consent to Share Info with Others',
  'details.requirements.solutions[].type': 'Solution Tag Type',
  'registrations[].status': 'Deal Registration Status',
  callbackUrl: 'Callback URL',
};

/** Titles (x-ms-summary) of change fields whose key alone is ambiguous. */
export const CHANGE_SUMMARIES: Readonly<Record<string, string>> = {
  name: 'Deal Name',
  type: 'Referral Type',
  status: 'Referral Status',
  substatus: 'Referral Substatus',
  team: 'Team Members to Add',
  'details.notes': 'Deal Notes',
  'details.currency': 'Deal Currency',
};

/** Descriptions for request fields the contract does not describe itself. */
export const DESCRIPTION_BY_PATH: Readonly<Record<string, string>> = {
  dealType:
    'Private (only you see it), PartnerLed (shared with Microsoft sellers) or CoSell (you ask Microsoft for help: the bridge also creates the linked Microsoft referral). Derived from the consent flags when left out.',
  name: 'The deal name as it appears in Partner Center.',
  externalReferenceId: 'Your CRM opportunity id. Also the idempotency key when no Idempotency-Key is given.',
  customerProfile: 'The customer: name, address (the country is required), size and contacts.',
  'customerProfile.name': "The customer organisation's name.",
  'customerProfile.team': 'Customer contacts (sent to Partner Center, never logged by the bridge).',
  consent:
    'Consent flags (the object is required; every flag is optional). The sharing flag follows the deal type when left out.',
  details: 'The deal: value, currency, closing date, notes and requirements.',
  'details.dealValue': 'The estimated deal value.',
  'details.notes': 'Notes on the deal (up to 4000 characters).',
  type: 'Independent or Shared. Left out, it follows the deal type.',
  coSell: 'Required for a CoSell deal: what you need from Microsoft. Not sent with your own referral.',
  'coSell.notes': 'What you need from Microsoft, for the Microsoft seller.',
  'coSell.assistanceRequestCode': 'The kind of help you ask Microsoft for.',
  'coSell.contacts': "Your contacts for the Microsoft seller (the Microsoft referral's team).",
  callbackUrl:
    'An https URL the bridge POSTs the final tracking view to (optional; flows usually rely on the async pattern instead).',
  team: 'Your own team on the referral.',
};

/** Request fields shown by default in the flow designer; every other optional field is under "advanced". */
export const IMPORTANT_PATHS: ReadonlySet<string> = new Set([
  'dealType',
  'name',
  'externalReferenceId',
  'customerProfile',
  'customerProfile.name',
  'customerProfile.address',
  'customerProfile.address.addressLine1',
  'customerProfile.address.city',
  'customerProfile.address.state',
  'customerProfile.address.postalCode',
  'customerProfile.address.country',
  'customerProfile.size',
  'customerProfile.team',
  'customerProfile.team[].firstName',
  'customerProfile.team[].lastName',
  'customerProfile.team[].email',
  'customerProfile.team[].phoneNumber',
  'consent.consentToContact',
  'details',
  'details.notes',
  'details.dealValue',
  'details.currency',
  'details.closingDateTime',
  'coSell',
  'coSell.notes',
  'coSell.assistanceRequestCode',
  'coSell.contacts',
  'coSell.contacts[].firstName',
  'coSell.contacts[].lastName',
  'coSell.contacts[].email',
  'coSell.contacts[].phoneNumber',
]);

/** Words written in capitals or with inner capitals in titles. */
const WORD_CASE: Readonly<Record<string, string>> = {
  id: 'ID',
  ids: 'IDs',
  url: 'URL',
  uri: 'URI',
  mpn: 'MPN',
  iot: 'IoT',
  macc: 'MACC',
  msx: 'MSX',
  us: 'US',
  psc: 'PSC',
  linkedin: 'LinkedIn',
};
/** Small words kept lower case inside a title. */
const SMALL_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'and',
  'as',
  'by',
  'for',
  'of',
  'on',
  'or',
  'the',
  'to',
  'with',
]);

/** `consentToContact` → `Consent to Contact`, `eTag` → `ETag`, `linkedInProfileUrl` → `LinkedIn Profile URL`. */
export function titleOf(key: string): string {
  if (key === 'eTag') return 'ETag';
  const words = key
    .replace(/linkedIn/g, 'Linkedin')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([a-zA-Z])([0-9])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[\s_-]+/)
    .filter(Boolean);
  return words
    .map((word, i) => {
      const lower = word.toLowerCase();
      if (lower in WORD_CASE) return WORD_CASE[lower];
      if (i > 0 && i < words.length - 1 && SMALL_WORDS.has(lower)) return lower;
      return lower.charAt(0).toUpperCase() + lower.slice(1);
    })
    .join(' ');
}

/** Keys too generic to stand alone as a title: their parent's title comes first. */
export const GENERIC_KEYS: ReadonlySet<string> = new Set([
  'id',
  'name',
  'type',
  'notes',
  'currency',
  'status',
  'value',
  'uri',
  'method',
  'code',
  'message',
]);

