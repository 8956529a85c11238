import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { buildConnector, PLACEHOLDER_HOST } from '../../../scripts/connector/definition';
import { CONNECTOR_FILES, connectorDirectory, connectorFileTexts } from '../../../scripts/connector/files';
import { ConnectorSchemaError, SchemaRole, toSwaggerSchema } from '../../../scripts/connector/swaggerSchema';
import { titleOf } from '../../../scripts/connector/wording';
import { referralRequestSchema } from '../../../shared/referral';
import { TrackingState } from '../../../shared/tracking/states';
import { MAX_DEFINITION_BYTES, validateConnectorDefinition } from './swagger2';

const CONNECTOR_DIR = path.resolve(__dirname, '../../../connector');
const committed = (file: string): string => readFileSync(path.join(CONNECTOR_DIR, file), 'utf8');

/** The first line where two texts differ, to point at the drift. */
function firstDifference(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  const line = at === -1 ? a.length : at;
  return `line ${line + 1}: generated ${JSON.stringify(a[line] ?? '(end)')}, committed ${JSON.stringify(b[line] ?? '(end)')}`;
}

describe('the committed connector', () => {
  const generated = connectorFileTexts();

  it.each(Object.entries(CONNECTOR_FILES))('%s is exactly what npm run connector generates from the contract', (key, file) => {
    const expected = generated[key as keyof typeof CONNECTOR_FILES];
    const actual = committed(file);
    if (actual !== expected) {
      throw new Error(
        `connector/${file} differs from the contract (${firstDifference(expected, actual)}). ` +
          'Run `npm run connector` and commit connector/.',
      );
    }
  });

  it('is written where the generator writes it (connector/ at the repository root)', () => {
    expect(connectorDirectory()).toBe(CONNECTOR_DIR);
  });

  it('is a valid Swagger 2.0 definition of the kind custom connectors import', () => {
    const doc = JSON.parse(committed(CONNECTOR_FILES.apiDefinition)) as Record<string, any>;
    expect(validateConnectorDefinition(doc)).toEqual([]);
    expect(Buffer.byteLength(committed(CONNECTOR_FILES.apiDefinition))).toBeLessThan(MAX_DEFINITION_BYTES);
  });
});

