import vm from 'node:vm';
import { REFERRAL_LIMITS, validateReferralRequest } from '../../../shared/referral';
import { expectInvalid, expectValid, minimalRequest, pointersAndCodes, requestExample } from './helpers';

/** Parses JSON text, so `__proto__` becomes an own key exactly as an HTTP body would carry it. */
const json = (text: string): unknown => JSON.parse(text);

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = { x: value };
  return value;
}

describe('hostile input', () => {
  it.each([
    { case: '__proto__ at the top', text: '{"__proto__": {"polluted": true}}', pointer: '/__proto__' },
    {
      case: 'constructor at the top',
      text: '{"constructor": {"prototype": {"polluted": true}}}',
      pointer: '/constructor',
    },
    {
      case: '__proto__ in a nested object',
      text: '{"details": {"__proto__": {"polluted": true}}}',
      pointer: '/details/__proto__',
    },
    {
      case: 'prototype in a member',
      text: '{"team": [{"prototype": {"polluted": true}}]}',
      pointer: '/team/0/prototype',
    },
  ])('rejects $case as an unknown field and pollutes nothing', ({ text, pointer }) => {
    const body = { ...minimalRequest(), ...(json(text) as object) };
    if (text.includes('"details"')) Object.assign(body, { details: (json(text) as { details: object }).details });
    const errors = expectInvalid(body);
    expect(pointersAndCodes(errors)).toContainEqual([pointer, 'unknown_field']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects prototype-pollution keys even when unknown fields may pass through', () => {
    const body =
      json(`{"type":"Shared","customerProfile":{"name":"F","address":{"country":"US"}},"consent":{},"details":{},
      "__proto__":{"polluted":true},"future":{"__proto__":{"polluted":true},"ok":1}}`);
    const errors = expectInvalid(body, { allowUnknownFields: true });
    expect(pointersAndCodes(errors)).toEqual([
      ['/__proto__', 'unknown_field'],
      ['/future/__proto__', 'unknown_field'],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('copies unknown fields that pass through without their hostile keys never reaching an object prototype', () => {
    const body = json(
      `{"type":"Shared","customerProfile":{"name":"F","address":{"country":"US"}},"consent":{},"details":{},"future":{"ok":{"deep":[1,{"a":null}]}}}`,
    );
    const { referral } = expectValid(body, { allowUnknownFields: true }) as { referral: Record<string, unknown> };
    expect(referral.future).toEqual({ ok: { deep: [1, { a: null }] } });
    expect(Object.getPrototypeOf(referral)).toBe(Object.prototype);
  });

  it.each([
    { case: 'null', input: null },
    { case: 'a number', input: 42 },
    { case: 'a string', input: 'referral' },
    { case: 'an array', input: [minimalRequest()] },
    { case: 'true', input: true },
  ])('answers $case at the top with a problem pointing at the whole body', ({ input }) => {
    expect(pointersAndCodes(expectInvalid(input))).toEqual([['', 'invalid_type']]);
  });

  it.each([
    { case: 'structuredClone', copy: (body: object) => structuredClone(body) },
    {
      case: 'JSON.parse of another realm',
      copy: (body: object) => vm.runInNewContext(`JSON.parse(${JSON.stringify(JSON.stringify(body))})`) as unknown,
    },
    { case: 'Object.create(null)', copy: (body: object) => Object.assign(Object.create(null) as object, body) },
  ])('accepts JSON objects made by $case', ({ copy }) => {
    expect(expectValid(copy(requestExample())).referral.name).toBe('Test Cosell Invite_20');
  });

  it.each([
    { case: 'undefined', input: undefined },
    { case: 'a function', input: () => 1 },
    { case: 'a symbol', input: Symbol('x') },
    { case: 'a bigint', input: 10n },
    { case: 'a Date', input: new Date(0) },
    { case: 'a Map', input: new Map([['type', 'Shared']]) },
    { case: 'a Date deep inside', input: { ...minimalRequest(), details: { closingDateTime: new Date(0) } } },
    { case: 'a class instance', input: { ...minimalRequest(), consent: new (class Consent {})() } },
    {
      case: 'a proxy that throws',
      input: new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('boom');
          },
        },
      ),
    },
  ])('never throws for $case (not JSON)', ({ input }) => {
    const result = validateReferralRequest(input);
    expect(result.ok).toBe(false);
  });

  it('stops at the nesting limit, pointing where it stopped', () => {
    const errors = expectInvalid({ ...minimalRequest(), future: nested(10_000) }, { allowUnknownFields: true });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('too_deep');
    expect(errors[0]?.pointer?.startsWith('/future/x/x')).toBe(true);
  });

  it('answers a deeply nested unknown field with a single unknown-field error (it is never walked)', () => {
    expect(pointersAndCodes(expectInvalid({ ...minimalRequest(), future: nested(10_000) }))).toEqual([
      ['/future', 'unknown_field'],
    ]);
  });

  it('stops at the total field limit', () => {
    const many = Object.fromEntries(Array.from({ length: REFERRAL_LIMITS.maxNodes + 1 }, (_, i) => [`k${i}`, i]));
    expect(
      pointersAndCodes(expectInvalid({ ...minimalRequest(), future: many }, { allowUnknownFields: true })),
    ).toEqual([['', 'too_many_fields']]);
  });

  it('rejects a huge string by its length', () => {
    const body = requestExample();
    body.customerProfile.team[0].firstName = 'x'.repeat(5_000_000);
    expect(pointersAndCodes(expectInvalid(body))).toEqual([['/customerProfile/team/0/firstName', 'too_long']]);
  });

  it('rejects a huge array without walking it', () => {
    const body = { ...minimalRequest(), tags: new Array(1_000_000).fill('t') };
    expect(pointersAndCodes(expectInvalid(body))).toEqual([['/tags', 'too_many_items']]);
  });

  it('reports each unknown key of a wide object once, within the error cap', () => {
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`unknown${i}`, i]));
    const result = validateReferralRequest({ ...minimalRequest(), ...wide });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem.errors).toHaveLength(REFERRAL_LIMITS.maxErrors);
      expect(result.problem.detail).toContain('500 problems');
    }
  });
});
