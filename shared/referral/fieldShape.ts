/**
 * The shape of a schema as the key-normalising pass needs it, read once from the zod schema itself
 * (one source of truth): which keys an object knows (by exact and lower-case name), which fields are
 * optional, array bounds, and the enum lookups for value normalisation.
 */
import type { z } from 'zod';
import { createEnumLookup, type EnumLookup } from './enumLookup';
import { ReferralContractError } from './errors';

/** A known field of an object. */
export interface FieldSpec {
  /** Canonical (camelCase) name. */
  readonly name: string;
  /** Optional fields treat `null` and `""` as absent. */
  readonly optional: boolean;
  readonly shape: FieldShape;
}

/** An object with known fields. */
export interface ObjectShape {
  readonly kind: 'object';
  readonly byName: ReadonlyMap<string, FieldSpec>;
  readonly byLowerName: ReadonlyMap<string, FieldSpec>;
  /** Canonical names, for "did you mean" suggestions. */
  readonly names: readonly string[];
  /** True for the bridge's own blocks (`coSell`): unknown fields are never passed through. */
  readonly closed: boolean;
}

/** An array; longer input is cut at `maxItems + 1` before validation (zod then reports too many items). */
export interface ArrayShape {
  readonly kind: 'array';
  readonly element: FieldShape;
  readonly maxItems: number;
}

/** An enum: values are matched without regard to case and separators. */
export interface EnumShape {
  readonly kind: 'enum';
  readonly lookup: EnumLookup;
  readonly description?: string;
}

/** A string, number or boolean: passed to zod as is. */
export interface ScalarShape {
  readonly kind: 'scalar';
}

/** Any JSON (undocumented types): deep-copied with the same safety checks. */
export interface OpaqueShape {
  readonly kind: 'opaque';
}

/** What the normalising pass knows about a value's position. */
export type FieldShape = ObjectShape | ArrayShape | EnumShape | ScalarShape | OpaqueShape;

/** The parts of zod's internal definition this module reads. */
interface ZodDefView {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  entries?: Record<string, string | number>;
  checks?: ReadonlyArray<{ _zod: { def: { check: string; maximum?: number } } }>;
}

function defOf(schema: z.ZodType): ZodDefView {
  return (schema as unknown as { _zod: { def: ZodDefView } })._zod.def;
}

const SCALAR: ScalarShape = { kind: 'scalar' };
const OPAQUE: OpaqueShape = { kind: 'opaque' };

/** Options for {@link fieldShapeOf}. */
export interface FieldShapeOptions {
  /** Top-level fields whose objects are closed (never pass unknown fields through). */
  closedFields?: readonly string[];
}

/**
 * Reads the {@link FieldShape} of a zod schema. Called once per schema at module load; throws
 * {@link ReferralContractError} for a construct it does not understand (a programming error).
 */
export function fieldShapeOf(schema: z.ZodType, options: FieldShapeOptions = {}): FieldShape {
  const cache = new Map<z.ZodType, FieldShape>();
  const shape = read(schema, cache, 0);
  if (shape.kind === 'object' && options.closedFields) {
    for (const field of options.closedFields) {
      const spec = shape.byName.get(field);
      if (!spec || spec.shape.kind !== 'object')
        throw new ReferralContractError(`Cannot close field ${field}: not an object field.`);
      (spec as { shape: FieldShape }).shape = { ...spec.shape, closed: true };
    }
  }
  return shape;
}

function unwrap(schema: z.ZodType): { schema: z.ZodType; optional: boolean } {
  let current = schema;
  let optional = false;
  for (let guard = 0; guard < 16; guard += 1) {
    const def = defOf(current);
    if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) {
      if (def.type !== 'nullable') optional = true;
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return { schema: current, optional };
    }
  }
  throw new ReferralContractError('Schema wrappers nested too deeply.');
}

function read(schema: z.ZodType, cache: Map<z.ZodType, FieldShape>, depth: number): FieldShape {
  if (depth > 32) throw new ReferralContractError('Schema nested too deeply.');
  const cached = cache.get(schema);
  if (cached) return cached;
  const def = defOf(schema);
  let shape: FieldShape;
  switch (def.type) {
    case 'object': {
      const byName = new Map<string, FieldSpec>();
      const byLowerName = new Map<string, FieldSpec>();
      for (const [name, fieldSchema] of Object.entries(def.shape ?? {})) {
        const inner = unwrap(fieldSchema);
        const spec: FieldSpec = { name, optional: inner.optional, shape: read(inner.schema, cache, depth + 1) };
        const lower = name.toLowerCase();
        if (byLowerName.has(lower)) throw new ReferralContractError(`Two fields named ${name} once case is ignored.`);
        byName.set(name, spec);
        byLowerName.set(lower, spec);
      }
      shape = { kind: 'object', byName, byLowerName, names: [...byName.keys()], closed: false };
      break;
    }
    case 'array': {
      const max = def.checks?.find((check) => check._zod.def.check === 'max_length')?._zod.def.maximum;
      if (!def.element || max === undefined)
        throw new ReferralContractError('Every array of the contract needs an element schema and a max length.');
      shape = { kind: 'array', element: read(unwrap(def.element).schema, cache, depth + 1), maxItems: max };
      break;
    }
    case 'enum': {
      const values = Object.values(def.entries ?? {}).map(String);
      const description = (schema as { description?: string }).description;
      shape = {
        kind: 'enum',
        lookup: createEnumLookup(values, description ?? values.slice(0, 3).join('|')),
        ...(description ? { description } : {}),
      };
      break;
    }
    case 'string':
    case 'number':
    case 'boolean':
      shape = SCALAR;
      break;
    case 'unknown':
      shape = OPAQUE;
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'pipe':
      shape = read(unwrap(schema).schema, cache, depth + 1);
      break;
    default:
      throw new ReferralContractError(`The key-normalising pass does not understand zod type ${def.type}.`);
  }
  cache.set(schema, shape);
  return shape;
}