describe('buildConnector', () => {
  const { apiDefinition, apiProperties } = buildConnector();
  const doc = apiDefinition as Record<string, any>;

  it('calls the function app over https under /api with the x-functions-key header', () => {
    expect(doc).toMatchObject({ host: PLACEHOLDER_HOST, basePath: '/api', schemes: ['https'] });
    expect(doc.securityDefinitions).toEqual({ api_key: { type: 'apiKey', in: 'header', name: 'x-functions-key' } });
    expect(doc.security).toEqual([{ api_key: [] }]);
    expect((apiProperties as Record<string, any>).properties.connectionParameters.api_key.type).toBe('securestring');
  });

  it('writes a copy for another host', () => {
    expect((buildConnector({ host: 'contoso-bridge.azurewebsites.net' }).apiDefinition as Record<string, any>).host).toBe('contoso-bridge.azurewebsites.net');
  });

  it('offers submit, validate, status, update and co-sell, each with a summary and a description', () => {
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([route, item]) =>
      Object.entries(item).map(([method, op]) => `${op.operationId} ${method.toUpperCase()} ${route}`),
    );
    expect(operations.sort()).toEqual([
      'GetReferralStatus GET /referrals/{trackingId}',
      'RequestCoSell POST /referrals/{trackingId}/co-sell',
      'SubmitReferral POST /referrals',
      'UpdateReferral PATCH /referrals/{trackingId}',
      'ValidateReferral POST /referrals/validate',
    ]);
  });

  it('updates a referral with a merge patch of the changeable fields only, and asks Microsoft to co-sell', () => {
    const update = doc.paths['/referrals/{trackingId}'].patch;
    expect(Object.keys(update.responses).sort()).toEqual(['200', '202', '400', '404', '409', '422']);
    expect(Object.keys(doc.definitions.ReferralChanges.properties).sort()).toEqual(
      ['consent', 'details', 'name', 'qualification', 'salesStage', 'status', 'statusReason', 'substatus', 'team', 'type'],
    );
    const coSell = doc.paths['/referrals/{trackingId}/co-sell'].post;
    expect(Object.keys(coSell.responses).sort()).toEqual(['200', '201', '202', '400', '409']);
    expect(Object.keys(doc.definitions.CoSellUpgrade.properties).sort()).toEqual(['coSell', 'shareWithMicrosoft']);
  });

  it('documents the 202 + Location pattern the flow engine polls', () => {
    const submit = doc.paths['/referrals'].post;
    expect(Object.keys(submit.responses).sort()).toEqual(['200', '201', '202', '400', '422', '503']);
    expect(Object.keys(submit.responses['202'].headers)).toEqual(['Location', 'Retry-After']);
    expect(submit.description).toMatch(/202 Accepted with a Location header/);
    expect(submit.description).toMatch(/polls Location until it answers 200/);
    const status = doc.paths['/referrals/{trackingId}'].get;
    expect(Object.keys(status.responses['202'].headers)).toEqual(['Location', 'Retry-After']);
    expect(submit.parameters[0]).toMatchObject({ name: 'Idempotency-Key', in: 'header', required: false, 'x-ms-summary': 'Idempotency Key' });
  });

  it('offers every field of the referral request contract, and no other', () => {
    const offered = Object.keys(doc.definitions.ReferralRequest.properties).sort();
    expect(offered).toEqual(Object.keys(referralRequestSchema.shape).sort());
  });

  it('shows the fields a flow usually fills by default and keeps the rest under advanced', () => {
    const properties = doc.definitions.ReferralRequest.properties;
    expect(properties.dealType['x-ms-visibility']).toBe('important');
    expect(properties.customerProfile['x-ms-visibility']).toBe('important');
    expect(properties.coSell.properties.notes['x-ms-visibility']).toBe('important');
    expect(properties.eTag['x-ms-visibility']).toBe('advanced');
    expect(properties.customerProfile.properties.address.properties.country).toMatchObject({ 'x-ms-summary': 'Country', 'x-ms-visibility': 'important' });
  });

  it('answers with the tracking view, whose states are the state machine\'s', () => {
    const view = doc.definitions.TrackingView;
    expect(view.properties.state.enum).toEqual(Object.values(TrackingState));
    expect(view.additionalProperties).toBeUndefined();
    expect(view.required).toEqual(expect.arrayContaining(['trackingId', 'state', 'final', 'links']));
  });
});

