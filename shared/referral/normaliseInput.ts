/**
 * The key-normalising pass that runs before zod.
 *
 * It walks the caller's JSON along the contract's {@link FieldShape} and builds the canonical object zod
 * validates: keys in any letter case mapped to the camelCase names, enum values in any case mapped to the
 * documented spelling, `null` and `""` on optional fields left out. On the way it reports unknown fields
 * (with a "did you mean"), fields given twice once case is ignored, and bodies that are too deep or too
 * big. Prototype-pollution keys (`__proto__`, `constructor`, `prototype`) are rejected as unknown fields
 * and never assigned: output objects only ever receive known names, or checked unknown names when
 * unknown fields may pass through.
 *
 * It also remembers the key each canonical field had in the input, so an error found later by zod can
 * point at the field AS THE CALLER SENT IT (`/Details/DealValue`).
 */
import { REFERRAL_LIMITS } from './constants';
import type { ArrayShape, FieldShape, ObjectShape } from './fieldShape';
import { nearestName } from './nearestName';

/** A path into the caller's body (keys as sent). */
export type InputPath = readonly (string | number)[];

/** A problem found by the pass, at a path of the caller's body. */
export interface InputIssue {
  path: InputPath;
  code: string;
  message: string;
}

/** An unknown field let through (allowUnknownFields): put back on the parsed output at `parentPath`. */
export interface PassThroughField {
  /** Canonical path of the object that holds the field. */
  parentPath: readonly (string | number)[];
  key: string;
  value: unknown;
}

/** What the pass produced. */
export interface NormalisedInput {
  /** The canonical value for zod (undefined when `aborted`). */
  value: unknown;
  issues: InputIssue[];
  /** True when the body was too deep or too big: nothing else is checked. */
  aborted: boolean;
  passThrough: PassThroughField[];
  /** The key each canonical object's field had in the input, when it differed. */
  originalKeys: WeakMap<object, Map<string, string>>;
}

/** Options for {@link normaliseInput}. */
export interface NormaliseOptions {
  /** Let unknown fields through unchanged instead of reporting them. @default false */
  allowUnknownFields?: boolean;
  /** @default REFERRAL_LIMITS.maxDepth */
  maxDepth?: number;
  /** Object keys plus array items in the whole body. @default REFERRAL_LIMITS.maxNodes */
  maxNodes?: number;
}

/** Stand-in for a value that is no JSON (a Date, a Map, a function): zod rejects it by type. */
export const NOT_JSON: unique symbol = Symbol('not JSON');

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

class Abort extends Error {}

/**
 * A JSON-like object: its prototype is null or some realm's Object.prototype (objects made by another
 * realm's JSON.parse or structuredClone count; class instances, Dates and Maps do not).
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || (typeof proto === 'object' && Object.getPrototypeOf(proto) === null);
}

/**
 * A value of the wrong kind for its position, handed to zod unwalked (zod rejects it by type without
 * descending into it); anything that is not JSON becomes {@link NOT_JSON}.
 */
function asIs(value: unknown): unknown {
  if (value === null || Array.isArray(value) || isPlainObject(value)) return value;
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined' ? value : NOT_JSON;
}

/** Walks `input` along `shape`; never throws for a JSON value. */
export function normaliseInput(input: unknown, shape: FieldShape, options: NormaliseOptions = {}): NormalisedInput {
  const walker = new Walker(options);
  try {
    const value = walker.visit(input, shape, 0);
    return {
      value,
      issues: walker.issues,
      aborted: false,
      passThrough: walker.passThrough,
      originalKeys: walker.originalKeys,
    };
  } catch (error) {
    if (!(error instanceof Abort)) throw error;
    return {
      value: undefined,
      issues: walker.issues,
      aborted: true,
      passThrough: [],
      originalKeys: walker.originalKeys,
    };
  }
}

class Walker {
  readonly issues: InputIssue[] = [];
  readonly passThrough: PassThroughField[] = [];
  readonly originalKeys = new WeakMap<object, Map<string, string>>();
  readonly #allowUnknown: boolean;
  readonly #maxDepth: number;
  readonly #maxNodes: number;
  #nodes = 0;
  #suggestions = 0;
  /** Current position: caller keys and canonical keys, pushed and popped while walking. */
  readonly #inputPath: (string | number)[] = [];
  readonly #canonicalPath: (string | number)[] = [];

  constructor(options: NormaliseOptions) {
    this.#allowUnknown = options.allowUnknownFields ?? false;
    this.#maxDepth = options.maxDepth ?? REFERRAL_LIMITS.maxDepth;
    this.#maxNodes = options.maxNodes ?? REFERRAL_LIMITS.maxNodes;
  }

  visit(value: unknown, shape: FieldShape, depth: number): unknown {
    switch (shape.kind) {
      case 'scalar':
        return asIs(value);
      case 'enum':
        return typeof value === 'string' ? (shape.lookup.resolve(value) ?? value) : asIs(value);
      case 'opaque':
        return this.visitOpaque(value, depth);
      case 'array':
        return Array.isArray(value) ? this.visitArray(value, shape, depth) : asIs(value);
      case 'object':
        return isPlainObject(value) ? this.visitObject(value, shape, depth) : asIs(value);
    }
  }

