/**
 * How deeply JSON nests, measured without recursion: a message nested thousands of levels deep must be
 * refused by a check that cannot itself overflow the stack (JSON.parse copes; JSON.stringify,
 * `String(array)`, zod and the library's key camel-casing recurse and throw RangeError).
 */
import { problem, type ProblemDetails } from '../../shared/referral/problem';

/**
 * Deepest nesting the intake edge accepts: the example referrals nest 4 to 6 levels (examples/), an
 * envelope adds one; 64 leaves room for any field Partner Center adds and is far below the ~2,500
 * levels at which `@azure/functions` overflows (docs/local-host.md, "Deeply nested messages").
 */
export const MAX_JSON_NESTING_DEPTH = 64;

/**
 * True when `text` opens more than `maxDepth` arrays/objects at once. A linear scan that skips string
 * literals; it does not check that the text is JSON (anything is measured, nothing is thrown).
 */
export function textNestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c /* \ */) i++;
      else if (code === 0x22 /* " */) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b /* { */ || code === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (code === 0x7d /* } */ || code === 0x5d /* ] */) depth--;
  }
  return false;
}

/** True when the parsed value `value` has more than `maxDepth` levels of arrays/objects (`[]` is 1). */
export function valueNestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: Array<{ node: object; depth: number }> = [];
  if (value !== null && typeof value === 'object') pending.push({ node: value, depth: 1 });
  while (pending.length > 0) {
    const { node, depth } = pending.pop()!;
    if (depth > maxDepth) return true;
    const children: unknown[] = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
    for (const child of children) {
      if (child !== null && typeof child === 'object') pending.push({ node: child, depth: depth + 1 });
    }
  }
  return false;
}

/** The 400 problem a message or body nested deeper than {@link MAX_JSON_NESTING_DEPTH} is refused with. */
export function tooDeeplyNested(maxDepth = MAX_JSON_NESTING_DEPTH): ProblemDetails {
  return problem(
    400,
    'nesting-too-deep',
    'The JSON nests too deeply',
    `Arrays and objects may nest at most ${maxDepth} levels deep.`,
  );
}
