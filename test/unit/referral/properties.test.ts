import fc from 'fast-check';
import { validateReferralRequest, type ValidationResult } from '../../../shared/referral';
import { example } from '../../helpers/examples';

const EXAMPLES = [
  'request-example.json',
  'step1-partner-led.json',
  'step2-microsoft-referral.json',
  'private-deal.json',
  'partner-led-deal.json',
  'cosell-deal.json',
  'services-cosell-deal.json',
] as const;

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const KNOWN_KEYS = [
  'type',
  'Type',
  'customerProfile',
  'CONSENT',
  'details',
  'dealType',
  'coSell',
  'callbackUrl',
  'team',
  'status',
  'substatus',
];

/** Decodes a JSON pointer into its segments. */
function segments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** True when `path` names a location in `value` (own keys and array indexes only). */
function resolves(value: unknown, path: readonly string[]): boolean {
  let node: unknown = value;
  for (const segment of path) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(segment) || Number(segment) >= node.length) return false;
      node = node[Number(segment)];
    } else if (typeof node === 'object' && node !== null) {
      if (!Object.hasOwn(node, segment)) return false;
      node = (node as Record<string, unknown>)[segment];
    } else {
      return false;
    }
  }
  return true;
}

/** The property every input must satisfy: ok, or a 400 problem whose pointers resolve in the input or at their parent. */
function assertWellFormed(input: unknown, result: ValidationResult): void {
  if (result.ok) return;
  expect(result.problem.status).toBe(400);
  expect(result.problem.title).toBe('The referral is not valid');
  const errors = result.problem.errors ?? [];
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) {
    expect(error.code).not.toBe('unreadable');
    expect(typeof error.message).toBe('string');
    expect(typeof error.pointer).toBe('string');
    const path = segments(error.pointer ?? '');
    const ok = resolves(input, path) || resolves(input, path.slice(0, -1));
    if (!ok)
      throw new Error(
        `pointer ${error.pointer} (${error.code}) does not resolve in ${JSON.stringify(input)?.slice(0, 500)}`,
      );
  }
}

/** JSON text of an object with the given entries, so `__proto__` becomes an own key as in a real HTTP body. */
function objectFromEntries(entries: ReadonlyArray<readonly [string, unknown]>): unknown {
  return JSON.parse(
    `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`,
  );
}

const hostileObject = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...HOSTILE_KEYS, ...KNOWN_KEYS), fc.string({ maxLength: 12 })),
      fc.jsonValue({ maxDepth: 3 }),
    ),
    {
      maxLength: 12,
    },
  )
  .map(objectFromEntries);

/** Every path (as segments) of a JSON value, the root included. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((item, i) => out.push(...pathsOf(item, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) out.push(...pathsOf(inner, [...prefix, key]));
  }
  return out;
}

/** `body` with the value at `path` replaced (or removed when `replacement` is undefined). */
function mutate(body: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let node = copy;
  for (const segment of path.slice(0, -1)) node = node[segment] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (replacement === undefined && !Array.isArray(node)) delete node[last];
  else node[last] = replacement;
  return copy;
}

const CASE_CHANGES = [
  (key: string) => key,
  (key: string) => key.toLowerCase(),
  (key: string) => key.toUpperCase(),
  (key: string) => key.charAt(0).toUpperCase() + key.slice(1),
  (key: string) => [...key].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join(''),
] as const;

/** `value` with each object key's case changed by a choice drawn from `choices` (cycled). */
function recase(value: unknown, choices: readonly number[], cursor = { i: 0 }): unknown {
  if (Array.isArray(value)) return value.map((item) => recase(item, choices, cursor));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).map(([key, inner]): [string, unknown] => {
    const change = CASE_CHANGES[choices[cursor.i++ % choices.length]];
    return [change(key), recase(inner, choices, cursor)];
  });
  return Object.fromEntries(entries);
}

describe('validateReferralRequest on any input (properties)', () => {
  it('gives ok or a 400 problem whose pointers resolve, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (input) => {
        assertWellFormed(input, validateReferralRequest(input));
        assertWellFormed(
          input,
          validateReferralRequest(input, { allowUnknownFields: true, allowInsecureCallback: true }),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('gives ok or a 400 problem for objects with hostile and near-known keys, polluting nothing', () => {
    fc.assert(
      fc.property(hostileObject, fc.boolean(), (input, allowUnknownFields) => {
        assertWellFormed(input, validateReferralRequest(input, { allowUnknownFields }));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.getPrototypeOf({})).toBe(Object.prototype);
      }),
      { numRuns: 300 },
    );
  });

  it('gives ok or a 400 problem for documented bodies (keys in random case) with one value replaced, removed or given hostile keys', () => {
    const bodies = EXAMPLES.map((name) => example(name));
    const mutation = fc
      .record({
        body: fc.constantFrom(...bodies),
        pick: fc.nat(),
        replacement: fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileObject, fc.constant(undefined)),
        choices: fc.array(fc.nat({ max: CASE_CHANGES.length - 1 }), { minLength: 1, maxLength: 16 }),
      })
      .map(({ body, pick, replacement, choices }) => {
        const recased = recase(body, choices);
        const paths = pathsOf(recased);
        return mutate(recased, paths[pick % paths.length], replacement);
      });
    fc.assert(
      fc.property(mutation, fc.boolean(), (input, allowUnknownFields) => {
        assertWellFormed(input, validateReferralRequest(input, { allowUnknownFields }));
      }),
      { numRuns: 500 },
    );
  });

  it('validates case variants of the documented examples to the same normalised request', () => {
    const expected = new Map(EXAMPLES.map((name) => [name, validateReferralRequest(example(name))] as const));
    for (const result of expected.values()) expect(result.ok).toBe(true);
    fc.assert(
      fc.property(
        fc.constantFrom(...EXAMPLES),
        fc.array(fc.nat({ max: CASE_CHANGES.length - 1 }), { minLength: 1, maxLength: 64 }),
        (name, choices) => {
          const variant = recase(example(name), choices);
          expect(validateReferralRequest(variant)).toEqual(expected.get(name));
        },
      ),
      { numRuns: 200 },
    );
  });
});
