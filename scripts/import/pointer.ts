/**
 * RFC 6901 JSON pointers as the mapping uses them: parse, build a body by setting values at pointers,
 * read a value at a pointer, and relate two pointers (one inside the other).
 */

/** Keys a pointer may never name (they would reach Object.prototype). */
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The segments of a pointer (`/details/dealValue` → `['details', 'dealValue']`); undefined when malformed. */
export function parsePointer(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  const segments = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return segments.some((s) => FORBIDDEN_SEGMENTS.has(s) || s === '') ? undefined : segments;
}

const isIndex = (segment: string) => /^(0|[1-9][0-9]{0,3})$/.test(segment);

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

/**
 * Sets `value` at `segments` inside `target`, creating objects (or arrays, for a numeric next segment)
 * on the way. An existing non-container value on the way is replaced.
 */
export function setAtPointer(target: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node: Record<string, unknown> | unknown[] = target;
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    const key: string | number = Array.isArray(node) && isIndex(segment) ? Number(segment) : segment;
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[key] = value;
      return;
    }
    const next: unknown = container[key];
    if (isContainer(next)) {
      node = next;
      return;
    }
    const created: Record<string, unknown> | unknown[] = isIndex(segments[i + 1]) ? [] : {};
    container[key] = created;
    node = created;
  });
}

/** The value at `segments` inside `source`, matching object keys without regard to case; undefined when absent. */
export function getAtPointer(source: unknown, segments: readonly string[]): unknown {
  let node: unknown = source;
  for (const segment of segments) {
    if (Array.isArray(node)) {
      node = isIndex(segment) ? node[Number(segment)] : undefined;
    } else if (isContainer(node)) {
      const record = node as Record<string, unknown>;
      const key = Object.hasOwn(record, segment)
        ? segment
        : Object.keys(record).find((k) => k.toLowerCase() === segment.toLowerCase());
      node = key === undefined ? undefined : record[key];
    } else {
      return undefined;
    }
  }
  return node;
}

/** True when `inner` is `outer` or lies inside it (`/details/dealValue` inside `/details`); case-insensitive. */
export function isWithin(inner: string, outer: string): boolean {
  const a = inner.toLowerCase();
  const b = outer.toLowerCase();
  return a === b || b === '' || a.startsWith(`${b}/`);
}
