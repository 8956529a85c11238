/**
 * HTTP trigger route templates as the Functions host reads them (ASP.NET Core routing syntax):
 * literal segments (matched case-insensitively), parameters `{id}`, optional `{id?}`, defaults
 * `{id=5}`, constraints `{id:int}`, `{id:guid}`, `{name:alpha:minlength(2)}`, `{x:regex(^a+$)}`,
 * catch-all `{*rest}`, and complex segments `{name}.{ext}`. Route values are URL-decoded.
 */
import { LocalHostError } from './errors';

/** A compiled template. */
export interface CompiledRoute {
  /** The template as written (without leading/trailing slashes). */
  readonly template: string;
  /** Names of every parameter. */
  readonly parameterNames: readonly string[];
  /** ASP.NET-style precedence, one digit per segment; lower sorts first (literal before parameter). */
  readonly precedence: readonly number[];
  /** Route values when `pathSegments` (already split, not decoded) match; undefined otherwise. */
  match(pathSegments: readonly string[]): Record<string, string> | undefined;
}

type Constraint = (value: string) => boolean;

interface Parameter {
  kind: 'parameter';
  name: string;
  optional: boolean;
  defaultValue: string | undefined;
  catchAll: boolean;
  constraints: Constraint[];
}

interface Literal {
  kind: 'literal';
  /** Lower-cased text. */
  text: string;
}

type Part = Parameter | Literal;

interface Segment {
  parts: Part[];
  /** For complex segments (more than one part): the regex that splits the segment. */
  pattern: RegExp | undefined;
}

/** Compiles `template`; throws {@link LocalHostError} (`binding`) for a malformed template or unknown constraint. */
export function compileRoute(template: string): CompiledRoute {
  const cleaned = template.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const segments = cleaned === '' ? [] : cleaned.split('/').map((text) => parseSegment(text, template));
  const names: string[] = [];
  segments.forEach((segment, index) => {
    for (const part of segment.parts) {
      if (part.kind !== 'parameter') continue;
      if (names.includes(part.name.toLowerCase())) throw invalid(template, `parameter "${part.name}" appears twice`);
      names.push(part.name.toLowerCase());
      if (part.catchAll && index !== segments.length - 1)
        throw invalid(template, 'a catch-all parameter must be the last segment');
      if (
        (part.optional || part.catchAll) &&
        segment.parts.length > 1 &&
        part !== segment.parts[segment.parts.length - 1]
      ) {
        throw invalid(template, `optional parameter "${part.name}" must end its segment`);
      }
    }
  });
  const parameterNames = segments.flatMap((s) =>
    s.parts.filter((p): p is Parameter => p.kind === 'parameter').map((p) => p.name),
  );
  const precedence = segments.map(segmentPrecedence);

  return {
    template: cleaned,
    parameterNames,
    precedence,
    match(pathSegments) {
      const values: Record<string, string> = {};
      for (let index = 0; index < segments.length; index++) {
        const segment = segments[index];
        const first = segment.parts[0];
        if (first.kind === 'parameter' && first.catchAll) {
          const rest = pathSegments.slice(index);
          const raw = rest.join('/');
          if (raw === '') {
            if (first.defaultValue !== undefined) values[first.name] = first.defaultValue;
            return values;
          }
          const decoded = decode(raw);
          if (decoded === undefined || !first.constraints.every((c) => c(decoded))) return undefined;
          values[first.name] = decoded;
          return values;
        }
        const raw = pathSegments[index];
        if (raw === undefined) {
          // Missing trailing segments match only optional or defaulted single parameters.
          if (
            segment.parts.length !== 1 ||
            first.kind !== 'parameter' ||
            !(first.optional || first.defaultValue !== undefined)
          ) {
            return undefined;
          }
          if (first.defaultValue !== undefined) values[first.name] = first.defaultValue;
          continue;
        }
        if (!matchSegment(segment, raw, values)) return undefined;
      }
      return pathSegments.length > segments.length ? undefined : values;
    },
  };
}

/** Orders routes so the most specific template wins (ASP.NET route precedence), then by template text. */
export function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.min(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const diff = a.precedence[i] - b.precedence[i];
    if (diff !== 0) return diff;
  }
  if (a.precedence.length !== b.precedence.length) return b.precedence.length - a.precedence.length;
  return a.template.localeCompare(b.template);
}

function matchSegment(segment: Segment, raw: string, values: Record<string, string>): boolean {
  const decoded = decode(raw);
  if (decoded === undefined) return false;
  if (segment.parts.length === 1) {
    const part = segment.parts[0];
    if (part.kind === 'literal') return decoded.toLowerCase() === part.text;
    if (decoded === '') return false;
    if (!part.constraints.every((c) => c(decoded))) return false;
    values[part.name] = decoded;
    return true;
  }
  const match = segment.pattern!.exec(decoded);
  if (!match) return false;
  let group = 1;
  for (const part of segment.parts) {
    if (part.kind !== 'parameter') continue;
    const value = match[group++] ?? '';
    if (value === '') {
      if (part.defaultValue !== undefined) values[part.name] = part.defaultValue;
      else if (!part.optional) return false;
      continue;
    }
    if (!part.constraints.every((c) => c(value))) return false;
    values[part.name] = value;
  }
  return true;
}

