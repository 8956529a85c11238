/**
 * Fuzz cases for the referral edges: seeded fast-check arbitraries that produce random JSON and random
 * objects over the contract's field names, plus mutations of the request bodies in examples/ (wrong
 * types, huge strings, deep nesting, unicode, prototype-pollution keys, OData quote injection in ids,
 * control characters, duplicate keys in the raw JSON text, truncated JSON, wrong encodings...).
 *
 * Each case is raw bytes for one channel: `POST /api/referrals/validate`, `POST /api/referrals`, or
 * the `referral-intake` queue as plain text or base64. The same seed gives the same cases.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { repoRoot } from './repo';

/** Where a case is sent. */
export type FuzzChannel = 'validate' | 'submit' | 'queue-plain' | 'queue-base64';

/** One fuzz case. */
export interface FuzzCase {
  index: number;
  channel: FuzzChannel;
  /** What was done to the body (for reports): `mutation:hugeString`, `random:json`... */
  kind: string;
  /** The body as sent over HTTP, or the message text before queue encoding. */
  body: Buffer;
  /** HTTP Content-Type. @default application/json */
  contentType?: string;
  /** `Idempotency-Key` header (submit only). */
  idempotencyKey?: string;
}

/** Placeholder replaced by a per-case unique tag once cases are numbered. */
const TAG = '__FUZZTAG__';
/** Placeholder key replaced by a hostile key in the JSON text. */
const KEY_SLOT = '__FUZZKEY__';
/** Placeholder value replaced by raw JSON text (deep nesting, number edges). */
const RAW_SLOT = '__FUZZRAW__';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A body before it becomes bytes: an object (stringified) or text that is sent as is. */
interface Draft {
  kind: string;
  value?: Json;
  /** Replaces the stringified value: raw text (possibly not JSON). */
  text?: string;
  /** Raw text for {@link RAW_SLOT}. */
  raw?: string;
  /** Key text for {@link KEY_SLOT}. */
  key?: string;
  /** Raw bytes (invalid UTF-8). */
  bytes?: Buffer;
  contentType?: string;
}

let examplesCache: Array<{ name: string; body: JsonObject }> | undefined;

/** Every request body in examples/ (parsed), in file-name order. */
export function exampleBodies(): Array<{ name: string; body: JsonObject }> {
  if (!examplesCache) {
    const dir = path.join(repoRoot(), 'examples');
    examplesCache = readdirSync(dir)
      .filter((file) => file.endsWith('.json'))
      .sort()
      .map((file) => ({ name: file, body: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as JsonObject }));
  }
  return examplesCache;
}

/** Every path (object keys and array indexes) inside `value`, parents before children. */
export function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push([...prefix, i]);
      out.push(...pathsOf(item, [...prefix, i]));
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      out.push([...prefix, key]);
      out.push(...pathsOf(item, [...prefix, key]));
    }
  }
  return out;
}

function setAt(root: Json, at: Array<string | number>, replacement: Json | undefined): void {
  let parent: any = root;
  for (const step of at.slice(0, -1)) parent = parent[step];
  const last = at[at.length - 1];
  if (replacement === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else {
    parent[last] = replacement;
  }
}

function objectPaths(value: Json): Array<Array<string | number>> {
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  return [[], ...pathsOf(value).filter((p) => isObject(getAt(value, p)))];
}

function getAt(root: Json, at: Array<string | number>): Json {
  let current: any = root;
  for (const step of at) current = current?.[step];
  return current as Json;
}

function pick<T>(items: readonly T[], n: number): T {
  return items[n % items.length];
}

/** A copy of an example with a unique name and externalReferenceId (so valid cases make their own records). */
function taggedExample(n: number): { name: string; body: JsonObject } {
  const example = pick(exampleBodies(), n);
  const body = structuredClone(example.body);
  if (typeof body.name === 'string') body.name = `${body.name} ${TAG}`;
  body.externalReferenceId = `fuzz-${TAG}`;
  return { name: example.name, body };
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------------

const hostileStrings = fc.constantFrom(
  "x' or 1 eq 1",
  "' or ''='",
  "x'); delete from referrals --",
  '%27%20or%201%20eq%201',
  "engagementId eq 'a' or id ne ''",
  '\u0000',
  'line\r\nbreak',
  '\u202Eevil\u202C',
  '\uFEFFbom',
  '\ud800',
  '\udfff lone',
  'e\u0301\u0301\u0301',
  '👩‍👩‍👧‍👦🏳️‍🌈',
  '\uFFFF\uFFFE',
  'İstanbul ıi',
  '<script>alert(1)</script>',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '../../etc/passwd',
  ' ',
  '',
);

const wrongTypeValues: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  42,
  -1,
  0,
  1e308,
  true,
  false,
  null,
  'text',
  '',
  [],
  {},
  [1, 'a', null],
  { a: 1 },
);

const protoKeys = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  'hasOwnProperty',
  'toString',
  'valueOf',
);

