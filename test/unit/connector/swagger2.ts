/**
 * A structural validator for the Swagger 2.0 (OpenAPI 2.0) subset Power Automate custom connectors
 * accept, used by connector.test.ts. No swagger validator package is installed; this checks what the
 * connector import and the Power Platform certification checks trip over: the document shape, unique
 * operationIds with summary and description, parameters, responses, every `$ref` resolving, no
 * `oneOf`/`anyOf`/`const`/`nullable`, only Swagger 2.0 schema keywords, the `x-ms-*` values, security
 * definitions that are used, and the 1 MB limit.
 */

/** Keywords of a Swagger 2.0 Schema Object (x-* extensions are allowed besides). */
const SCHEMA_KEYWORDS = new Set([
  '$ref', 'format', 'title', 'description', 'default', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum',
  'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties',
  'minProperties', 'required', 'enum', 'type', 'items', 'allOf', 'properties', 'additionalProperties',
  'discriminator', 'readOnly', 'xml', 'externalDocs', 'example',
]);
const SCHEMA_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'file']);
const PARAMETER_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'file']);
const PARAMETER_LOCATIONS = new Set(['query', 'header', 'path', 'formData', 'body']);
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch']);
const VISIBILITIES = new Set(['important', 'advanced', 'internal']);
const SMALL_WORDS = new Set(['a', 'an', 'and', 'as', 'by', 'for', 'of', 'on', 'or', 'the', 'to', 'with', 'in']);
/** Largest definition the custom connector import takes. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

type Json = Record<string, any>;

/** Validates `doc` (its JSON text size too); returns one message per problem, empty when valid. */
export function validateSwagger2(doc: Json): string[] {
  const errors: string[] = [];
  const fail = (where: string, message: string): void => void errors.push(`${where}: ${message}`);
  const size = Buffer.byteLength(JSON.stringify(doc));
  if (size >= MAX_DEFINITION_BYTES) fail('document', `is ${size} bytes; custom connectors take less than 1 MB`);

  if (doc.swagger !== '2.0') fail('swagger', `must be "2.0" (custom connectors accept OpenAPI 2.0 only), not ${JSON.stringify(doc.swagger)}`);
  if (typeof doc.info?.title !== 'string' || !doc.info.title) fail('info.title', 'is required');
  if (typeof doc.info?.version !== 'string' || !doc.info.version) fail('info.version', 'is required');
  if (typeof doc.host !== 'string' || !/^[A-Za-z0-9.-]+(:\d+)?$/.test(doc.host)) fail('host', 'must be a host name (no scheme, no path)');
  if (typeof doc.basePath !== 'string' || !doc.basePath.startsWith('/')) fail('basePath', 'must start with /');
  if (!Array.isArray(doc.schemes) || doc.schemes.length === 0 || !doc.schemes.every((s: unknown) => ['http', 'https', 'ws', 'wss'].includes(String(s)))) {
    fail('schemes', 'must list http/https/ws/wss');
  }

  const definitions: Json = doc.definitions ?? {};
  const checkRef = (where: string, value: unknown): void => {
    if (typeof value !== 'string') return fail(where, '$ref must be a string');
    const match = /^#\/(definitions|parameters|responses)\/(.+)$/.exec(value);
    if (!match) return fail(where, `$ref ${value} is not a local #/definitions, #/parameters or #/responses reference`);
    const target = (doc[match[1]] ?? {})[match[2]];
    if (target === undefined) fail(where, `$ref ${value} does not resolve`);
  };
  const checkSchema = (where: string, schema: unknown, context: { request: boolean; property?: { required: boolean } }): void => {
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return fail(where, 'schema must be an object');
    const s = schema as Json;
    for (const key of Object.keys(s)) {
      if (key === 'oneOf' || key === 'anyOf') fail(where, `${key} is not allowed (Swagger 2.0 has none; flatten the union)`);
      else if (!SCHEMA_KEYWORDS.has(key) && !key.startsWith('x-')) fail(where, `${key} is not a Swagger 2.0 schema keyword`);
    }
    if (s.$ref !== undefined) checkRef(where, s.$ref);
    if (s.type !== undefined && (typeof s.type !== 'string' || !SCHEMA_TYPES.has(s.type))) fail(where, `type ${JSON.stringify(s.type)} is not one Swagger 2.0 type`);
    if (s.type === 'array' && s.items === undefined) fail(where, 'an array needs items');
    if (s.items !== undefined) checkSchema(`${where}[]`, s.items, { request: context.request });
    if (s.enum !== undefined && (!Array.isArray(s.enum) || s.enum.length === 0)) fail(where, 'enum must be a non-empty array');
    if (Array.isArray(s.enum) && s.enum.includes(null)) fail(where, 'enum must not contain null');
    if (s.required !== undefined) {
      if (!Array.isArray(s.required)) fail(where, 'required must be an array');
      else for (const name of s.required) if (!s.properties || !(name in s.properties)) fail(where, `required ${name} is not a property`);
    }
    if (s.properties !== undefined) {
      const required = new Set<string>(Array.isArray(s.required) ? s.required : []);
      for (const [name, child] of Object.entries(s.properties as Json)) {
        checkSchema(`${where}.${name}`, child, { request: context.request, property: { required: required.has(name) } });
      }
    }
    if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'boolean') checkSchema(`${where}.*`, s.additionalProperties, { request: context.request });
    if (Array.isArray(s.allOf)) s.allOf.forEach((branch: unknown, i: number) => checkSchema(`${where}.allOf[${i}]`, branch, { request: context.request }));
    if (context.property && s.$ref === undefined) {
      checkSummary(where, s['x-ms-summary'], fail);
      if (context.request) {
        if (!VISIBILITIES.has(s['x-ms-visibility'])) fail(where, 'a request field needs x-ms-visibility important, advanced or internal');
        if (s['x-ms-visibility'] === 'internal' && context.property.required && s.default === undefined) fail(where, 'an internal required field needs a default');
      }
    }
    if (s['x-ms-visibility'] !== undefined && !VISIBILITIES.has(s['x-ms-visibility'])) fail(where, `x-ms-visibility ${s['x-ms-visibility']} is not important, advanced or internal`);
  };

  const requestDefinitions = new Set<string>();
  const operationIds = new Set<string>();
  const usedSchemes = new Set<string>();
  const requirementsOf = (where: string, security: unknown): void => {
    if (security === undefined) return;
    if (!Array.isArray(security)) return fail(where, 'security must be an array');
    for (const requirement of security) {
      for (const name of Object.keys(requirement ?? {})) {
        usedSchemes.add(name);
        if (!(doc.securityDefinitions ?? {})[name]) fail(where, `security requirement ${name} is not in securityDefinitions`);
      }
    }
  };
  requirementsOf('security', doc.security);

  if (!doc.paths || typeof doc.paths !== 'object' || Object.keys(doc.paths).length === 0) fail('paths', 'needs at least one path');
  for (const [route, item] of Object.entries((doc.paths ?? {}) as Json)) {
    if (!route.startsWith('/')) fail(`paths.${route}`, 'must start with /');
    const templateNames = [...route.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, operation] of Object.entries(item as Json)) {
      const where = `${method.toUpperCase()} ${route}`;
      if (method === 'parameters' || method.startsWith('x-')) continue;
      if (!METHODS.has(method)) {
        fail(where, 'is not an HTTP method');
        continue;
      }
      const op = operation as Json;
      if (typeof op.operationId !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(op.operationId)) fail(where, 'needs an operationId (letters, digits, _)');
      else if (operationIds.has(op.operationId)) fail(where, `operationId ${op.operationId} is used twice`);
      else operationIds.add(op.operationId);
      if (typeof op.summary !== 'string' || !op.summary) fail(where, 'needs a summary');
      else if (op.summary.length > 80 || /\.$/.test(op.summary)) fail(where, 'summary must be short and end without a period');
      if (typeof op.description !== 'string' || !op.description) fail(where, 'needs a description');
      requirementsOf(where, op.security);
      const parameters: Json[] = [...((item as Json).parameters ?? []), ...(op.parameters ?? [])];
      const seen = new Set<string>();
      let bodies = 0;
      for (const raw of parameters) {
        const parameter = raw.$ref ? resolve(doc, raw.$ref) : raw;
        if (raw.$ref) checkRef(`${where} parameter`, raw.$ref);
        if (!parameter) continue;
        const pWhere = `${where} parameter ${parameter.name ?? '?'}`;
        if (typeof parameter.name !== 'string' || !parameter.name) fail(pWhere, 'needs a name');
        if (!PARAMETER_LOCATIONS.has(parameter.in)) fail(pWhere, `in must be one of ${[...PARAMETER_LOCATIONS].join(', ')}`);
        const key = `${parameter.in}:${String(parameter.name).toLowerCase()}`;
        if (seen.has(key)) fail(pWhere, 'is declared twice');
        seen.add(key);
        checkSummary(pWhere, parameter['x-ms-summary'], fail);
        if (parameter.in === 'body') {
          bodies++;
          if (parameter.schema === undefined) fail(pWhere, 'a body parameter needs a schema');
          else {
            checkSchema(`${pWhere} schema`, parameter.schema, { request: true });
            const target = typeof parameter.schema.$ref === 'string' ? /^#\/definitions\/(.+)$/.exec(parameter.schema.$ref)?.[1] : undefined;
            if (target) requestDefinitions.add(target);
          }
          if (parameter.type !== undefined) fail(pWhere, 'a body parameter has a schema, not a type');
        } else {
          if (!PARAMETER_TYPES.has(parameter.type)) fail(pWhere, 'needs a type (string, number, integer, boolean, array, file)');
          if (parameter.schema !== undefined) fail(pWhere, 'only a body parameter has a schema');
          if (parameter['x-ms-visibility'] !== undefined && !VISIBILITIES.has(parameter['x-ms-visibility'])) fail(pWhere, 'x-ms-visibility is not important, advanced or internal');
        }
        if (parameter.in === 'path') {
          if (parameter.required !== true) fail(pWhere, 'a path parameter must be required');
          if (!templateNames.includes(parameter.name)) fail(pWhere, `is not in the path template ${route}`);
        }
      }
      if (bodies > 1) fail(where, 'has more than one body parameter');
      for (const name of templateNames) if (!seen.has(`path:${name.toLowerCase()}`)) fail(where, `path template variable {${name}} has no path parameter`);
      const responses = op.responses as Json | undefined;
      if (!responses || Object.keys(responses).length === 0) fail(where, 'needs responses');
      for (const [code, response] of Object.entries(responses ?? {})) {
        const rWhere = `${where} response ${code}`;
        if (code !== 'default' && !/^[1-5]\d\d$/.test(code)) fail(rWhere, 'must be an HTTP status code or default');
        const r = (response as Json).$ref ? resolve(doc, (response as Json).$ref) : (response as Json);
        if (!r) {
          checkRef(rWhere, (response as Json).$ref);
          continue;
        }
        if (typeof r.description !== 'string') fail(rWhere, 'needs a description');
        if (r.schema !== undefined) checkSchema(`${rWhere} schema`, r.schema, { request: false });
        for (const [header, spec] of Object.entries((r.headers ?? {}) as Json)) {
          if (!PARAMETER_TYPES.has((spec as Json).type) || (spec as Json).type === 'file') fail(`${rWhere} header ${header}`, 'needs a type');
        }
      }
    }
  }

  for (const [name, schema] of Object.entries(definitions)) checkSchema(`definitions.${name}`, schema, { request: requestDefinitions.has(name) });

  const schemes = (doc.securityDefinitions ?? {}) as Json;
  for (const [name, scheme] of Object.entries(schemes)) {
    const where = `securityDefinitions.${name}`;
    if (!['basic', 'apiKey', 'oauth2'].includes((scheme as Json).type)) fail(where, 'type must be basic, apiKey or oauth2');
    if ((scheme as Json).type === 'apiKey') {
      if (typeof (scheme as Json).name !== 'string') fail(where, 'an apiKey scheme needs a name');
      if (!['header', 'query'].includes((scheme as Json).in)) fail(where, 'an apiKey scheme is in header or query');
    }
    if (!usedSchemes.has(name)) fail(where, 'is defined but no security requirement uses it');
  }
  return errors;
}

/** Checks an x-ms-summary: present and in title case. */
function checkSummary(where: string, summary: unknown, fail: (where: string, message: string) => void): void {
  if (typeof summary !== 'string' || !summary.trim()) return fail(where, 'needs an x-ms-summary');
  const words = summary.split(/\s+/);
  const badWord = words.find((word, i) => /^[a-z]/.test(word) && !(i > 0 && i < words.length - 1 && SMALL_WORDS.has(word)));
  if (badWord) fail(where, `x-ms-summary "${summary}" is not title case ("${badWord}")`);
}

function resolve(doc: Json, ref: string): Json | undefined {
  const match = /^#\/(definitions|parameters|responses)\/(.+)$/.exec(ref);
  return match ? (doc[match[1]] ?? {})[match[2]] : undefined;
}
