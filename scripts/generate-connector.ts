/**
 * `npm run connector` (node dist/scripts/generate-connector.js): writes the Power Automate custom
 * connector, connector/apiDefinition.swagger.json and connector/apiProperties.json, from the zod
 * contract in shared/referral, so the connector cannot drift from what the API accepts.
 * test/unit/connector/connector.test.ts regenerates both in memory and fails on any difference.
 *
 * ```
 * referralRequestSchema ─ z.toJSONSchema(draft-4, io input) ─┐
 * referralSchema ─────── z.toJSONSchema(draft-4, io output) ─┼─► toSwaggerSchema (Swagger 2.0 subset:
 * trackingViewSchema (below, checked against TrackingView) ──┘    no oneOf/anyOf/const/null, x-ms-*)
 *                                                                 └─► definitions + 3 operations
 * ```
 *
 * Usage: node dist/scripts/generate-connector.js [--host <app>.azurewebsites.net] [--out <dir>]
 * (`--host` writes a copy for your own function app; the committed files keep the placeholder host,
 * which the import lets you change on the General tab.) Nothing is written unless the definition passes
 * `@apidevtools/swagger-parser` ({@link checkSwaggerDefinition}); the Power Platform rules on top are
 * checked by test/unit/connector/swagger2.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type SwaggerParserModule from '@apidevtools/swagger-parser';
import { z } from 'zod';
import { BridgeError } from '../shared/platform/errors';
import { coSellSchema, DealType, referralRequestSchema, referralSchema } from '../shared/referral';
import { changeFieldsSchema } from '../shared/referral/changeSchema';
import { TrackingState } from '../shared/tracking/states';
import { Direction, HistorySource, MicrosoftDecision, TrackingStep } from '../shared/tracking/trackingRecord';
import type { TrackingView } from '../shared/workflow/trackingView';
import { lazyModule } from '../shared/platform/lazy';

/** The Swagger 2.0 validator, loaded when a definition is checked (not by the tests that import this file). */
const swaggerParser = lazyModule<typeof SwaggerParserModule>(require, '@apidevtools/swagger-parser');

/** How the definition is validated: local `$ref`s only, nothing is fetched. */
export const SWAGGER_PARSER_OPTIONS = { resolve: { external: false } } as const;

/** The contract cannot be expressed in the Swagger 2.0 subset custom connectors accept. */
export class ConnectorSchemaError extends BridgeError {
  constructor(message: string) {
    super(message, { retryable: false });
    this.name = 'ConnectorSchemaError';
  }
}

/** Placeholder host of the committed definition (changed on import, or with `--host`). */
export const PLACEHOLDER_HOST = 'your-function-app.azurewebsites.net';

/** File names inside connector/. */
export const CONNECTOR_FILES = {
  apiDefinition: 'apiDefinition.swagger.json',
  apiProperties: 'apiProperties.json',
} as const;

// ---- the tracking view (shared/workflow/trackingView.ts), by hand ------------------------------

const trackingErrorSchema = z.object({
  step: z
    .enum(TrackingStep)
    .meta({ 'x-ms-summary': 'Failed Step' })
    .describe('Which step failed: validation, partner (the partner referral) or microsoft (the Microsoft referral).'),
  status: z.number().int().optional().describe('The HTTP status Partner Center answered, when there was one.'),
  code: z.string().describe("A stable error code (Partner Center's, or the bridge's)."),
  message: z.string().describe('What went wrong (never customer data).'),
  errors: z
    .array(
      z.object({
        pointer: z
          .string()
          .optional()
          .describe('JSON pointer into the request (for example /details/dealValue); absent for a header.'),
        header: z.string().optional().describe('The request header at fault (for example Idempotency-Key).'),
        code: z.string().describe('A stable machine-readable code (required, invalid_enum, too_long, ...).'),
        message: z.string().describe('What is wrong with the field.'),
      }),
    )
    .optional()
    .describe('Field errors of a validation failure.'),
});