function parseSegment(text: string, template: string): Segment {
  if (text === '') throw invalid(template, 'empty segment (//)');
  const parts: Part[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    if (open < 0) {
      parts.push({ kind: 'literal', text: rest.toLowerCase() });
      break;
    }
    if (open > 0) parts.push({ kind: 'literal', text: rest.slice(0, open).toLowerCase() });
    const close = findClosingBrace(rest, open);
    if (close < 0) throw invalid(template, `unclosed "{" in "${text}"`);
    parts.push(parseParameter(rest.slice(open + 1, close), template));
    rest = rest.slice(close + 1);
  }
  for (let i = 1; i < parts.length; i++) {
    if (parts[i].kind === 'parameter' && parts[i - 1].kind === 'parameter') {
      throw invalid(template, `two parameters without a literal between them in "${text}"`);
    }
  }
  let pattern: RegExp | undefined;
  if (parts.length > 1) {
    const lastParam = parts.map((p) => p.kind).lastIndexOf('parameter');
    const source = parts
      .map((part, index) =>
        part.kind === 'literal'
          ? escapeRegExp(part.text)
          : index === lastParam
            ? part.optional
              ? '(.*)'
              : '(.+)'
            : '(.+?)',
      )
      .join('');
    pattern = new RegExp(`^${source}$`, 'i');
  }
  return { parts, pattern };
}

/** The closing brace of the parameter opened at `open`, skipping parentheses (regex constraints). */
function findClosingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open + 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (ch === '}' && depth === 0) return i;
  }
  return -1;
}

function parseParameter(body: string, template: string): Parameter {
  let rest = body.trim();
  let catchAll = false;
  if (rest.startsWith('**')) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith('*')) {
    catchAll = true;
    rest = rest.slice(1);
  }
  const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
  if (!nameMatch) throw invalid(template, `parameter "{${body}}" has no valid name`);
  const name = nameMatch[0];
  rest = rest.slice(name.length);
  const constraints: Constraint[] = [];
  while (rest.startsWith(':')) {
    const { text, remaining } = readConstraint(rest.slice(1));
    constraints.push(buildConstraint(text, template));
    rest = remaining;
  }
  let optional = false;
  let defaultValue: string | undefined;
  if (rest.startsWith('=')) defaultValue = rest.slice(1);
  else if (rest === '?') optional = true;
  else if (rest !== '') throw invalid(template, `cannot read "{${body}}"`);
  if (optional && defaultValue !== undefined)
    throw invalid(template, `"{${body}}" cannot be optional and have a default`);
  return { kind: 'parameter', name, optional: optional || catchAll, defaultValue, catchAll, constraints };
}

/** Reads one constraint up to the next top-level `:`, `=` or a trailing `?`. */
function readConstraint(text: string): { text: string; remaining: string } {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && (ch === ':' || ch === '=' || (ch === '?' && i === text.length - 1))) {
      return { text: text.slice(0, i), remaining: text.slice(i) };
    }
  }
  return { text, remaining: '' };
}

const GUID = /^(?:\{)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?:\})?$/i;

function buildConstraint(text: string, template: string): Constraint {
  const match = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(text);
  if (!match) throw invalid(template, `cannot read constraint "${text}"`);
  const name = match[1].toLowerCase();
  const arg = match[2];
  const numbers = (count: number): number[] => {
    const values = (arg ?? '').split(',').map((v) => Number(v.trim()));
    if (values.length !== count || values.some((v) => !Number.isFinite(v))) {
      throw invalid(template, `constraint "${text}" needs ${count} number(s)`);
    }
    return values;
  };
  const integer =
    (min: bigint, max: bigint): Constraint =>
    (v) => {
      if (!/^[-+]?\d+$/.test(v)) return false;
      const n = BigInt(v);
      return n >= min && n <= max;
    };
  const numeric: Constraint = (v) => v.trim() !== '' && Number.isFinite(Number(v));
  switch (name) {
    case 'int':
      return integer(-(2n ** 31n), 2n ** 31n - 1n);
    case 'long':
      return integer(-(2n ** 63n), 2n ** 63n - 1n);
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'decimal':
    case 'double':
    case 'float':
      return numeric;
    case 'guid':
      return (v) => GUID.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'required':
      return (v) => v !== '';
    case 'minlength': {
      const [min] = numbers(1);
      return (v) => v.length >= min;
    }
    case 'maxlength': {
      const [max] = numbers(1);
      return (v) => v.length <= max;
    }
    case 'length': {
      const values = (arg ?? '').includes(',') ? numbers(2) : numbers(1);
      const [min, max] = values.length === 2 ? values : [values[0], values[0]];
      return (v) => v.length >= min && v.length <= max;
    }
    case 'min': {
      const [min] = numbers(1);
      return (v) => /^[-+]?\d+$/.test(v) && Number(v) >= min;
    }
    case 'max': {
      const [max] = numbers(1);
      return (v) => /^[-+]?\d+$/.test(v) && Number(v) <= max;
    }
    case 'range': {
      const [min, max] = numbers(2);
      return (v) => /^[-+]?\d+$/.test(v) && Number(v) >= min && Number(v) <= max;
    }
    case 'regex': {
      if (arg === undefined) throw invalid(template, 'regex constraint needs a pattern');
      let regex: RegExp;
      try {
        // Braces inside a template are escaped by doubling them: `{{2}}` is the quantifier `{2}`.
        regex = new RegExp(arg.replace(/\{\{/g, '{').replace(/\}\}/g, '}'), 'i');
      } catch (error) {
        throw invalid(template, `regex constraint "${arg}" is not a valid pattern: ${(error as Error).message}`);
      }
      return (v) => regex.test(v);
    }
    default:
      throw invalid(template, `unknown route constraint "${name}"`);
  }
}

function segmentPrecedence(segment: Segment): number {
  if (segment.parts.length > 1) return 2;
  const part = segment.parts[0];
  if (part.kind === 'literal') return 1;
  if (part.catchAll) return 5;
  return part.constraints.length > 0 ? 3 : 4;
}

function decode(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function invalid(template: string, problem: string): LocalHostError {
  return new LocalHostError(`Invalid route template "${template}": ${problem}`, { code: 'binding', subject: template });
}