const protoValues: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  { polluted: true },
  { prototype: { polluted: true } },
  'polluted',
  1,
  null,
  [],
);

const controlStrings = fc
  .array(fc.integer({ min: 0, max: 0x1f }), { minLength: 1, maxLength: 8 })
  .map((codes) => `a${String.fromCharCode(...codes)}b`);

const numberEdges = fc.constantFrom(
  '1e400',
  '-1e400',
  '-0',
  '1.7976931348623157e308',
  '5e-324',
  '9007199254740993',
  '0.1e-400',
  '"100000"',
  '1E2',
  '00',
  '0x10',
);

const dateEdges: fc.Arbitrary<Json> = fc.constantFrom<Json>(
  '2024-02-30T00:00:00Z',
  'not a date',
  '9999-12-31T23:59:59Z',
  '0000-01-01T00:00:00Z',
  '2026-13-01',
  '',
  1700000000000,
  '2026-06-30T00:00:00+25:00',
);

/** Random values biased to the shapes the contract uses. */
const anyJson: fc.Arbitrary<Json> = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

function mutation(): fc.Arbitrary<Draft> {
  const base = fc.nat();
  const pathPick = fc.nat();
  return fc.oneof(
    fc.tuple(base, pathPick, wrongTypeValues).map(([b, p, v]): Draft => {
      const { body } = taggedExample(b);
      const paths = pathsOf(body);
      setAt(body, pick(paths, p), v);
      return { kind: 'mutation:wrongType', value: body };
    }),
    fc.tuple(base, pathPick, fc.constantFrom(300, 5_000, 40_000, 300_000)).map(([b, p, length]): Draft => {
      const { body } = taggedExample(b);
      setAt(body, pick(pathsOf(body), p), 'x'.repeat(length));
      return { kind: 'mutation:hugeString', value: body };
    }),
    // Deeper than ~2,000 levels a queue message never reaches the app: @azure/functions camel-cases trigger
    // metadata recursively and overflows first (docs/reliability.md, known limits). HTTP bodies are not affected.
    fc.tuple(base, pathPick, fc.constantFrom(33, 200, 1_000), fc.boolean()).map(([b, p, depth, arrays]): Draft => {
      const { body } = taggedExample(b);
      setAt(body, pick(pathsOf(body), p), RAW_SLOT);
      const raw = arrays
        ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
        : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      return { kind: 'mutation:deepNesting', value: body, raw };
    }),
    fc
      .tuple(base, pathPick, fc.oneof(hostileStrings, fc.string({ unit: 'binary', maxLength: 40 })))
      .map(([b, p, s]): Draft => {
        const { body } = taggedExample(b);
        const stringPaths = pathsOf(body).filter((at) => typeof getAt(body, at) === 'string');
        setAt(body, pick(stringPaths.length ? stringPaths : [['name']], p), s);
        return { kind: 'mutation:unicode', value: body };
      }),
    fc.tuple(base, pathPick, protoKeys, protoValues).map(([b, p, key, v]): Draft => {
      const { body } = taggedExample(b);
      const target = pick(objectPaths(body), p);
      (getAt(body, target) as JsonObject)[KEY_SLOT] = v;
      return { kind: `mutation:protoKey`, value: body, key };
    }),
    fc.tuple(base, hostileStrings, fc.boolean()).map(([b, s, unique]): Draft => {
      const { body } = taggedExample(b);
      body.externalReferenceId = unique ? `${s} ${TAG}` : "x' or 1 eq 1";
      if (typeof s === 'string' && s.length > 0 && unique)
        body.name = `${typeof body.name === 'string' ? body.name : ''} ${s}`;
      return { kind: 'mutation:odataInjection', value: body };
    }),
    fc.tuple(base, pathPick, controlStrings, fc.boolean()).map(([b, p, s, raw]): Draft => {
      const { body } = taggedExample(b);
      const stringPaths = pathsOf(body).filter((at) => typeof getAt(body, at) === 'string');
      if (!raw) {
        setAt(body, pick(stringPaths, p), s);
        return { kind: 'mutation:controlChars', value: body };
      }
      // An unescaped control character inside a JSON string: not JSON.
      const text = JSON.stringify(body).replace(`fuzz-${TAG}`, `fuzz-${TAG}${String.fromCharCode(p % 32)}`);
      return { kind: 'mutation:rawControlChar', text };
    }),
    fc.tuple(base, pathPick, anyJson, fc.boolean()).map(([b, p, v, first]): Draft => {
      const { body } = taggedExample(b);
      const keys = Object.keys(body);
      const key = pick(keys, p);
      const text = JSON.stringify(body);
      const extra = `${JSON.stringify(key)}:${JSON.stringify(v)}`;
      // First: the original value wins (JSON.parse keeps the last); last: the injected one wins.
      return {
        kind: 'mutation:duplicateKey',
        text: first ? `{${extra},${text.slice(1)}` : `${text.slice(0, -1)},${extra}}`,
      };
    }),
    fc.tuple(base, fc.double({ min: 0, max: 1, noNaN: true })).map(([b, at]): Draft => {
      const text = JSON.stringify(taggedExample(b).body);
      return { kind: 'mutation:truncated', text: text.slice(0, Math.floor(at * (text.length - 1))) };
    }),
    fc.tuple(base, pathPick).map(([b, p]): Draft => {
      const { body } = taggedExample(b);
      setAt(body, pick(pathsOf(body), p), undefined);
      return { kind: 'mutation:dropField', value: body };
    }),
    fc.tuple(base, fc.constantFrom('array', 'string', 'number', 'null', 'true')).map(([b, root]): Draft => {
      const { body } = taggedExample(b);
      const value: Json =
        root === 'array'
          ? [body]
          : root === 'string'
            ? JSON.stringify(body)
            : root === 'number'
              ? 123
              : root === 'null'
                ? null
                : true;
      return { kind: `mutation:root-${root}`, value };
    }),
    fc.tuple(base, fc.constantFrom('upper', 'lower', 'snake')).map(([b, style]): Draft => {
      const { body } = taggedExample(b);
      return { kind: `mutation:keyCase-${style}`, value: renameKeys(body, style) };
    }),
    fc.tuple(base, pathPick, fc.string({ minLength: 1, maxLength: 12 }), anyJson).map(([b, p, key, v]): Draft => {
      const { body } = taggedExample(b);
      (getAt(body, pick(objectPaths(body), p)) as JsonObject)[`x${key}`] = v;
      return { kind: 'mutation:unknownField', value: body };
    }),
    fc.tuple(base, numberEdges).map(([b, n]): Draft => {
      const { body } = taggedExample(b);
      const details = (body.details ??= {}) as JsonObject;
      details.dealValue = RAW_SLOT;
      return { kind: 'mutation:numberEdge', value: body, raw: n };
    }),
    fc.tuple(base, dateEdges).map(([b, d]): Draft => {
      const { body } = taggedExample(b);
      const details = (body.details ??= {}) as JsonObject;
      details.closingDateTime = d;
      return { kind: 'mutation:dateEdge', value: body };
    }),
    fc
      .tuple(
        base,
        fc.constantFrom('Private', 'PartnerLed', 'CoSell', 'cosell', 'Other', ''),
        fc.boolean(),
        fc.boolean(),
      )
      .map(([b, dealType, consent, dropCoSell]): Draft => {
        const { body } = taggedExample(b);
        body.dealType = dealType;
        const consentBlock = (body.consent ??= {}) as JsonObject;
        consentBlock.consentToShareReferralWithMicrosoftSellers = consent;
        if (dropCoSell) delete body.coSell;
        return { kind: 'mutation:dealType', value: body };
      }),
    fc
      .tuple(base, fc.oneof(fc.string({ maxLength: 300 }), fc.constant(`k ${TAG}`), hostileStrings), fc.option(anyJson))
      .map(([b, key, extra]): Draft => {
        const { body } = taggedExample(b);
        const envelope: JsonObject = { idempotencyKey: key, referral: body };
        if (extra !== null) envelope.extra = extra;
        return { kind: 'mutation:envelope', value: envelope };
      }),
  );
}

