import fc from 'fast-check';
import { compareRoutes, compileRoute } from '../../../sandbox/host/routeTemplate';
import { LocalHostError } from '../../../sandbox/host/errors';

const segmentsOf = (path: string): string[] =>
  path.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));

describe('route templates', () => {
  it.each([
    ['referrals/{trackingId}', 'referrals/r123', { trackingId: 'r123' }],
    ['referrals/{trackingId}', 'REFERRALS/r123', { trackingId: 'r123' }],
    ['referrals/{trackingId}', 'referrals/a%20b%2Fc', { trackingId: 'a b/c' }],
    ['items/{id?}', 'items', {}],
    ['items/{id?}', 'items/5', { id: '5' }],
    ['items/{id=7}', 'items', { id: '7' }],
    ['items/{id:int}', 'items/-42', { id: '-42' }],
    ['items/{id:guid}', 'items/3F2504E0-4F89-11D3-9A0C-0305E82C3301', { id: '3F2504E0-4F89-11D3-9A0C-0305E82C3301' }],
    ['items/{id:int:range(1,10)?}', 'items/10', { id: '10' }],
    ['files/{*path}', 'files/a/b/c.txt', { path: 'a/b/c.txt' }],
    ['files/{*path}', 'files', {}],
    ['files/{name}.{ext}', 'files/report.final.pdf', { name: 'report', ext: 'final.pdf' }],
    ['users/{name:alpha:minlength(2)}', 'users/ab', { name: 'ab' }],
    ['codes/{code:regex(^[A-Z]{{2}}\\d+$)}', 'codes/AB12', { code: 'AB12' }],
    ['', '', {}],
  ])('%s matches /%s', (template, path, params) => {
    expect(compileRoute(template).match(segmentsOf(path))).toEqual(params);
  });

  it.each([
    ['referrals/{trackingId}', 'referrals'],
    ['referrals/{trackingId}', 'referrals/a/b'],
    ['referrals/{trackingId}', 'other/a'],
    ['items/{id:int}', 'items/abc'],
    ['items/{id:int}', 'items/99999999999'],
    ['items/{id:guid}', 'items/not-a-guid'],
    ['items/{id:int:range(1,10)?}', 'items/11'],
    ['users/{name:alpha:minlength(2)}', 'users/a'],
    ['users/{name:alpha}', 'users/a1'],
    ['referrals/{trackingId}', 'referrals/%E0%A4%A'],
  ])('%s does not match /%s', (template, path) => {
    expect(compileRoute(template).match(segmentsOf(path))).toBeUndefined();
  });

  it.each([
    ['an unknown constraint', 'items/{id:bogus}'],
    ['an unclosed brace', 'items/{id'],
    ['a repeated parameter', '{a}/{A}'],
    ['a catch-all before the end', '{*rest}/tail'],
    ['two adjacent parameters', '{a}{b}'],
    ['an empty segment', 'a//b'],
  ])('refuses %s', (_name, template) => {
    expect(() => compileRoute(template)).toThrow(LocalHostError);
  });

  it('orders literal segments before constrained parameters, before plain parameters, before catch-alls', () => {
    const templates = ['things/{*rest}', 'things/{id}', 'things/{id:int}', 'things/latest'];
    const sorted = templates
      .map(compileRoute)
      .sort(compareRoutes)
      .map((r) => r.template);
    expect(sorted).toEqual(['things/latest', 'things/{id:int}', 'things/{id}', 'things/{*rest}']);
  });

  it('gives back any parameter value that was URL-encoded into the path', () => {
    const route = compileRoute('a/{x}/b/{y}');
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (x, y) => {
        expect(route.match(['a', encodeURIComponent(x), 'b', encodeURIComponent(y)])).toEqual({ x, y });
      }),
    );
  });
});
