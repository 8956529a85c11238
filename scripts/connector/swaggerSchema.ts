/**
 * The zod contract's JSON Schema (draft-4, from `z.toJSONSchema`) → the Swagger 2.0 subset Power Platform
 * custom connectors accept: no oneOf/anyOf/const/null, `$defs` hoisted to `definitions`, and the designer's
 * `x-ms-summary`, `description` and `x-ms-visibility` added from wording.ts.
 */
import { BridgeError } from '../../shared/platform/errors';
import { DESCRIPTION_BY_PATH, GENERIC_KEYS, IMPORTANT_PATHS, titleOf } from './wording';

/** The contract cannot be expressed in the Swagger 2.0 subset custom connectors accept. */
export class ConnectorSchemaError extends BridgeError {
  constructor(message: string) {
    super(message, { retryable: false });
    this.name = 'ConnectorSchemaError';
  }
}

/** A JSON Schema or Swagger 2.0 Schema Object (or any other JSON object of the definition). */
export type Schema = Record<string, unknown>;

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
