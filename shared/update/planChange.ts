/**
 * The pure core of a change: from the normalised merge patch, what Partner Center holds now and what the
 * change was based on, either a refusal (terminal state, a rule of changeRules.ts, a conflict) or the JSON
 * Patch to send. No I/O; the use case (referralUpdates.ts) reads, writes and loops around it.
 *
 * ```
 * terminal held state ──────────────────────────────► terminal  (409 #terminal-state)
 * status move / sharing against the held referral ──► refused   (400, a pointer per field)
 * a field held ≠ base and held ≠ ours ──────────────► conflict  (409 #conflict: base, theirs, ours)
 * else: `replace` (or `add`) of each value that differs, `add /team/-` per member not on the team
 * ```
 */
import type { ReferralPatchOperation, PartnerCenterReferral } from '../partner-center/types';
import {
  CHANGEABLE_FIELDS,
  ChangeKind,
  isTerminal,
  plannedStatus,
  sharingErrors,
  statusLabel,
  type ChangeRuleError,
  type ChangeableField,
} from '../referral/changeRules';
import type { ReferralChanges } from '../referral/changeSchema';
import { toJsonPointer } from '../referral/problem';
import type { PartnerReferralSnapshot } from '../tracking/trackingRecord';
import type { ChangeBase } from './changeRecord';

/** One field both sides changed: what the change was based on, what Partner Center holds, what we asked for. */
export interface FieldConflict {
  /** Canonical path. */
  path: readonly string[];
  base: unknown;
  theirs: unknown;
  ours: unknown;
}

/** What {@link planChange} decided. */
export type ChangePlan =
  | { kind: 'terminal'; state: string }
  | { kind: 'refused'; errors: ChangeRuleError[] }
  | { kind: 'conflict'; conflicts: FieldConflict[] }
  | { kind: 'patch'; operations: ReferralPatchOperation[] };

/** A changed field with the value the change asks for (status pairs completed). */
interface Wanted {
  field: ChangeableField;
  value: unknown;
}

/** The canonical pointers a change touches (`/details/dealValue`, `/team`, ...). */
export function changedPointers(changes: ReferralChanges): string[] {
  return CHANGEABLE_FIELDS.filter((field) => valueAt(changes, field.path) !== undefined).map((field) =>
    toJsonPointer(field.path),
  );
}

/**
 * The base of a change: per field it sets, the record's last known snapshot value where the snapshot keeps
 * the field, else what Partner Center holds now (`held`). Taken once, when the change first runs.
 */
export function captureBase(
  changes: ReferralChanges,
  snapshot: PartnerReferralSnapshot | undefined,
  held: PartnerCenterReferral,
): ChangeBase {
  const base: ChangeBase = {};
  const touchesStatus = changes.status !== undefined || changes.substatus !== undefined;
  for (const field of CHANGEABLE_FIELDS) {
    if (field.kind !== ChangeKind.Value) continue;
    const statusField = field.path[0] === 'status' || field.path[0] === 'substatus';
    if (valueAt(changes, field.path) === undefined && !(statusField && touchesStatus)) continue;
    const pointer = toJsonPointer(field.path);
    base[pointer] =
      snapshot && field.snapshotField ? (snapshot[field.snapshotField] ?? null) : (valueAt(held, field.path) ?? null);
  }
  return base;
}

