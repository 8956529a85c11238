/**
 * The slice of OData `$filter` the simulator understands: `property eq 'literal'` joined by `and`, with
 * parentheses, and string literals with `''` escaping. Anything else (or, ne, lambdas, functions,
 * numbers, unknown properties) is refused with 400 `invalidRequest` rather than silently ignored.
 *
 * ```
 * filter  := term ('and' term)*
 * term    := '(' filter ')' | path 'eq' string
 * path    := one of FILTERABLE_PROPERTIES (case-sensitive, as OData property names are)
 * string  := "'" ( any char but "'" | "''" )* "'"
 * ```
 */
import { invalidRequest, type PartnerApiError } from './errors';
import type { JsonObject } from './referralRules';

/** A compiled filter. */
export type ReferralPredicate = (referral: JsonObject) => boolean;

/** Properties `$filter` accepts, and whether their comparison is case-sensitive. */
export const FILTERABLE_PROPERTIES: Readonly<Record<string, { path: readonly string[]; caseSensitive: boolean }>> = {
  id: { path: ['id'], caseSensitive: false },
  engagementId: { path: ['engagementId'], caseSensitive: false },
  status: { path: ['status'], caseSensitive: false },
  substatus: { path: ['substatus'], caseSensitive: false },
  type: { path: ['type'], caseSensitive: false },
  direction: { path: ['direction'], caseSensitive: false },
  qualification: { path: ['qualification'], caseSensitive: false },
  organizationId: { path: ['organizationId'], caseSensitive: false },
  externalReferenceId: { path: ['externalReferenceId'], caseSensitive: true },
  'customerProfile/address/country': { path: ['customerProfile', 'address', 'country'], caseSensitive: false },
};

/** Longest `$filter` accepted. */
export const MAX_FILTER_LENGTH = 2048;

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'open' | 'close' | 'other'; text: string; at: number };

function filterError(message: string): PartnerApiError {
  return invalidRequest(`Invalid $filter: ${message}`, '$filter');
}

/** Splits a `$filter` into tokens (throws a 400 on an unterminated string). */
export function tokenizeFilter(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ kind: c === '(' ? 'open' : 'close', text: c, at: i });
      i++;
    } else if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw filterError(`unterminated string literal at position ${start}.`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      tokens.push({ kind: 'string', text: value, at: start });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_/]/.test(text[i])) i++;
      tokens.push({ kind: 'word', text: text.slice(start, i), at: start });
    } else {
      const start = i;
      while (i < text.length && !/[\s()']/.test(text[i])) i++;
      tokens.push({ kind: 'other', text: text.slice(start, i), at: start });
    }
  }
  return tokens;
}

const UNSUPPORTED_OPERATORS = new Set(['ne', 'gt', 'ge', 'lt', 'le', 'has', 'in', 'add', 'sub', 'mul', 'div', 'mod']);

/** Compiles a `$filter` into a predicate, or throws a 400 `invalidRequest` with target `$filter`. */
export function parseODataFilter(text: string): ReferralPredicate {
  if (text.length > MAX_FILTER_LENGTH) throw filterError(`longer than ${MAX_FILTER_LENGTH} characters.`);
  const tokens = tokenizeFilter(text);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const describe = (t: Token | undefined) => (t ? `'${t.text}' at position ${t.at}` : 'the end of the expression');

  const parseTerm = (): ReferralPredicate => {
    const token = peek();
    if (token?.kind === 'open') {
      position++;
      const inner = parseExpression();
      if (peek()?.kind !== 'close') throw filterError(`expected ')' but found ${describe(peek())}.`);
      position++;
      return inner;
    }
    if (token?.kind !== 'word') throw filterError(`expected a property name but found ${describe(token)}.`);
    if (token.text === 'not') throw filterError(`the operator 'not' is not supported.`);
    position++;
    if (peek()?.kind === 'open') throw filterError(`the function '${token.text}' is not supported.`);
    const property = FILTERABLE_PROPERTIES[token.text];
    if (!property) {
      throw filterError(
        `the property '${token.text}' cannot be filtered on. Supported: ${Object.keys(FILTERABLE_PROPERTIES).join(', ')}.`,
      );
    }
    const operator = peek();
    if (operator?.kind !== 'word' || operator.text !== 'eq') {
      if (operator?.kind === 'word' && UNSUPPORTED_OPERATORS.has(operator.text)) {
        throw filterError(`the operator '${operator.text}' is not supported; use 'eq'.`);
      }
      throw filterError(`expected 'eq' but found ${describe(operator)}.`);
    }
    position++;
    const literal = peek();
    if (literal?.kind !== 'string')
      throw filterError(`expected a quoted string literal but found ${describe(literal)}.`);
    position++;
    const expected = property.caseSensitive ? literal.text : literal.text.toLowerCase();
    return (referral) => {
      let value: unknown = referral;
      for (const segment of property.path)
        value = value && typeof value === 'object' ? (value as JsonObject)[segment] : undefined;
      if (typeof value !== 'string') return false;
      return (property.caseSensitive ? value : value.toLowerCase()) === expected;
    };
  };

  const parseExpression = (): ReferralPredicate => {
    const terms = [parseTerm()];
    for (;;) {
      const next = peek();
      if (next?.kind === 'word' && next.text === 'and') {
        position++;
        terms.push(parseTerm());
      } else if (next?.kind === 'word' && next.text === 'or') {
        throw filterError(`the operator 'or' is not supported; only 'and' joins conditions.`);
      } else {
        break;
      }
    }
    return terms.length === 1 ? terms[0] : (referral) => terms.every((term) => term(referral));
  };

  if (tokens.length === 0) throw filterError('the expression is empty.');
  const predicate = parseExpression();
  if (position < tokens.length) throw filterError(`unexpected ${describe(peek())}.`);
  return predicate;
}