/** The tracking view every referral operation answers with. Checked against {@link TrackingView} below. */
export const trackingViewSchema = z.object({
  trackingId: z.string().describe('The id of the referral request in the bridge (also the last segment of Location).'),
  state: z
    .enum(TrackingState)
    .meta({ 'x-ms-summary': 'Tracking State' })
    .describe(
      'Where the request is: Received, CreatingPartner, LinkQueued, CreatingMicrosoft, Completed, Linked, Rejected or AwaitingReauthorization; Inbound for a referral the bridge did not create.',
    ),
  final: z.boolean().describe('True when the state will not change any more (Completed, Linked, Rejected, Inbound).'),
  dealType: z.string().describe('Private, PartnerLed or CoSell.'),
  direction: z
    .enum(Direction)
    .optional()
    .describe('outbound: the bridge created the referral; inbound: someone else did (a lead, a deal made in the UI).'),
  partnerReferral: z
    .object({
      id: z.string().describe('The id of your referral in Partner Center.'),
      engagementId: z
        .string()
        .optional()
        .describe('The engagement shared by your referral and the Microsoft referral.'),
      status: z.string().optional().describe('Partner Center status: New, Active or Closed.'),
      substatus: z.string().optional().describe('Partner Center substatus (Pending, Accepted, Won, Lost, ...).'),
      statusReason: z.string().optional().describe("Partner Center's reason for the status, when it gives one."),
      updatedDateTime: z.string().optional().describe('When Partner Center last changed the referral (UTC, ISO 8601).'),
      name: z.string().optional().describe('The deal name.'),
      dealValue: z.number().optional().describe('The deal value.'),
      currency: z.string().optional().describe('The deal currency (ISO 4217).'),
      closingDateTime: z.string().optional().describe('The expected closing date (UTC, ISO 8601).'),
    })
    .optional()
    .describe('Your referral, once Partner Center created it, with what Partner Center last said about it.'),
  microsoftReferral: z
    .object({ id: z.string().describe('The id of the Microsoft referral in the same engagement.') })
    .optional()
    .describe('The linked Microsoft referral of a CoSell deal.'),
  microsoft: z
    .object({
      decision: z
        .enum(MicrosoftDecision)
        .meta({ 'x-ms-summary': 'Microsoft Decision' })
        .describe("Microsoft's answer: Pending, Accepted, Declined or Expired."),
      msxId: z
        .string()
        .optional()
        .describe('The Microsoft CRM identifier (trackingInfo.microsoftMsxId) once accepted.'),
      reason: z.string().optional().describe("Microsoft's reason (none for expired deals or deals under USD 25,000)."),
      decidedAt: z.string().optional().describe('When the decision was seen made (UTC, ISO 8601).'),
      respondBy: z.string().optional().describe('14 days after the Microsoft referral was created (UTC, ISO 8601).'),
    })
    .optional()
    .describe("Microsoft's answer to a CoSell request."),
  history: z
    .array(
      z.object({
        at: z.string().describe('When (UTC, ISO 8601).'),
        source: z.enum(HistorySource).describe('Where the change came from: event, reconcile or us.'),
        kind: z.string().describe('What changed: status, deal, microsoft, inbound, ...'),
        from: z.string().optional().describe('The value before.'),
        to: z.string().optional().describe('The value after.'),
        note: z.string().optional().describe('A short note (field names, codes).'),
      }),
    )
    .optional()
    .describe('What changed, newest first (bounded).'),
  lastError: trackingErrorSchema.optional().describe('The last failure recorded (a Rejected request says why here).'),
  parkedFrom: z
    .enum(TrackingState)
    .optional()
    .describe('The state an AwaitingReauthorization request resumes to once a new refresh token is stored.'),
  callback: z
    .object({
      state: z.enum(['pending', 'delivered', 'failed']).describe('Delivery of the callback.'),
      failure: z.string().optional().describe('Why the last delivery failed (a stable code).'),
    })
    .optional()
    .describe("The callback's delivery, when the request has a callbackUrl."),
  createdAt: z.string().describe('When the bridge received the request (UTC, ISO 8601).'),
  updatedAt: z.string().describe('When the request last changed (UTC, ISO 8601).'),
  links: z
    .object({
      self: z.string().meta({ 'x-ms-summary': 'Status URL' }).describe('The absolute status URL (GET it to poll).'),
    })
    .describe('Links.'),
});

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Fails to compile when shared/workflow/trackingView.ts and the schema above part ways. */
const trackingViewSchemaMatchesTrackingView: Equals<z.infer<typeof trackingViewSchema>, TrackingView> = true;
void trackingViewSchemaMatchesTrackingView;