function renameKeys(value: Json, style: string): Json {
  if (Array.isArray(value)) return value.map((v) => renameKeys(v, style));
  if (value === null || typeof value !== 'object') return value;
  const rename = (key: string): string =>
    style === 'upper'
      ? key.toUpperCase()
      : style === 'lower'
        ? key.toLowerCase()
        : key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), renameKeys(v, style)]));
}

const CONTRACT_KEYS = [
  'dealType',
  'name',
  'externalReferenceId',
  'customerProfile',
  'consent',
  'details',
  'team',
  'type',
  'qualification',
  'target',
  'coSell',
  'status',
  'substatus',
  'callbackUrl',
  'notes',
  'address',
  'country',
  'dealValue',
  'currency',
];

function randomDraft(): fc.Arbitrary<Draft> {
  return fc.oneof(
    anyJson.map((value): Draft => ({ kind: 'random:json', value })),
    fc
      .dictionary(fc.constantFrom(...CONTRACT_KEYS), fc.oneof(anyJson, hostileStrings as fc.Arbitrary<Json>), {
        maxKeys: 8,
      })
      .map((value): Draft => ({ kind: 'random:contractKeys', value: value })),
    fc.string({ unit: 'binary', maxLength: 200 }).map((text): Draft => ({ kind: 'random:text', text })),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes): Draft => ({
      kind: 'random:bytes',
      bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(bytes)]),
    })),
    fc
      .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', '')
      .map((contentType): Draft => ({
        kind: 'random:contentType',
        value: taggedExample(0).body,
        contentType,
      })),
  );
}

