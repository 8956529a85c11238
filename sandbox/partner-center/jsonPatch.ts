/**
 * JSON Patch (RFC 6902) as the referrals PATCH documents it: only `add` and `replace`. Paths are
 * RFC 6901 pointers; object keys match case-insensitively (like the rest of the referral contract).
 */
import { invalidRequest } from './errors';
import { isObject, type JsonObject } from './referralRules';

/** Top-level fields a patch may not touch. */
const READ_ONLY = new Set([
  'id',
  'engagementId',
  'organizationId',
  'organizationName',
  'createdDateTime',
  'updatedDateTime',
  'acceptedDateTime',
  'closedDateTime',
  'eTag',
  'links',
  'direction',
]);

/** Largest number of operations in one patch. */
export const MAX_PATCH_OPERATIONS = 100;

function parsePointer(path: string, target: string): string[] {
  if (!path.startsWith('/'))
    throw invalidRequest(`The path '${path}' is not a JSON pointer (it must start with '/').`, target);
  return path
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function resolveKey(obj: JsonObject, key: string): string {
  if (key in obj) return key;
  const lower = key.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower) ?? key;
}

/**
 * Applies `operations` to a copy of `document` and returns it; throws a 400 `invalidRequest` for a
 * malformed patch, an unsupported op, a read-only field or a path that does not exist.
 */
export function applyJsonPatch(document: JsonObject, operations: unknown): JsonObject {
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidRequest('The request body must be a non-empty JSON Patch array of operations.', 'body');
  }
  if (operations.length > MAX_PATCH_OPERATIONS)
    throw invalidRequest(`A patch may hold at most ${MAX_PATCH_OPERATIONS} operations.`, 'body');
  const result = structuredClone(document);
  operations.forEach((operation: unknown, index) => {
    const target = `[${index}]`;
    if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw invalidRequest('Each operation needs a string "op" and a string "path".', target);
    }
    const { op, path } = operation;
    if (op !== 'add' && op !== 'replace') {
      throw invalidRequest(`The operation '${op}' is not supported: only 'add' and 'replace' are.`, `${target}.op`);
    }
    if (!('value' in operation)) throw invalidRequest(`The '${op}' operation needs a "value".`, `${target}.value`);
    const segments = parsePointer(path, `${target}.path`);
    if (segments.length === 0 || segments[0] === '')
      throw invalidRequest('The whole document cannot be replaced by a patch.', `${target}.path`);
    const root = segments[0].toLowerCase();
    if ([...READ_ONLY].some((field) => field.toLowerCase() === root)) {
      throw invalidRequest(`The field '${segments[0]}' is read-only.`, path);
    }
    let parent: unknown = result;
    for (const segment of segments.slice(0, -1)) {
      if (Array.isArray(parent)) {
        const i = Number(segment);
        if (!Number.isInteger(i) || i < 0 || i >= parent.length)
          throw invalidRequest(`The path '${path}' does not exist.`, path);
        parent = parent[i];
      } else if (isObject(parent)) {
        const key = resolveKey(parent, segment);
        if (!(key in parent)) throw invalidRequest(`The path '${path}' does not exist.`, path);
        parent = parent[key];
      } else {
        throw invalidRequest(`The path '${path}' does not exist.`, path);
      }
    }
    const last = segments[segments.length - 1];
    const value = structuredClone(operation.value);
    if (Array.isArray(parent)) {
      if (op === 'add' && last === '-') {
        parent.push(value);
        return;
      }
      const i = Number(last);
      const limit = op === 'add' ? parent.length : parent.length - 1;
      if (!Number.isInteger(i) || i < 0 || i > limit) throw invalidRequest(`The path '${path}' does not exist.`, path);
      if (op === 'add') parent.splice(i, 0, value);
      else parent[i] = value;
    } else if (isObject(parent)) {
      const key = resolveKey(parent, last);
      if (op === 'replace' && !(key in parent))
        throw invalidRequest(`The path '${path}' does not exist (replace needs an existing value).`, path);
      parent[key] = value;
    } else {
      throw invalidRequest(`The path '${path}' does not exist.`, path);
    }
  });
  return result;
}