/** Decides what to do with `changes` on the referral as Partner Center holds it (`held`), given `base`. */
export function planChange(changes: ReferralChanges, held: PartnerCenterReferral, base: ChangeBase): ChangePlan {
  const heldStatus = { status: text(held.status), substatus: text(held.substatus) };
  if (isTerminal(heldStatus)) return { kind: 'terminal', state: statusLabel(heldStatus) };
  const status = plannedStatus(heldStatus, { status: changes.status, substatus: changes.substatus });
  const consent = isRecord(held.consent) ? held.consent : {};
  const errors = [
    ...status.errors,
    ...sharingErrors(
      { type: held.type, shared: consent.consentToShareReferralWithMicrosoftSellers },
      { type: changes.type, shared: changes.consent?.consentToShareReferralWithMicrosoftSellers },
    ),
  ];
  if (errors.length > 0) return { kind: 'refused', errors };

  const wanted: Wanted[] = [];
  for (const field of CHANGEABLE_FIELDS) {
    if (field.kind !== ChangeKind.Value) continue;
    const head = field.path[0];
    const value =
      head === 'status'
        ? status.target?.status
        : head === 'substatus'
          ? status.target?.substatus
          : valueAt(changes, field.path);
    if (value !== undefined) wanted.push({ field, value });
  }
  const conflicts: FieldConflict[] = [];
  for (const { field, value } of wanted) {
    const pointer = toJsonPointer(field.path);
    const theirs = valueAt(held, field.path);
    if (!Object.hasOwn(base, pointer)) continue;
    if (!sameValue(theirs, base[pointer]) && !sameValue(theirs, value))
      conflicts.push({ path: field.path, base: base[pointer] ?? null, theirs: theirs ?? null, ours: value });
  }
  if (conflicts.length > 0) return { kind: 'conflict', conflicts };

  const operations: ReferralPatchOperation[] = [];
  const statusMoves = wanted.some(
    ({ field, value }) =>
      (field.path[0] === 'status' || field.path[0] === 'substatus') && !sameValue(valueAt(held, field.path), value),
  );
  for (const { field, value } of wanted) {
    const isStatus = field.path[0] === 'status' || field.path[0] === 'substatus';
    if (isStatus ? !statusMoves : sameValue(valueAt(held, field.path), value)) continue;
    operations.push({ op: hasValue(held, field.path) ? 'replace' : 'add', path: toJsonPointer(field.path), value });
  }
  operations.push(...teamOperations(changes.team, held.team));
  return { kind: 'patch', operations };
}

/** `add /team/-` for each member whose e-mail (any case) is not on the held team yet. */
function teamOperations(members: ReferralChanges['team'], heldTeam: unknown): ReferralPatchOperation[] {
  if (!members || members.length === 0) return [];
  const team = Array.isArray(heldTeam) ? heldTeam : undefined;
  const present = new Set(
    (team ?? []).flatMap((member: unknown) =>
      isRecord(member) && typeof member.email === 'string' ? [member.email.toLowerCase()] : [],
    ),
  );
  const added = members.filter((member) => !present.has(member.email.toLowerCase()));
  if (added.length === 0) return [];
  if (!team) return [{ op: 'add', path: '/team', value: added }];
  return added.map((member) => ({ op: 'add', path: '/team/-', value: member }));
}

/** The value at a canonical path of a JSON object (keys matched exactly, then in any case). */
export function valueAt(node: unknown, path: readonly string[]): unknown {
  let current: unknown = node;
  for (const segment of path) {
    if (!isRecord(current)) return undefined;
    const key = Object.hasOwn(current, segment)
      ? segment
      : Object.keys(current).find((candidate) => candidate.toLowerCase() === segment.toLowerCase());
    current = key === undefined ? undefined : current[key];
  }
  return current;
}

function hasValue(node: unknown, path: readonly string[]): boolean {
  const parent = valueAt(node, path.slice(0, -1));
  return (
    isRecord(parent) && Object.keys(parent).some((key) => key.toLowerCase() === path[path.length - 1].toLowerCase())
  );
}

/** Equal as Partner Center values: null/undefined/"" are one absence; ISO date-times compare as instants. */
export function sameValue(a: unknown, b: unknown): boolean {
  const absent = (value: unknown) => value === undefined || value === null || value === '';
  if (absent(a) || absent(b)) return absent(a) && absent(b);
  if (
    typeof a === 'string' &&
    typeof b === 'string' &&
    a !== b &&
    /^\d{4}-\d\d-\d\dT/.test(a) &&
    /^\d{4}-\d\d-\d\dT/.test(b)
  ) {
    const [x, y] = [Date.parse(a), Date.parse(b)];
    return Number.isFinite(x) && x === y;
  }
  return a === b;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