function validDraft(): fc.Arbitrary<Draft> {
  return fc.nat().map((b): Draft => {
    const { body } = taggedExample(b);
    return { kind: 'valid:example', value: body };
  });
}

const idempotencyKeys = fc.option(
  fc.oneof(
    fc.constant(`key-${TAG}`),
    fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    fc.constant('x'.repeat(256)),
    fc.constant("x' or 1 eq 1"),
  ),
  { freq: 2 },
);

/** The arbitrary of one case (before numbering). */
export function fuzzCaseArbitrary(): fc.Arbitrary<Omit<FuzzCase, 'index'> & { draft: Draft }> {
  const draft = fc.oneof(
    { weight: 2, arbitrary: validDraft() },
    { weight: 6, arbitrary: mutation() },
    { weight: 2, arbitrary: randomDraft() },
  );
  const channel = fc.constantFrom<FuzzChannel>(
    'validate',
    'validate',
    'submit',
    'submit',
    'queue-plain',
    'queue-base64',
  );
  return fc
    .record({ draft, channel, idempotencyKey: idempotencyKeys })
    .map(({ draft: d, channel: c, idempotencyKey }) => ({
      draft: d,
      channel: c,
      kind: d.kind,
      body: Buffer.alloc(0),
      ...(d.contentType !== undefined ? { contentType: d.contentType } : {}),
      ...(c === 'submit' && idempotencyKey !== null ? { idempotencyKey } : {}),
    }));
}

/** Turns a draft into bytes, with the case's unique tag. */
function render(draft: Draft, tag: string): Buffer {
  if (draft.bytes) return draft.bytes;
  let text = draft.text ?? JSON.stringify(draft.value);
  if (draft.raw !== undefined) text = text.replace(JSON.stringify(RAW_SLOT), draft.raw);
  if (draft.key !== undefined) text = text.replace(JSON.stringify(KEY_SLOT), JSON.stringify(draft.key));
  return Buffer.from(text.split(TAG).join(tag), 'utf8');
}

/**
 * `count` cases from `seed`: the same seed and count give the same cases, byte for byte.
 *
 * @example
 * const cases = generateFuzzCases({ count: 150, seed: 7 });
 */