describe('toSwaggerSchema', () => {
  type Json = Record<string, any>;
  const request = (schema: Json): Json => toSwaggerSchema(schema, { role: SchemaRole.Request });
  const response = (schema: Json): Json => toSwaggerSchema(schema, { role: SchemaRole.Response });
  const object = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', properties, ...extra });

  it('keeps the non-null branch of an optional value', () => {
    const out = request(object({ notes: { anyOf: [{ type: 'string', maxLength: 5 }, { type: 'null' }] } }));
    expect(out.properties).toEqual({ notes: { 'x-ms-summary': 'Notes', type: 'string', maxLength: 5, 'x-ms-visibility': 'advanced' } });
  });

  it('turns const into a one-value enum and a type list into its non-null type', () => {
    const out = response(object({ kind: { const: 'Referral' }, size: { type: ['integer', 'null'] } }));
    expect(out.properties).toEqual({
      kind: { 'x-ms-summary': 'Kind', enum: ['Referral'], type: 'string' },
      size: { 'x-ms-summary': 'Size', type: 'integer' },
    });
  });

  it('merges a union of enums and a union of objects', () => {
    const out = response(
      object({
        code: { oneOf: [{ type: 'string', enum: ['A'] }, { type: 'string', enum: ['B', 'A'] }] },
        party: { anyOf: [object({ id: { type: 'string' } }, { required: ['id'] }), object({ id: { type: 'string' }, name: { type: 'string' } }, { required: ['id', 'name'] })] },
      }),
    );
    expect(out.properties.code).toEqual({ 'x-ms-summary': 'Code', type: 'string', enum: ['A', 'B'] });
    expect(Object.keys(out.properties.party.properties)).toEqual(['id', 'name']);
    expect(out.properties.party.required).toEqual(['id']);
  });

  it('refuses a union it cannot flatten, naming the field', () => {
    expect(() => request(object({ value: { anyOf: [{ type: 'string' }, { type: 'number' }] } }))).toThrow(ConnectorSchemaError);
    expect(() => request(object({ value: { anyOf: [{ type: 'string' }, { type: 'number' }] } }))).toThrow(/Field value/);
  });

  it('moves $defs to definitions and points $ref there', () => {
    const definitions: Record<string, Record<string, unknown>> = {};
    const out: Json = toSwaggerSchema(
      { $schema: 'http://json-schema.org/draft-04/schema#', ...object({ contact: { $ref: '#/$defs/Member' } }), $defs: { Member: object({ email: { type: 'string' } }) } },
      { role: SchemaRole.Response, definitions },
    );
    expect(out.$schema).toBeUndefined();
    expect(out.properties.contact.$ref).toBe('#/definitions/Member');
    expect(Object.keys(definitions)).toEqual(['Member']);
  });

  it('keeps additionalProperties: false on requests and drops it on responses', () => {
    const closed = object({ a: { type: 'string' } }, { additionalProperties: false });
    expect(request(closed).additionalProperties).toBe(false);
    expect(response(closed).additionalProperties).toBeUndefined();
  });

  it('drops what Swagger 2.0 does not have: patterns restating a format, safe-integer bounds, examples', () => {
    const out = response(
      object({
        at: { type: 'string', format: 'date-time', pattern: '^\\d{4}-.*$' },
        n: { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
        code: { type: 'string', pattern: '^[A-Z]{2}$', examples: ['US'], propertyNames: {} },
      }),
    );
    expect(out.properties.at).toEqual({ 'x-ms-summary': 'At', type: 'string', format: 'date-time' });
    expect(out.properties.n).toEqual({ 'x-ms-summary': 'N', type: 'integer' });
    expect(out.properties.code).toEqual({ 'x-ms-summary': 'Code', type: 'string', pattern: '^[A-Z]{2}$', example: 'US' });
  });

  it('turns a zod schema with nullable, literal and union fields into a definition the validator accepts', () => {
    const schema = z.strictObject({
      name: z.string().nullable(),
      kind: z.literal('Referral'),
      size: z.union([z.literal('small'), z.literal('large')]).optional(),
      contact: z.object({ email: z.email() }).nullable().optional(),
    });
    const definition: Json = toSwaggerSchema(z.toJSONSchema(schema, { target: 'draft-4', io: 'input', unrepresentable: 'any' }), {
      role: SchemaRole.Request,
    });
    const doc = {
      swagger: '2.0',
      info: { title: 'T', version: '1' },
      host: 'example.org',
      basePath: '/api',
      schemes: ['https'],
      paths: {
        '/x': {
          post: {
            operationId: 'X',
            summary: 'Post x',
            description: 'Posts x.',
            parameters: [{ name: 'body', in: 'body', 'x-ms-summary': 'Body', schema: { $ref: '#/definitions/X' } }],
            responses: { '200': { description: 'ok' } },
          },
        },
      },
      definitions: { X: definition },
    };
    expect(validateConnectorDefinition(doc)).toEqual([]);
    expect(definition.properties.size.enum).toEqual(['small', 'large']);
  });
});

describe('titleOf', () => {
  it.each([
    ['externalReferenceId', 'External Reference ID'],
    ['consentToContact', 'Consent to Contact'],
    ['consentToMicrosoftToContactSpecificPartners', 'Consent to Microsoft to Contact Specific Partners'],
    ['linkedInProfileUrl', 'LinkedIn Profile URL'],
    ['microsoftUSFedOpportunityId', 'Microsoft US Fed Opportunity ID'],
    ['isMaccEligible', 'Is MACC Eligible'],
    ['addressLine1', 'Address Line 1'],
    ['primaryDeploymentOn', 'Primary Deployment On'],
    ['eTag', 'ETag'],
  ])('titles %s as %s', (key, title) => {
    expect(titleOf(key)).toBe(title);
  });
});

describe('validateConnectorDefinition', () => {
  const valid = () => JSON.parse(JSON.stringify(buildConnector().apiDefinition)) as Record<string, any>;

  it.each([
    // Swagger 2.0 itself: @apidevtools/swagger-parser (the JSON schema, $refs, spec rules).
    { case: 'an OpenAPI 3 document', change: (d: any) => (d.swagger = '3.0.0'), message: /swagger-parser: [\s\S]*Unrecognized Swagger version/ },
    { case: 'a oneOf', change: (d: any) => (d.definitions.TrackingView.properties.final.oneOf = [{ type: 'boolean' }]), message: /swagger-parser: [\s\S]*additional properties/ },
    { case: 'a nullable keyword', change: (d: any) => (d.definitions.TrackingView.properties.final.nullable = true), message: /swagger-parser: [\s\S]*additional properties/ },
    { case: 'a $ref that does not resolve', change: (d: any) => (d.paths['/referrals'].post.responses['200'].schema.$ref = '#/definitions/Nope'), message: /swagger-parser: [\s\S]*Nope/ },
    { case: 'an operationId used twice', change: (d: any) => (d.paths['/referrals/validate'].post.operationId = d.paths['/referrals'].post.operationId), message: /swagger-parser: [\s\S]*Duplicate operation id/ },
    { case: 'a body parameter without schema', change: (d: any) => delete d.paths['/referrals'].post.parameters[1].schema, message: /swagger-parser: [\s\S]*schema/ },
    { case: 'a parameter without in', change: (d: any) => delete d.paths['/referrals'].post.parameters[0].in, message: /swagger-parser: / },
    { case: 'a path variable without parameter', change: (d: any) => (d.paths['/referrals/{trackingId}'].get.parameters = []), message: /swagger-parser: [\s\S]*missing path parameter\(s\) for \{trackingId\}/ },
    { case: 'a host with a scheme', change: (d: any) => (d.host = 'https://example.org'), message: /swagger-parser: [\s\S]*host/ },
    // Power Platform on top.
    { case: 'an OpenAPI 3 document (connectors take 2.0 only)', change: (d: any) => (d.swagger = '3.0.0'), message: /swagger: must be "2.0"/ },
    { case: 'an operation without operationId', change: (d: any) => delete d.paths['/referrals'].post.operationId, message: /needs an operationId/ },
    { case: 'an operation without summary', change: (d: any) => delete d.paths['/referrals/validate'].post.summary, message: /needs a summary/ },
    { case: 'a summary ending with a period', change: (d: any) => (d.paths['/referrals/validate'].post.summary = 'Validate a referral.'), message: /end without a period/ },
    { case: 'an unused security definition', change: (d: any) => (d.securityDefinitions.other = { type: 'basic' }), message: /no security requirement uses it/ },
    { case: 'a request field without visibility', change: (d: any) => delete d.definitions.ReferralRequest.properties.name['x-ms-visibility'], message: /needs x-ms-visibility/ },
    { case: 'a field title in lower case', change: (d: any) => (d.definitions.TrackingView.properties.final['x-ms-summary'] = 'final'), message: /not title case/ },
    { case: 'an enum with null', change: (d: any) => (d.definitions.TrackingView.properties.state.enum = [...(d.definitions.TrackingView.properties.state.enum ?? ['x']), null]), message: /enum must not contain null/ },
    { case: 'a definition over 1 MB', change: (d: any) => (d.info.description = 'x'.repeat(MAX_DEFINITION_BYTES)), message: /less than 1 MB/ },
  ])('catches $case', ({ change, message }) => {
    const doc = valid();
    change(doc);
    expect(validateConnectorDefinition(doc).join('\n')).toMatch(message);
  });
});
