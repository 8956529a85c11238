/**
 * The checks of the Power Automate custom connector definition, used by connector.test.ts.
 *
 * Swagger 2.0 itself is `@apidevtools/swagger-parser`'s job, with the options `npm run connector` uses
 * before it writes anything (scripts/connector/check.ts `checkSwaggerDefinition`): the official Swagger 2.0 JSON schema (document shape, schema keywords, so no
 * `oneOf`/`anyOf`/`const`/`nullable`, parameter and response shapes, host and basePath), every `$ref`
 * resolving, unique operationIds, path template variables with required path parameters, one body.
 *
 * What is left here by hand is what Power Platform adds on top: OpenAPI 2.0 only, the 1 MB import limit,
 * operationIds the designer can name actions with, summaries and descriptions (certification), title-case
 * `x-ms-summary` on every field and parameter, `x-ms-visibility` values and the rule that a required
 * `internal` field has a default, schemes and at least one operation, arrays with items and enums without
 * null (the designer renders neither), and security definitions that exist and are used.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { SWAGGER_PARSER_OPTIONS } from '../../../scripts/connector/check';

/**
 * Runs swagger-parser in a plain Node.js child: its `@apidevtools/json-schema-ref-parser` dependency is
 * an ES module, which Node 22 loads from `require()` but Jest's module registry cannot.
 */
const SWAGGER_PARSER_CHILD = `
const SwaggerParser = require('@apidevtools/swagger-parser');
const [doc, options] = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
SwaggerParser.validate(doc, options).then(
  () => process.stdout.write('[]'),
  (error) => process.stdout.write(JSON.stringify(['swagger-parser: ' + error.message])),
);`;