export function generateFuzzCases(options: { count: number; seed: number }): FuzzCase[] {
  const drafts = fc.sample(fuzzCaseArbitrary(), { seed: options.seed, numRuns: options.count });
  return drafts.map(({ draft, ...rest }, index) => {
    const tag = `${options.seed}-${index}`;
    return {
      ...rest,
      index,
      body: render(draft, tag),
      ...(rest.idempotencyKey !== undefined ? { idempotencyKey: rest.idempotencyKey.split(TAG).join(tag) } : {}),
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// PATCH /api/referrals/{trackingId} (a merge patch of the changeable fields)
// ---------------------------------------------------------------------------------------------------

/** One PATCH fuzz case: a merge patch body (raw bytes), maybe as a dry run, maybe with a key. */
export interface PatchFuzzCase {
  index: number;
  kind: string;
  body: Buffer;
  contentType: string;
  dryRun: boolean;
  idempotencyKey?: string;
}

const CHANGE_KEYS = [
  'name',
  'status',
  'substatus',
  'statusReason',
  'qualification',
  'salesStage',
  'details',
  'team',
  'type',
  'consent',
  'customerProfile',
  'mpnId',
  'target',
  'eTag',
  'id',
  'Status',
  'DETAILS',
  'nmae',
  '__proto__',
] as const;

const validChanges: readonly JsonObject[] = [
  { status: 'Active' },
  { status: 'Closed', substatus: 'Won', statusReason: 'Signed' },
  { details: { dealValue: 5000, notes: 'fuzz notes' } },
  { name: 'Renamed deal' },
  { team: [{ firstName: 'Fuzz', email: 'fuzz.member@partner.example.com' }] },
  { qualification: 'SalesQualified', details: { currency: 'usd', closingDateTime: '2027-01-01T00:00:00Z' } },
];

function patchDraft(): fc.Arbitrary<Draft> {
  const base = fc.nat().map((n) => structuredClone(pick(validChanges, n)));
  const detailValue = fc.oneof(
    anyJson,
    hostileStrings as fc.Arbitrary<Json>,
    wrongTypeValues,
    fc.constantFrom<Json>(-5, 1e308, 'USD', 'xx', '2027-13-40T99:00:00Z'),
  );
  return fc.oneof(
    base.map((value): Draft => ({ kind: 'patch:valid', value })),
    fc
      .tuple(
        base,
        fc.constantFrom(...CHANGE_KEYS),
        fc.oneof(anyJson, wrongTypeValues, hostileStrings as fc.Arbitrary<Json>),
      )
      .map(([value, key, v]): Draft => ({ kind: `patch:set:${key}`, value: { ...value, [key]: v } })),
    fc
      .tuple(
        base,
        fc.constantFrom('dealValue', 'currency', 'notes', 'closingDateTime', 'DealValue', 'unknown'),
        detailValue,
      )
      .map(([value, key, v]): Draft => ({ kind: `patch:details:${key}`, value: { ...value, details: { [key]: v } } })),
    fc
      .dictionary(fc.constantFrom(...CHANGE_KEYS), fc.oneof(anyJson, hostileStrings as fc.Arbitrary<Json>), {
        maxKeys: 5,
      })
      .map((value): Draft => ({ kind: 'patch:random', value })),
    fc.constantFrom<Draft>(
      { kind: 'patch:jsonPatchArray', value: [{ op: 'replace', path: '/name', value: 'x' }] },
      { kind: 'patch:null', value: { details: { notes: null } } },
      { kind: 'patch:empty', value: {} },
      { kind: 'patch:readOnly', value: { customerProfile: { name: 'Other', address: { country: 'US' } } } },
      { kind: 'patch:unshare', value: { consent: { consentToShareReferralWithMicrosoftSellers: false } } },
      { kind: 'patch:backwards', value: { status: 'New', substatus: 'Pending' } },
      { kind: 'patch:truncated', text: '{"details": {"dealValue": 5' },
      { kind: 'patch:deep', text: `${'{"details":'.repeat(3000)}1${'}'.repeat(3000)}` },
      { kind: 'patch:contentType', value: { name: 'x' }, contentType: 'text/plain' },
      { kind: 'patch:bytes', bytes: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) },
    ),
  );
}

/** `count` PATCH cases from `seed` (same seed, same cases). */
export function generatePatchFuzzCases(options: { count: number; seed: number }): PatchFuzzCase[] {
  const arbitrary = fc.record({
    draft: patchDraft(),
    dryRun: fc.boolean(),
    idempotencyKey: fc.option(
      fc.oneof(fc.constant(`change-${TAG}`), fc.constant('x'.repeat(300)), fc.constant('same-key')),
      {
        freq: 2,
      },
    ),
    contentType: fc.constantFrom('application/merge-patch+json', 'application/json'),
  });
  return fc.sample(arbitrary, { seed: options.seed, numRuns: options.count }).map((drawn, index) => {
    const tag = `${options.seed}-${index}`;
    return {
      index,
      kind: drawn.draft.kind,
      body: render(drawn.draft, tag),
      contentType: drawn.draft.contentType ?? drawn.contentType,
      dryRun: drawn.dryRun,
      ...(drawn.idempotencyKey !== null ? { idempotencyKey: drawn.idempotencyKey.split(TAG).join(tag) } : {}),
    };
  });
}
