/**
 * Canonical JSON: object keys sorted at every depth (by UTF-16 code units), no whitespace, `undefined`
 * properties left out and `undefined` array items written as null. Two requests that differ only in key
 * order or spacing have the same canonical text (and so the same request hash).
 *
 * Written as plain loops: it runs on every submitted request (the request hash).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out += (i === 0 ? '' : ',') + canonicalJson(item === undefined ? null : item);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const inner = record[key];
    if (inner === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(inner);
    first = false;
  }
  return `${out}}`;
}