const problemSchema = z.object({
  type: z.string().meta({ 'x-ms-summary': 'Problem Type' }).describe('A URI naming the kind of problem.'),
  title: z.string().meta({ 'x-ms-summary': 'Problem Title' }).describe('A short summary of the problem.'),
  status: z.number().int().meta({ 'x-ms-summary': 'HTTP Status' }).describe('The HTTP status.'),
  detail: z.string().optional().meta({ 'x-ms-summary': 'Problem Detail' }).describe('What happened and what to do.'),
  instance: z.string().optional().meta({ 'x-ms-summary': 'Problem Instance' }),
  errors: trackingErrorSchema.shape.errors.describe(
    'Field errors: JSON pointers into your request, with a code and a message.',
  ),
  trackingId: z.string().optional().describe('The tracking id, when the request was recorded.'),
  partnerCenterError: z
    .object({ status: z.number().int().optional(), code: z.string().optional() })
    .optional()
    .describe("Partner Center's status and error code when it refused the referral."),
  tracking: trackingViewSchema.optional().describe('The tracking view of a request Partner Center refused.'),
});

// ---- titles, descriptions and visibility --------------------------------------------------------

/**
 * Titles (x-ms-summary) of referral fields whose key alone is ambiguous or badly cased. `[]` marks
 * array items. (The tracking view and problem schemas carry theirs in `.meta()`.)
 */
