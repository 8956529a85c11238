import fc from 'fast-check';
import { parseListQuery, invalidQueryProblem } from '../../../shared/listing/listQuery';
import { decodeCursor, encodeCursor, filterHashOf } from '../../../shared/listing/cursor';

const parse = (query: string) => parseListQuery(new URLSearchParams(query).entries());
const rowKey = `8235860781234-r${'a'.repeat(31)}`;

describe('parseListQuery', () => {
  it('takes no parameters as the first page of 50 with no filters', () => {
    const parsed = parse('');
    expect(parsed).toEqual({ ok: true, query: { filters: {}, limit: 50, filterHash: filterHashOf({}) } });
  });

  it('reads every filter', () => {
    const parsed = parse(
      'state=Rejected,Linked&final=true&dealType=CoSell&direction=outbound&decision=Accepted&updatedSince=2025-11-26T08:00:00Z&externalReferenceId=crm-1&limit=200&code=key',
    );
    expect(parsed.ok && parsed.query).toMatchObject({
      filters: {
        states: ['Rejected', 'Linked'],
        final: true,
        dealType: 'CoSell',
        direction: 'outbound',
        decision: 'Accepted',
        updatedSinceEpochMs: Date.parse('2025-11-26T08:00:00Z'),
        externalReferenceId: 'crm-1',
      },
      limit: 200,
    });
  });

  it.each([
    ['state=Nope', 'state'],
    ['state=', 'state'],
    ['final=yes', 'final'],
    ['dealType=cosell', 'dealType'],
    ['direction=sideways', 'direction'],
    ['decision=Maybe', 'decision'],
    ['updatedSince=yesterday', 'updatedSince'],
    ['updatedSince=2025-02-30', 'updatedSince'],
    ['externalReferenceId=', 'externalReferenceId'],
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=1.5', 'limit'],
    ['cursor=abc', 'cursor'],
    ['colour=red', 'colour'],
    ['limit=5&limit=6', 'limit'],
  ])('rejects %s naming %s', (query, parameter) => {
    const parsed = parse(query);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.invalid.map((i) => i.name)).toContain(parameter);
      const body = invalidQueryProblem(parsed.invalid);
      expect(body).toMatchObject({ status: 400, parameter });
    }
  });

  it('accepts its own cursor only with the filters it was made for', () => {
    const first = parse('dealType=CoSell');
    if (!first.ok) throw new Error('expected a query');
    const cursor = encodeCursor({ day: '2025-11-26', afterRowKey: rowKey, filterHash: first.query.filterHash });
    const next = parse(`dealType=CoSell&limit=10&cursor=${cursor}`);
    expect(next.ok && next.query.cursor).toEqual({
      day: '2025-11-26',
      afterRowKey: rowKey,
      filterHash: first.query.filterHash,
    });
    const other = parse(`dealType=Private&cursor=${cursor}`);
    expect(!other.ok && other.invalid).toEqual([{ name: 'cursor', reason: expect.stringContaining('other filters') }]);
  });

  it('answers a query or named problems for any query string, never a throw', () => {
    const names = fc.constantFrom(
      'state',
      'final',
      'dealType',
      'direction',
      'decision',
      'updatedSince',
      'externalReferenceId',
      'limit',
      'cursor',
      'code',
      'x',
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(names, fc.string()), fc.string()), { maxLength: 12 }), (pairs) => {
        const parsed = parseListQuery(pairs);
        if (parsed.ok) {
          expect(parsed.query.limit).toBeGreaterThanOrEqual(1);
          expect(parsed.query.limit).toBeLessThanOrEqual(200);
        } else {
          expect(parsed.invalid.length).toBeGreaterThan(0);
          expect(invalidQueryProblem(parsed.invalid).status).toBe(400);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        expect(() => parseListQuery(new URLSearchParams(text).entries())).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('list cursor', () => {
  it('round-trips', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
        fc.option(fc.stringMatching(/^[0-9a-f]{31}$/), { nil: undefined }),
        fc.stringMatching(/^[0-9a-f]{12}$/),
        (date, id, filterHash) => {
          const cursor = {
            day: date.toISOString().slice(0, 10),
            ...(id ? { afterRowKey: `${'1'.repeat(13)}-r${id}` } : {}),
            filterHash,
          };
          expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
        },
      ),
    );
  });

  it('refuses a tampered or foreign cursor', () => {
    const good = encodeCursor({ day: '2025-11-26', afterRowKey: rowKey, filterHash: 'abcdefabcdef' });
    const forge = (body: unknown) => Buffer.from(JSON.stringify(body)).toString('base64url');
    for (const text of [
      `${good}x`,
      good.slice(0, -2),
      `${good}=`,
      forge({ v: 2, d: '2025-11-26', f: 'abcdefabcdef' }),
      forge({ v: 1, d: '2025-13-01', f: 'abcdefabcdef' }),
      forge({ v: 1, d: '2025-11-26', k: "x' or true", f: 'abcdefabcdef' }),
      forge({ v: 1, d: '2025-11-26', f: 'abcdefabcdef', extra: 1 }),
      forge([1, 2]),
      'not base64!',
      '',
    ]) {
      expect(decodeCursor(text)).toBeUndefined();
    }
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.constantFrom(...'ABCxyz019-_'), (at, char) => {
        const tampered = `${good.slice(0, at)}${char}${good.slice(at + 1)}`;
        const decoded = decodeCursor(tampered);
        if (tampered !== good && decoded) {
          // A change that still decodes must decode to a well-formed cursor (never to an injection).
          expect(decoded.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        }
      }),
    );
  });
});