/** swagger-parser's verdict on `doc`: empty when valid, else its (first) error. */
export function swaggerParserProblems(doc: Json): string[] {
  const output = execFileSync(process.execPath, ['-e', SWAGGER_PARSER_CHILD], {
    cwd: path.resolve(__dirname, '../../..'),
    input: JSON.stringify([doc, SWAGGER_PARSER_OPTIONS]),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(output) as string[];
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch']);
const VISIBILITIES = new Set(['important', 'advanced', 'internal']);
const SMALL_WORDS = new Set(['a', 'an', 'and', 'as', 'by', 'for', 'of', 'on', 'or', 'the', 'to', 'with', 'in']);
/** Largest definition the custom connector import takes. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

type Json = Record<string, any>;

/** swagger-parser's verdict, then the Power Platform rules; one message per problem, empty when valid. */
export function validateConnectorDefinition(doc: Json): string[] {
  return [...swaggerParserProblems(doc), ...powerPlatformProblems(doc)];
}

/** The Power Platform rules only (the document is assumed to be Swagger 2.0 already). */
export function powerPlatformProblems(doc: Json): string[] {
  const errors: string[] = [];
  const fail = (where: string, message: string): void => void errors.push(`${where}: ${message}`);
  const size = Buffer.byteLength(JSON.stringify(doc));
  if (size >= MAX_DEFINITION_BYTES) fail('document', `is ${size} bytes; custom connectors take less than 1 MB`);
  if (doc.swagger !== '2.0')
    fail('swagger', `must be "2.0" (custom connectors accept OpenAPI 2.0 only), not ${JSON.stringify(doc.swagger)}`);
  if (!Array.isArray(doc.schemes) || doc.schemes.length === 0) fail('schemes', 'must list https (or http)');

  const checkSchema = (where: string, schema: Json, context: { request: boolean; property?: { required: boolean } }) => {
    if (!schema || typeof schema !== 'object') return;
    if (schema.type === 'array' && schema.items === undefined) fail(where, 'an array needs items');
    if (Array.isArray(schema.enum) && schema.enum.includes(null)) fail(where, 'enum must not contain null');
    if (schema.items !== undefined) checkSchema(`${where}[]`, schema.items, { request: context.request });
    const required = new Set<string>(Array.isArray(schema.required) ? schema.required : []);
    for (const [name, child] of Object.entries((schema.properties ?? {}) as Json)) {
      checkSchema(`${where}.${name}`, child, { request: context.request, property: { required: required.has(name) } });
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
      checkSchema(`${where}.*`, schema.additionalProperties, { request: context.request });
    if (Array.isArray(schema.allOf))
      schema.allOf.forEach((branch: Json, i: number) =>
        checkSchema(`${where}.allOf[${i}]`, branch, { request: context.request }),
      );
    if (context.property && schema.$ref === undefined) {
      checkSummary(where, schema['x-ms-summary'], fail);
      if (context.request) {
        if (!VISIBILITIES.has(schema['x-ms-visibility']))
          fail(where, 'a request field needs x-ms-visibility important, advanced or internal');
        if (schema['x-ms-visibility'] === 'internal' && context.property.required && schema.default === undefined)
          fail(where, 'an internal required field needs a default');
      }
    }
    if (schema['x-ms-visibility'] !== undefined && !VISIBILITIES.has(schema['x-ms-visibility']))
      fail(where, `x-ms-visibility ${schema['x-ms-visibility']} is not important, advanced or internal`);
  };

  const requestDefinitions = new Set<string>();
  const usedSchemes = new Set<string>();
  const requirementsOf = (where: string, security: unknown): void => {
    if (!Array.isArray(security)) return;
    for (const requirement of security) {
      for (const name of Object.keys(requirement ?? {})) {
        usedSchemes.add(name);
        if (!(doc.securityDefinitions ?? {})[name]) fail(where, `security requirement ${name} is not in securityDefinitions`);
      }
    }
  };
  requirementsOf('security', doc.security);

  if (!doc.paths || Object.keys(doc.paths).length === 0) fail('paths', 'needs at least one operation');
  for (const [route, item] of Object.entries((doc.paths ?? {}) as Json)) {
    for (const [method, operation] of Object.entries(item as Json)) {
      if (!METHODS.has(method)) continue;
      const where = `${method.toUpperCase()} ${route}`;
      const op = operation as Json;
      if (typeof op.operationId !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(op.operationId))
        fail(where, 'needs an operationId (letters, digits, _)');
      if (typeof op.summary !== 'string' || !op.summary) fail(where, 'needs a summary');
      else if (op.summary.length > 80 || /\.$/.test(op.summary))
        fail(where, 'summary must be short and end without a period');
      if (typeof op.description !== 'string' || !op.description) fail(where, 'needs a description');
      requirementsOf(where, op.security);
      for (const raw of [...((item as Json).parameters ?? []), ...(op.parameters ?? [])] as Json[]) {
        const parameter = typeof raw.$ref === 'string' ? resolve(doc, raw.$ref) : raw;
        if (!parameter) continue;
        const pWhere = `${where} parameter ${parameter.name ?? '?'}`;
        checkSummary(pWhere, parameter['x-ms-summary'], fail);
        if (parameter['x-ms-visibility'] !== undefined && !VISIBILITIES.has(parameter['x-ms-visibility']))
          fail(pWhere, 'x-ms-visibility is not important, advanced or internal');
        if (parameter.in === 'body' && parameter.schema) {
          checkSchema(`${pWhere} schema`, parameter.schema, { request: true });
          const target =
            typeof parameter.schema.$ref === 'string'
              ? /^#\/definitions\/(.+)$/.exec(parameter.schema.$ref)?.[1]
              : undefined;
          if (target) requestDefinitions.add(target);
        }
      }
      for (const [code, response] of Object.entries((op.responses ?? {}) as Json)) {
        const r = typeof response?.$ref === 'string' ? resolve(doc, response.$ref) : (response as Json);
        if (r?.schema !== undefined) checkSchema(`${where} response ${code} schema`, r.schema, { request: false });
      }
    }
  }

  for (const [name, schema] of Object.entries((doc.definitions ?? {}) as Json))
    checkSchema(`definitions.${name}`, schema, { request: requestDefinitions.has(name) });

  for (const name of Object.keys((doc.securityDefinitions ?? {}) as Json)) {
    if (!usedSchemes.has(name)) fail(`securityDefinitions.${name}`, 'is defined but no security requirement uses it');
  }
  return errors;
}

/** Checks an x-ms-summary: present and in title case. */
function checkSummary(where: string, summary: unknown, fail: (where: string, message: string) => void): void {
  if (typeof summary !== 'string' || !summary.trim()) return fail(where, 'needs an x-ms-summary');
  const words = summary.split(/\s+/);
  const badWord = words.find(
    (word, i) => /^[a-z]/.test(word) && !(i > 0 && i < words.length - 1 && SMALL_WORDS.has(word)),
  );
  if (badWord) fail(where, `x-ms-summary "${summary}" is not title case ("${badWord}")`);
}

function resolve(doc: Json, ref: string): Json | undefined {
  const match = /^#\/(definitions|parameters|responses)\/(.+)$/.exec(ref);
  return match ? (doc[match[1]] ?? {})[match[2]] : undefined;
}