const REFERRAL_SUMMARIES: Readonly<Record<string, string>> = {
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
const CHANGE_SUMMARIES: Readonly<Record<string, string>> = {
  name: 'Deal Name',
  type: 'Referral Type',
  status: 'Referral Status',
  substatus: 'Referral Substatus',
  team: 'Team Members to Add',
  'details.notes': 'Deal Notes',
  'details.currency': 'Deal Currency',
};

/**
 * The body of `POST /api/referrals/{trackingId}/co-sell`, from its documented contract (built by the co-sell
 * upgrade work): the create's `coSell` block and an optional `shareWithMicrosoft: true`.
 */
const coSellUpgradeSchema = z.strictObject({
  coSell: coSellSchema,
  shareWithMicrosoft: z
    .literal(true)
    .optional()
    .describe('true shares a Private deal with Microsoft sellers first (this cannot be undone).'),
});

/** Descriptions for request fields the contract does not describe itself. */
const DESCRIPTION_BY_PATH: Readonly<Record<string, string>> = {
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
const IMPORTANT_PATHS: ReadonlySet<string> = new Set([
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
const GENERIC_KEYS: ReadonlySet<string> = new Set([
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

// ---- JSON Schema → Swagger 2.0 -----------------------------------------------------------------

type Schema = Record<string, unknown>;

/** Keywords of a Swagger 2.0 Schema Object (plus x-* extensions). */
export const SWAGGER_SCHEMA_KEYWORDS: ReadonlySet<string> = new Set([
  '$ref',
  'format',
  'title',
  'description',
  'default',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxProperties',
  'minProperties',
  'required',
  'enum',
  'type',
  'items',
  'allOf',
  'properties',
  'additionalProperties',
  'discriminator',
  'readOnly',
  'xml',
  'externalDocs',
  'example',
]);

/** How a schema is used: request bodies get visibility and keep `additionalProperties: false`. */
export const SchemaRole = { Request: 'request', Response: 'response' } as const;
export type SchemaRole = (typeof SchemaRole)[keyof typeof SchemaRole];

interface ConvertContext {
  role: SchemaRole;
  /** x-ms-summary by field path, over the titles made from the key. */
  summaries: Readonly<Record<string, string>>;
  /** Definitions hoisted from `$defs`. */
  definitions: Record<string, Schema>;
}

const SAFE_INTEGER_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Converts a draft-4 JSON Schema (from `z.toJSONSchema`) into the Swagger 2.0 subset custom connectors
 * accept: drops `$schema`/`$id`, turns `const` into a one-value `enum`, flattens `anyOf`/`oneOf`/`allOf`
 * (the null branch of an optional value disappears; enums merge; objects merge), drops keywords
 * Swagger 2.0 does not have and patterns that only restate a `format`, moves `$defs` to `definitions`,
 * and adds `x-ms-summary` (title case), `description` and, for request bodies, `x-ms-visibility`.
 * Throws {@link ConnectorSchemaError} for a union it cannot flatten, naming the field.
 */
export function toSwaggerSchema(
  input: Schema,
  options: { role: SchemaRole; summaries?: Readonly<Record<string, string>>; definitions?: Record<string, Schema> },
): Schema {
  const context: ConvertContext = {
    role: options.role,
    summaries: options.summaries ?? {},
    definitions: options.definitions ?? {},
  };
  const hoisted = (input.$defs ?? input.definitions) as Record<string, Schema> | undefined;
  for (const [name, schema] of Object.entries(hoisted ?? {})) {
    context.definitions[name] = convert(schema, [], context, { required: false, annotate: false });
  }
  return convert(input, [], context, { required: true, annotate: false });
}

function convert(
  input: Schema,
  pathParts: string[],
  context: ConvertContext,
  at: { required: boolean; annotate: boolean },
): Schema {
  const schema = flatten(input, pathParts);
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') {
      out.$ref = value.replace(/^#\/\$defs\//, '#/definitions/');
    } else if (key === 'properties' && value && typeof value === 'object') {
      const required = new Set((schema.required as string[] | undefined) ?? []);
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([name, child]) => [
          name,
          convert(child, [...pathParts, name], context, { required: required.has(name), annotate: true }),
        ]),
      );
    } else if (key === 'items' && value && typeof value === 'object' && !Array.isArray(value)) {
      out.items = convert(value as Schema, [...pathParts.slice(0, -1), `${pathParts.at(-1) ?? ''}[]`], context, {
        required: false,
        annotate: false,
      });
    } else if (key === 'additionalProperties') {
      if (value === false) {
        if (context.role === SchemaRole.Request) out.additionalProperties = false;
      } else if (value && typeof value === 'object') {
        out.additionalProperties = convert(value as Schema, [...pathParts, '*'], context, {
          required: false,
          annotate: false,
        });
      }
    } else if ((key === 'minimum' || key === 'maximum') && SAFE_INTEGER_BOUNDS.has(value as number)) {
      continue;
    } else if (key === 'pattern' && typeof schema.format === 'string') {
      continue;
    } else if (key === 'examples' && Array.isArray(value) && value.length > 0) {
      out.example = value[0];
    } else if (SWAGGER_SCHEMA_KEYWORDS.has(key) || key.startsWith('x-')) {
      out[key] = value;
    }
  }
  if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  return at.annotate ? annotate(out, pathParts, context, at.required) : out;
}

/** Removes the constructs Swagger 2.0 (and the flow designer) cannot take. */
function flatten(input: Schema, pathParts: string[]): Schema {
  let schema: Schema = { ...input };
  delete schema.$schema;
  delete schema.$id;
  delete schema.id;
  delete schema.$defs;
  delete schema.definitions;
  delete schema.nullable;
  if ('const' in schema) {
    schema.enum = [schema.const];
    if (schema.type === undefined && schema.const !== null) schema.type = jsonType(schema.const);
    delete schema.const;
  }
  if (Array.isArray(schema.type)) {
    const types = (schema.type as string[]).filter((t) => t !== 'null');
    if (types.length !== 1)
      throw new ConnectorSchemaError(
        `${where(pathParts)} has several types (${types.join(', ')}): Swagger 2.0 takes one`,
      );
    schema.type = types[0];
  }
  if (Array.isArray(schema.enum)) schema.enum = (schema.enum as unknown[]).filter((v) => v !== null);
  for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = schema[keyword] as Schema[] | undefined;
    if (!branches) continue;
    delete schema[keyword];
    const kept = branches.map((b) => flatten(b, pathParts)).filter((b) => !isNullOrNever(b));
    schema = { ...mergeBranches(kept, keyword, pathParts), ...schema };
  }
  return schema;
}

/** The `null` branch of an optional value, or a branch that matches nothing (`{ not: {} }`). */
function isNullOrNever(schema: Schema): boolean {
  const keys = Object.keys(schema);
  if (schema.type === 'null') return true;
  if (Array.isArray(schema.enum) && schema.enum.length === 0) return true;
  return keys.length === 1 && schema.not !== undefined && Object.keys(schema.not as Schema).length === 0;
}

function mergeBranches(branches: Schema[], keyword: string, pathParts: string[]): Schema {
  if (branches.length === 0) return {};
  if (branches.length === 1) return branches[0];
  if (branches.every((b) => Array.isArray(b.enum) && b.type === branches[0].type)) {
    return { type: branches[0].type, enum: [...new Set(branches.flatMap((b) => b.enum as unknown[]))] };
  }
  if (branches.every((b) => b.type === 'object' && b.$ref === undefined)) {
    const properties: Record<string, Schema> = {};
    for (const branch of branches) Object.assign(properties, branch.properties ?? {});
    const requiredSets = branches.map((b) => new Set((b.required as string[] | undefined) ?? []));
    const required =
      keyword === 'allOf'
        ? [...new Set(requiredSets.flatMap((s) => [...s]))]
        : [...requiredSets[0]].filter((name) => requiredSets.every((s) => s.has(name)));
    return { type: 'object', properties, ...(required.length ? { required } : {}) };
  }
  throw new ConnectorSchemaError(
    `${where(pathParts)} is a ${keyword} of different kinds: flatten it in the contract or here`,
  );
}

/** Adds the designer's title, description and (request bodies) visibility; the title comes first. */
function annotate(schema: Schema, pathParts: string[], context: ConvertContext, required: boolean): Schema {
  const role = context.role;
  const pathKey = pathParts.join('.');
  const key = pathParts.at(-1)!;
  const parent = pathParts.at(-2)?.replace(/\[\]$/, '');
  const summary =
    (schema['x-ms-summary'] as string | undefined) ??
    context.summaries[pathKey] ??
    (GENERIC_KEYS.has(key) && parent ? `${titleOf(singular(parent))} ${titleOf(key)}` : titleOf(key));
  let description =
    (role === SchemaRole.Request ? DESCRIPTION_BY_PATH[pathKey] : undefined) ??
    (schema.description as string | undefined);
  if (schema.type === undefined && schema.$ref === undefined)
    description = `${description ? `${description} ` : ''}Any JSON value, passed through unchanged.`;
  return {
    'x-ms-summary': summary,
    ...schema,
    ...(description ? { description } : {}),
    ...(role === SchemaRole.Request
      ? { 'x-ms-visibility': required || IMPORTANT_PATHS.has(pathKey) ? 'important' : 'advanced' }
      : {}),
  };
}

function singular(word: string): string {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

function jsonType(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : 'string';
}

function where(pathParts: string[]): string {
  return pathParts.length ? `Field ${pathParts.join('.')}` : 'The schema';
}

// ---- the definition ------------------------------------------------------------------------------

/** Options of {@link buildConnector}. */
export interface BuildConnectorOptions {
  /** @default {@link PLACEHOLDER_HOST} */
  host?: string;
}

/** The two connector files as objects. */
export interface ConnectorDefinition {
  apiDefinition: Record<string, unknown>;
  apiProperties: Record<string, unknown>;
}

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Schema {
  return z.toJSONSchema(schema, { target: 'draft-4', io, unrepresentable: 'any' });
}

const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });

const ASYNC_DESCRIPTION =
  'When Partner Center is slow, throttling or failing (or the bridge links co-sell deals from its queue, LINK_MODE=queue), it answers 202 Accepted ' +
  "with a Location header (the status URL) and Retry-After and finishes from its queues. With the action's asynchronous pattern on (the default), " +
  'the flow engine polls Location until it answers 200 and hands you that final tracking view: check its state (Completed, Linked or Rejected).';

/** Builds the connector definition (apiDefinition.swagger.json) and properties (apiProperties.json). */
export function buildConnector(options: BuildConnectorOptions = {}): ConnectorDefinition {
  const definitions: Record<string, Schema> = {};
  definitions.ReferralRequest = {
    ...toSwaggerSchema(jsonSchemaOf(referralRequestSchema, 'input'), {
      role: SchemaRole.Request,
      summaries: REFERRAL_SUMMARIES,
      definitions,
    }),
    description:
      "A referral request: the Partner Center Referral resource (camelCase) plus the bridge's own dealType, coSell and callbackUrl. Keys and enum values are also accepted in other letter cases.",
  };
  definitions.Referral = {
    ...toSwaggerSchema(jsonSchemaOf(referralSchema, 'output'), {
      role: SchemaRole.Response,
      summaries: REFERRAL_SUMMARIES,
      definitions,
    }),
    description: 'The referral exactly as the bridge sends it to Partner Center.',
  };
  definitions.TrackingView = {
    ...toSwaggerSchema(jsonSchemaOf(trackingViewSchema, 'output'), { role: SchemaRole.Response, definitions }),
    description: 'The state of a referral request in the bridge: ids and states, never contact data.',
  };
  definitions.ValidationResult = toSwaggerSchema(
    {
      type: 'object',
      description: 'The referral as it would be sent to Partner Center.',
      properties: {
        valid: { type: 'boolean', description: 'Always true in a 200 answer.' },
        dealType: { type: 'string', enum: Object.values(DealType), description: 'The deal type, given or derived.' },
        referral: ref('Referral'),
        coSell: { ...jsonSchemaOf(coSellSchema, 'output'), description: 'The co-sell block of a CoSell deal.' },
      },
      required: ['valid', 'dealType', 'referral'],
    },
    { role: SchemaRole.Response, summaries: REFERRAL_SUMMARIES, definitions },
  );
  definitions.ReferralChanges = {
    ...toSwaggerSchema(jsonSchemaOf(changeFieldsSchema, 'input'), {
      role: SchemaRole.Request,
      summaries: CHANGE_SUMMARIES,
      definitions,
    }),
    description:
      'A JSON merge patch of the fields to change; leave out what stays. team lists members to add (identified by email). Customer, consent and partner fields are read-only after creation.',
  };
  definitions.CoSellUpgrade = {
    ...toSwaggerSchema(jsonSchemaOf(coSellUpgradeSchema, 'input'), {
      role: SchemaRole.Request,
      summaries: REFERRAL_SUMMARIES,
      definitions,
    }),
    description:
      'What the Microsoft referral needs (the coSell block of a CoSell create), and the sharing of the deal.',
  };
  definitions.Problem = {
    ...toSwaggerSchema(jsonSchemaOf(problemSchema, 'output'), { role: SchemaRole.Response, definitions }),
    description: 'An RFC 9457 problem (application/problem+json).',
  };

  const trackingResponse = (description: string, headers?: Record<string, Schema>): Schema => ({
    description,
    schema: ref('TrackingView'),
    ...(headers ? { headers } : {}),
  });
  const locationHeaders = {
    Location: { type: 'string', description: 'The absolute status URL of the request.' },
    'Retry-After': { type: 'integer', description: 'Seconds to wait before polling Location.' },
  };
  const problemResponse = (description: string): Schema => ({ description, schema: ref('Problem') });
  const trackingIdParameter = {
    name: 'trackingId',
    in: 'path',
    required: true,
    type: 'string',
    pattern: '^r[0-9a-f]{31}$',
    description: 'The trackingId of a Submit a referral answer.',
    'x-ms-summary': 'Tracking ID',
    'x-ms-url-encoding': 'single',
  };
  const keyParameter = (description: string) => ({
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    type: 'string',
    maxLength: 255,
    description,
    'x-ms-summary': 'Idempotency Key',
    'x-ms-visibility': 'important',
  });
  const bodyParameter = {
    name: 'body',
    in: 'body',
    required: true,
    description: 'The referral request.',
    'x-ms-summary': 'Referral',
    schema: ref('ReferralRequest'),
  };

  const apiDefinition = {
    swagger: '2.0',
    info: {
      title: 'Co-sell Referral Bridge',
      description:
        'Create Microsoft Partner Center co-sell referrals from your flows through your own co-sell referral bridge: validated before they leave, never lost, never duplicated, and linked to a Microsoft referral for CoSell deals.',
      version: '1.0',
    },
    host: options.host ?? PLACEHOLDER_HOST,
    basePath: '/api',
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json', 'application/problem+json'],
    paths: {
      '/referrals': {
        post: {
          operationId: 'SubmitReferral',
          summary: 'Submit a referral',
          description:
            'Validates the referral and creates it in Partner Center (and, for a CoSell deal, the linked Microsoft referral). ' +
            'Answers 201 with the tracking view once the work is done: Private and PartnerLed deals Completed, CoSell deals Linked (partner and Microsoft referral). ' +
            `${ASYNC_DESCRIPTION} Sending the same request again (same Idempotency-Key, or same externalReferenceId) answers 200 with the same tracking view and creates nothing.`,
          'x-ms-visibility': 'important',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              type: 'string',
              maxLength: 255,
              description:
                'A key unique to this referral, such as the CRM opportunity id. The same key with the same body returns the existing result; with another body, 422.',
              'x-ms-summary': 'Idempotency Key',
              'x-ms-visibility': 'important',
            },
            bodyParameter,
          ],
          responses: {
            '200': trackingResponse(
              'The same request was received before (header Idempotent-Replayed: true): its tracking view.',
              {
                'Idempotent-Replayed': { type: 'string', description: 'true for a replayed request.' },
              },
            ),
            '201': trackingResponse(
              'Done: the partner referral was created (Private, PartnerLed: Completed), and for CoSell the Microsoft referral linked (Linked).',
              {
                Location: locationHeaders.Location,
              },
            ),
            '202': trackingResponse(
              'Accepted; work continues from a queue (Partner Center slow or failing, or LINK_MODE=queue). Poll Location.',
              locationHeaders,
            ),
            '400': problemResponse('The referral is not valid: errors[] point at each field.'),
            '422': problemResponse(
              'Partner Center refused the referral, or the idempotency key was used for another request.',
            ),
            '503': problemResponse(
              'A dependency is down and nothing was recorded: retry with the same Idempotency-Key.',
            ),
          },
        },
      },
      '/referrals/validate': {
        post: {
          operationId: 'ValidateReferral',
          summary: 'Validate a referral',
          description:
            'Checks a referral without sending it anywhere and answers with the referral exactly as it would be sent to Partner Center (keys normalised, deal-type flags filled in), or a problem listing every invalid field.',
          'x-ms-visibility': 'advanced',
          parameters: [bodyParameter],
          responses: {
            '200': { description: 'The referral is valid.', schema: ref('ValidationResult') },
            '400': problemResponse('The referral is not valid: errors[] point at each field.'),
          },
        },
      },
      '/referrals/{trackingId}': {
        get: {
          operationId: 'GetReferralStatus',
          summary: 'Get the status of a referral',
          description:
            'The tracking view of a referral request: its state and the ids of the referrals created. Answers 202 with Location and Retry-After while work continues (the flow engine polls until it is final) and 200 once final.',
          'x-ms-visibility': 'advanced',
          parameters: [
            {
              name: 'trackingId',
              in: 'path',
              required: true,
              type: 'string',
              pattern: '^r[0-9a-f]{31}$',
              description: 'The trackingId of a Submit a referral answer.',
              'x-ms-summary': 'Tracking ID',
              'x-ms-url-encoding': 'single',
            },
          ],
          responses: {
            '200': trackingResponse('The request is final (Completed, Linked or Rejected).'),
            '202': trackingResponse('Work continues: poll Location.', locationHeaders),
            '404': problemResponse('No referral request has this tracking id.'),
          },
        },
        patch: {
          operationId: 'UpdateReferral',
          summary: 'Update a referral',
          description:
            'Changes fields of a referral in Partner Center (name, status and substatus, status reason, qualification, deal value, currency, closing date, notes; team members to add). ' +
            'Answers 200 with the tracking view (its referral and history show the change). A field someone else changed in Partner Center since the bridge last saw it is never overwritten: 409 with both values. ' +
            'Sending the same change again with the same Idempotency-Key changes nothing twice.',
          'x-ms-visibility': 'important',
          consumes: ['application/json'],
          parameters: [
            trackingIdParameter,
            keyParameter(
              'A key unique to this change, such as the CRM change id. The same key with the same body returns the first answer; with another body, 422.',
            ),
            {
              name: 'body',
              in: 'body',
              required: true,
              description: 'The fields to change.',
              'x-ms-summary': 'Changes',
              schema: ref('ReferralChanges'),
            },
          ],
          responses: {
            '200': trackingResponse('Applied: the tracking view shows the referral as Partner Center now holds it.'),
            '202': trackingResponse(
              'Accepted; the change continues from a queue (Partner Center slow or failing). Poll Location.',
              locationHeaders,
            ),
            '400': problemResponse(
              'The change is not valid (a read-only field, a forbidden status move, ...): errors[] point at each field.',
            ),
            '404': problemResponse('No referral request has this tracking id.'),
            '409': problemResponse(
              'The referral is in a terminal state (type ending #terminal-state), someone else changed a field of this change (#conflict, with both values), or it does not exist in Partner Center yet (#not-created).',
            ),
            '422': problemResponse(
              'Partner Center refused the change, or the idempotency key was used for another change.',
            ),
          },
        },
      },
      '/referrals/{trackingId}/co-sell': {
        post: {
          operationId: 'RequestCoSell',
          summary: 'Ask Microsoft to co-sell',
          description:
            'Upgrades a Private or PartnerLed deal to co-sell: shares it with Microsoft (when shareWithMicrosoft is true) and creates the linked Microsoft referral with your notes and the help you ask for. ' +
            ASYNC_DESCRIPTION,
          'x-ms-visibility': 'important',
          parameters: [
            trackingIdParameter,
            keyParameter('A key unique to this request. The same key with the same body returns the first answer.'),
            {
              name: 'body',
              in: 'body',
              required: true,
              description: 'What Microsoft should know and help with.',
              'x-ms-summary': 'Co-Sell',
              schema: ref('CoSellUpgrade'),
            },
          ],
          responses: {
            '200': trackingResponse('The deal was upgraded before (a replay): its tracking view.'),
            '201': trackingResponse('Done: the Microsoft referral is linked (Linked).'),
            '202': trackingResponse('Accepted; the upgrade continues from a queue. Poll Location.', locationHeaders),
            '400': problemResponse('The co-sell block is not valid: errors[] point at each field.'),
            '409': problemResponse(
              'The deal cannot be upgraded (a terminal state, or it is not shared with Microsoft).',
            ),
          },
        },
      },
    },
    definitions,
    parameters: {},
    responses: {},
    securityDefinitions: {
      api_key: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
    },
    security: [{ api_key: [] }],
    tags: [],
  };

  const apiProperties = {
    properties: {
      connectionParameters: {
        api_key: {
          type: 'securestring',
          uiDefinition: {
            displayName: 'Function key',
            description: 'A function key of your co-sell referral bridge (sent as the x-functions-key header).',
            tooltip: 'Azure portal: your function app > App keys (or Functions > Function Keys).',
            constraints: { tabIndex: 2, clearText: false, required: 'true' },
          },
        },
      },
      iconBrandColor: '#0078d4',
      capabilities: [],
      publisher: 'Co-sell referral bridge',
      stackOwner: 'Co-sell referral bridge',
      policyTemplateInstances: [],
    },
  };
  return { apiDefinition, apiProperties };
}