  #enter(depth: number): void {
    if (depth >= this.#maxDepth) {
      this.#abort({
        path: [...this.#inputPath],
        code: 'too_deep',
        message: `The body is nested more than ${this.#maxDepth} levels deep.`,
      });
    }
  }

  #count(n: number): void {
    this.#nodes += n;
    if (this.#nodes > this.#maxNodes) {
      this.#abort({
        path: [],
        code: 'too_many_fields',
        message: `The body has more than ${this.#maxNodes} fields and array items.`,
      });
    }
  }

  #abort(issue: InputIssue): never {
    this.issues.length = 0;
    this.issues.push(issue);
    throw new Abort();
  }

  #issue(code: string, message: string, key?: string | number): void {
    this.issues.push({ path: key === undefined ? [...this.#inputPath] : [...this.#inputPath, key], code, message });
  }

  visitObject(input: Record<string, unknown>, shape: ObjectShape, depth: number): Record<string, unknown> {
    this.#enter(depth);
    const keys = Object.keys(input);
    this.#count(keys.length);
    const out: Record<string, unknown> = {};
    let renamed: Map<string, string> | undefined;
    let absent: Map<string, string> | undefined;
    for (const key of keys) {
      const spec = shape.byName.get(key) ?? shape.byLowerName.get(key.toLowerCase());
      if (spec === undefined || FORBIDDEN_KEYS.has(key)) {
        this.#unknown(input, key, shape, depth);
        continue;
      }
      const name = spec.name;
      const earlier = renamed?.get(name) ?? absent?.get(name) ?? (Object.hasOwn(out, name) ? name : undefined);
      if (earlier !== undefined) {
        this.#issue(
          'duplicate_field',
          `Given twice: field names are matched without regard to letter case, and ${name} was already given.`,
          key,
        );
        continue;
      }
      const value = input[key];
      if (spec.optional && (value === null || value === '' || value === undefined)) {
        (absent ??= new Map()).set(name, key);
        continue;
      }
      if (key !== name) (renamed ??= new Map()).set(name, key);
      this.#inputPath.push(key);
      this.#canonicalPath.push(name);
      out[name] = this.visit(value, spec.shape, depth + 1);
      this.#inputPath.pop();
      this.#canonicalPath.pop();
    }
    if (renamed) this.originalKeys.set(out, renamed);
    return out;
  }

  #unknown(input: Record<string, unknown>, key: string, shape: ObjectShape, depth: number): void {
    if (FORBIDDEN_KEYS.has(key)) {
      this.#issue('unknown_field', 'Unknown field: this name is not allowed.', key);
      return;
    }
    if (this.#allowUnknown && !shape.closed) {
      this.#inputPath.push(key);
      const value = this.visitOpaque(input[key], depth + 1);
      this.#inputPath.pop();
      this.passThrough.push({ parentPath: [...this.#canonicalPath], key, value });
      return;
    }
    // Suggestions cost a little each: only the unknown fields that can appear in the problem body get one.
    this.#suggestions += 1;
    const suggestion = this.#suggestions <= REFERRAL_LIMITS.maxErrors ? nearestName(key, shape.names) : undefined;
    this.#issue(
      'unknown_field',
      suggestion === undefined ? 'Unknown field.' : `Unknown field. Did you mean ${suggestion}?`,
      key,
    );
  }

  visitArray(input: readonly unknown[], shape: ArrayShape, depth: number): unknown[] {
    this.#enter(depth);
    // Longer arrays are cut just past the limit: zod reports "too many items" without walking the rest.
    const length = Math.min(input.length, shape.maxItems + 1);
    this.#count(length);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i += 1) {
      this.#inputPath.push(i);
      this.#canonicalPath.push(i);
      out[i] = this.visit(input[i], shape.element, depth + 1);
      this.#inputPath.pop();
      this.#canonicalPath.pop();
    }
    return out;
  }

  /** Any JSON value: a deep copy without forbidden keys, within the depth and size limits. */
  visitOpaque(value: unknown, depth: number): unknown {
    if (value === null || typeof value !== 'object') {
      return typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' ? NOT_JSON : value;
    }
    this.#enter(depth);
    if (Array.isArray(value)) {
      this.#count(value.length);
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i += 1) {
        this.#inputPath.push(i);
        out[i] = this.visitOpaque(value[i], depth + 1);
        this.#inputPath.pop();
      }
      return out;
    }
    if (!isPlainObject(value)) return NOT_JSON;
    const keys = Object.keys(value);
    this.#count(keys.length);
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key)) {
        this.#issue('unknown_field', 'Unknown field: this name is not allowed.', key);
        continue;
      }
      this.#inputPath.push(key);
      out[key] = this.visitOpaque(value[key], depth + 1);
      this.#inputPath.pop();
    }
    return out;
  }
}
