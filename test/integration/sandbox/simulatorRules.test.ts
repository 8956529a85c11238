/**
 * Property tests of the simulator's pure parts, where input is open-ended: the OData `$filter` parser,
 * the referral validator, JSON Patch and the fault injector. (Pure, but kept beside the stand-in suites
 * they belong to.)
 */
import fc from 'fast-check';
import { FaultInjector } from '../../../sandbox/http-util';
import { PartnerApiError } from '../../../sandbox/partner-center/errors';
import { applyJsonPatch } from '../../../sandbox/partner-center/jsonPatch';
import { FILTERABLE_PROPERTIES, parseODataFilter } from '../../../sandbox/partner-center/odataFilter';
import { validateReferral } from '../../../sandbox/partner-center/referralRules';

const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;

describe('OData $filter parser', () => {
  it("reads back any string literal quoted with '' escaping", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (value) => {
        const predicate = parseODataFilter(`externalReferenceId eq ${quote(value)}`);
        expect(predicate({ externalReferenceId: value })).toBe(true);
        expect(predicate({ externalReferenceId: `${value}x` })).toBe(false);
      }),
    );
  });

  it('evaluates any conjunction of eq terms, with or without parentheses, as the conjunction', () => {
    const property = fc.constantFrom('status', 'substatus', 'type', 'engagementId', 'externalReferenceId');
    const term = fc.record({ property, value: fc.constantFrom('New', 'Active', 'Shared', 'a', "O'B") });
    fc.assert(
      fc.property(
        fc.array(term, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        fc.record({
          status: fc.constantFrom('New', 'Active'),
          substatus: fc.constantFrom('New', 'a'),
          type: fc.constantFrom('Shared', 'a'),
          engagementId: fc.constantFrom('a', "O'B"),
          externalReferenceId: fc.constantFrom('a', "O'B", 'New'),
        }),
        (terms, parenthesize, referral) => {
          const parts = terms.map((t) => `${t.property} eq ${quote(t.value)}`);
          const text =
            parenthesize && parts.length > 1
              ? `(${parts.slice(0, 2).join(' and ')})${parts.length > 2 ? ' and ' : ''}${parts.slice(2).join(' and ')}`
              : parts.join(' and ');
          const expected = terms.every((t) => {
            const actual = (referral as Record<string, string>)[t.property];
            return FILTERABLE_PROPERTIES[t.property].caseSensitive
              ? actual === t.value
              : actual.toLowerCase() === t.value.toLowerCase();
          });
          expect(parseODataFilter(text)(referral)).toBe(expected);
        },
      ),
    );
  });

  it('answers anything it does not understand with a 400 invalidRequest, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          parseODataFilter(text);
        } catch (error) {
          expect(error).toBeInstanceOf(PartnerApiError);
          expect(error).toMatchObject({ status: 400, code: 'invalidRequest', target: '$filter' });
        }
      }),
    );
  });
});

describe('referral validator and JSON Patch', () => {
  it('either accepts or refuses any JSON body with invalidRequest, never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (body) => {
        const result = validateReferral(body, { defaults: true });
        if ('error' in result) expect(result.error).toMatchObject({ status: 400, code: 'invalidRequest' });
      }),
    );
  });

  it('accepts a valid body and survives any value planted at any known field', () => {
    const valid = () => ({
      type: 'Shared',
      customerProfile: { name: 'Contoso', address: { country: 'US' }, team: [], ids: [] },
      consent: { consentToContact: true },
      details: { dealValue: 1, currency: 'USD', requirements: { solutions: [] } },
      team: [],
      target: [],
      inviteContext: {},
    });
    expect('referral' in validateReferral(valid(), { defaults: true })).toBe(true);
    const paths = [
      ['type'],
      ['status'],
      ['substatus'],
      ['name'],
      ['engagementId'],
      ['qualification'],
      ['customerProfile'],
      ['customerProfile', 'name'],
      ['customerProfile', 'address'],
      ['customerProfile', 'address', 'country'],
      ['customerProfile', 'team'],
      ['customerProfile', 'ids'],
      ['customerProfile', 'size'],
      ['consent'],
      ['consent', 'consentToContact'],
      ['details'],
      ['details', 'dealValue'],
      ['details', 'currency'],
      ['details', 'closingDateTime'],
      ['details', 'requirements'],
      ['details', 'requirements', 'solutions'],
      ['team'],
      ['target'],
      ['inviteContext'],
      ['inviteContext', 'assistanceRequestCode'],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 }), (path, value) => {
        const body: Record<string, unknown> = valid();
        let parent = body;
        for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string, unknown>;
        parent[path[path.length - 1]] = value;
        const result = validateReferral(body, { defaults: true });
        if ('error' in result)
          expect(result.error).toMatchObject({ status: 400, code: 'invalidRequest', target: expect.any(String) });
      }),
    );
  });

  it('refuses any malformed patch with invalidRequest, never another error', () => {
    const base = { name: 'n', details: { notes: 'x' }, team: [] };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (operations) => {
        try {
          applyJsonPatch(base, operations);
        } catch (error) {
          expect(error).toBeInstanceOf(PartnerApiError);
          expect(error).toMatchObject({ status: 400, code: 'invalidRequest' });
        }
      }),
    );
  });
});

describe('fault injector', () => {
  it('makes the same decisions for the same seed, configuration and request order, and counts each', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.constantFrom('create', 'get', 'list'), { maxLength: 40 }),
        (seed, errorShare, throttleShare, operations) => {
          const faults = {
            seed,
            serverErrors: { probability: errorShare },
            rateLimit: { probability: throttleShare },
            latency: { minMs: 0, maxMs: 20 },
          };
          const run = () => {
            const injector = new FaultInjector({ faults, nowMs: () => 0 });
            const plans = operations.map((op) => injector.plan(op));
            return { plans, counts: injector.counts() };
          };
          const first = run();
          expect(run()).toEqual(first);
          const rejected = (kind: string) => first.plans.filter((p) => p.reject?.kind === kind).length;
          expect(first.counts).toMatchObject({
            rateLimit: rejected('rateLimit'),
            status500: rejected('status500'),
            status503: rejected('status503'),
          });
          for (const plan of first.plans) expect(plan.delayMs).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});