/** The two files' exact text (2-space JSON, final newline), as committed in connector/. */
export function connectorFileTexts(options: BuildConnectorOptions = {}): Record<keyof typeof CONNECTOR_FILES, string> {
  const { apiDefinition, apiProperties } = buildConnector(options);
  return {
    apiDefinition: `${JSON.stringify(apiDefinition, null, 2)}\n`,
    apiProperties: `${JSON.stringify(apiProperties, null, 2)}\n`,
  };
}

/** The connector/ folder of this repository (from src/ or dist/). */
export function connectorDirectory(): string {
  const up = path.basename(path.dirname(__dirname)) === 'dist' ? ['..', '..'] : ['..'];
  return path.resolve(__dirname, ...up, 'connector');
}

/**
 * What `@apidevtools/swagger-parser` says of `definition` (a copy: the parser dereferences in place):
 * the Swagger 2.0 JSON schema, every `$ref` resolving (local only, never fetched), and the spec rules
 * the schema cannot express (unique operationIds, path template variables, one body parameter, ...).
 * Empty when valid; the parser stops at its first spec error, so this holds one message or none.
 */
export async function checkSwaggerDefinition(definition: object): Promise<string[]> {
  const parser = swaggerParser();
  try {
    await parser.validate(structuredClone(definition) as SwaggerParserModule['api'], SWAGGER_PARSER_OPTIONS);
    return [];
  } catch (error) {
    return [`swagger-parser: ${error instanceof Error ? error.message : String(error)}`];
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const option = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const host = option('--host');
  const out = option('--out') ?? connectorDirectory();
  const texts = connectorFileTexts(host ? { host } : {});
  const problems = await checkSwaggerDefinition(JSON.parse(texts.apiDefinition) as object);
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    console.error('The connector definition is not valid Swagger 2.0: nothing was written.');
    return 1;
  }
  mkdirSync(out, { recursive: true });
  for (const [key, file] of Object.entries(CONNECTOR_FILES) as Array<[keyof typeof CONNECTOR_FILES, string]>) {
    writeFileSync(path.join(out, file), texts[key]);
    console.log(`Wrote ${path.join(out, file)} (${Buffer.byteLength(texts[key])} bytes)`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
