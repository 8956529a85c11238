/**
 * OData helpers for `$filter` expressions.
 */

/** Quotes a value as an OData string literal: `O'Brien` → `'O''Brien'`. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `field eq 'value'` with the value escaped. */
export function odataEquals(field: string, value: string): string {
  if (!/^[A-Za-z][A-Za-z0-9/]*$/.test(field)) throw new RangeError(`Not an OData property path: ${field}`);
  return `${field} eq ${odataString(value)}`;
}
