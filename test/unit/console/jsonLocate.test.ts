/**
 * The resend form's pointer locator: for any JSON document in any layout, every pointer to a node finds that node's
 * text; a missing field finds its nearest parent; keys match in any case.
 */
import fc from 'fast-check';
import { locatePointer } from '../../../console/src/jsonLocate';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** Every pointer of `value`, with its node. */
function nodesOf(value: Json, pointer = ''): Array<{ pointer: string; node: Json; member: boolean }> {
  const here = [{ pointer, node: value, member: false }];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => nodesOf(item, `${pointer}/${i}`))];
  if (value !== null && typeof value === 'object') {
    return [
      ...here,
      ...Object.entries(value).flatMap(([key, child]) =>
        nodesOf(child, `${pointer}/${escape(key)}`).map((n, k) => (k === 0 ? { ...n, member: true } : n)),
      ),
    ];
  }
  return here;
}

describe('locatePointer', () => {
  it('finds every node of any document, compact or indented', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        for (const { pointer, node, member } of nodesOf(value as Json)) {
          const range = locatePointer(text, pointer);
          expect(range?.exact).toBe(true);
          const slice = text.slice(range!.start, range!.end);
          // A member is `"key": value`; an item or the document is the value itself.
          const parsed = member ? Object.values(JSON.parse(`{${slice}}`) as object)[0] : JSON.parse(slice);
          expect(parsed).toEqual(JSON.parse(JSON.stringify(node))); // as JSON has it (no -0)
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a missing field finds its nearest parent (not the whole document); keys match in any case', () => {
    const text = JSON.stringify({ Details: { notes: 'x' }, dealType: 'CoSel' }, null, 2);
    const parent = locatePointer(text, '/details/dealValue');
    expect(parent).toMatchObject({ exact: false });
    expect(text.slice(parent!.start, parent!.end)).toMatch(/^"Details": \{/);
    expect(text.slice(locatePointer(text, '/DEALTYPE')!.start, locatePointer(text, '/DEALTYPE')!.end)).toBe(
      '"dealType": "CoSel"',
    );
    expect(locatePointer(text, '/customerProfile')).toBeUndefined();
  });

  it('text that is not JSON finds nothing, and never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (text, pointer) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const range = locatePointer(text, `/${pointer}`);
        if (!valid) expect(range).toBeUndefined();
      }),
    );
  });

  it('a document with more after it, or a bad literal, is not JSON', () => {
    expect(locatePointer('{"a": 1} {"a": 2}', '/a')).toBeUndefined();
    expect(locatePointer('{"a": tru}', '/a')).toBeUndefined();
  });
});
