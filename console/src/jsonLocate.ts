/**
 * Where a JSON pointer is in JSON text, so the resend form can select the field a problem points at in the body
 * the operator pasted. Plain TypeScript (no DOM): unit-tested from test/unit/console.
 */

/** A place in the text: `[start, end)`; `exact` false when only a parent of the pointer exists (a missing field). */
export interface TextRange {
  start: number;
  end: number;
  exact: boolean;
}

const WHITESPACE = ' \t\n\r';

/** The pointer's segments (RFC 6901 unescaped); `''` is the whole document. */
function segmentsOf(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The range of `pointer` in `text` (valid JSON): an object member from its key to the end of its value, an array
 * item or the whole document as its value. Keys match in any case, as the contract reads them (a key spelt as in
 * the pointer wins over one that differs only in case). When the pointed
 * field is missing, the range of its nearest parent below the root (`exact: false`); undefined when not even that
 * exists, or the text is not JSON.
 */
export function locatePointer(text: string, pointer: string): TextRange | undefined {
  const segments = segmentsOf(pointer);
  const target = segments.map((segment) => segment.toLowerCase());
  // The deepest node on the pointer's path; between keys that differ only in case, the one spelt as the pointer.
  let best: { start: number; end: number; depth: number; sameCase: number } | undefined;
  let i = 0;
  const skipWhitespace = () => {
    while (i < text.length && WHITESPACE.includes(text[i])) i++;
  };
  const expect = (char: string) => {
    if (text[i] !== char) throw new SyntaxError(`expected ${char} at ${i}`);
    i++;
  };
  const readString = (): string => {
    const start = i;
    expect('"');
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    expect('"');
    return JSON.parse(text.slice(start, i)) as string;
  };
  const onPath = (path: string[]) =>
    path.length <= target.length && path.every((segment, k) => segment.toLowerCase() === target[k]);
  const readValue = (path: string[], labelStart?: number): void => {
    skipWhitespace();
    const start = labelStart ?? i;
    const char = text[i];
    if (char === '{') {
      i++;
      skipWhitespace();
      if (text[i] === '}') i++;
      else
        for (;;) {
          skipWhitespace();
          const keyStart = i;
          const key = readString();
          skipWhitespace();
          expect(':');
          readValue([...path, key], keyStart);
          skipWhitespace();
          if (text[i] === ',') i++;
          else {
            expect('}');
            break;
          }
        }
    } else if (char === '[') {
      i++;
      skipWhitespace();
      if (text[i] === ']') i++;
      else
        for (let index = 0; ; index++) {
          readValue([...path, String(index)]);
          skipWhitespace();
          if (text[i] === ',') i++;
          else {
            expect(']');
            break;
          }
        }
    } else if (char === '"') {
      readString();
    } else {
      const literalStart = i;
      while (i < text.length && !',]}'.includes(text[i]) && !WHITESPACE.includes(text[i])) i++;
      JSON.parse(text.slice(literalStart, i)); // a number, true, false or null, or a SyntaxError
    }
    if (onPath(path)) {
      const sameCase = path.filter((segment, k) => segment === segments[k]).length;
      if (!best || path.length > best.depth || (path.length === best.depth && sameCase > best.sameCase))
        best = { start, end: i, depth: path.length, sameCase };
    }
  };
  try {
    readValue([]);
    skipWhitespace();
    if (i < text.length) return undefined; // more after the document: not JSON
  } catch {
    return undefined;
  }
  if (!best) return undefined;
  const exact = best.depth === target.length;
  if (!exact && best.depth === 0) return undefined;
  return { start: best.start, end: best.end, exact };
}
