import { ReferralContractError } from './errors';

/** Longest string the enum lookup looks at; longer values cannot be an enum value and are left for zod to reject. */
const MAX_ENUM_INPUT_LENGTH = 128;

/**
 * The comparison key of an enum value: lower case, letters and digits only. So `external`, `EXTERNAL`,
 * `Presales envisioning`, `presales-envisioning` and `PresalesEnvisioning` all compare equal.
 */
export function enumKey(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Maps any spelling of an enum value (see {@link enumKey}) to its documented spelling. */
export interface EnumLookup {
  /** The documented values, in documented order. */
  readonly values: readonly string[];
  /** The documented spelling of `input`, or undefined when it is no value of the enum. */
  resolve(input: string): string | undefined;
}

/**
 * Builds the lookup of one enum, once. Throws {@link ReferralContractError} when two values share a
 * comparison key (the enum would be ambiguous), so a bad data file fails at start-up, not per request.
 */
export function createEnumLookup(values: readonly string[], subject: string): EnumLookup {
  const exact = new Map<string, string>();
  const byKey = new Map<string, string>();
  for (const value of values) {
    const key = enumKey(value);
    const existing = byKey.get(key);
    if (key === '' || existing !== undefined) {
      throw new ReferralContractError(
        `Enum ${subject}: "${value}" is empty or collides with "${existing}" once case and separators are ignored.`,
        {
          subject: `enum:${subject}`,
        },
      );
    }
    exact.set(value, value);
    byKey.set(key, value);
  }
  return {
    values,
    resolve(input: string): string | undefined {
      const hit = exact.get(input);
      if (hit !== undefined) return hit;
      if (input.length > MAX_ENUM_INPUT_LENGTH) return undefined;
      return byKey.get(enumKey(input));
    },
  };
}
