/**
 * "Did you mean" suggestions: the known name closest to what the caller wrote.
 *
 * A near spelling wins (edit distance of a typo, case ignored: `dealvalu` → `dealValue`); otherwise the
 * name sharing the most words wins (`closeDate` → `closingDateTime`: "clos…" and "date"). No suggestion
 * when nothing is close, so a wild guess is never offered.
 */

const MAX_INPUT_LENGTH = 64;

/** Words of known names, computed once per name (the candidates are the contract's own names and values). */
const KNOWN_WORDS = new Map<string, string[]>();
const MAX_CACHED_NAMES = 10_000;

function knownWords(name: string): string[] {
  let cached = KNOWN_WORDS.get(name);
  if (cached === undefined) {
    cached = words(name);
    if (KNOWN_WORDS.size < MAX_CACHED_NAMES) KNOWN_WORDS.set(name, cached);
  }
  return cached;
}

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i += 1;
  return i;
}

function wordsMatch(a: string, b: string): boolean {
  if (a === b) return true;
  const shorter = Math.min(a.length, b.length);
  return commonPrefixLength(a, b) >= Math.min(4, shorter) && shorter >= 3;
}

/** Levenshtein distance, stopping early once it exceeds `limit` (returns `limit + 1`). */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length];
}

/** Edits a typo may have: none for one or two characters (any two-letter code is one edit from dozens). */
function typoLimit(length: number): number {
  return length <= 2 ? 0 : length <= 4 ? 1 : length <= 8 ? 2 : 3;
}

/**
 * The candidate closest to `input`, or undefined when none is close. `normalise` maps both sides before
 * the edit-distance comparison (default: lower case).
 */
export function nearestName(
  input: string,
  candidates: Iterable<string>,
  normalise: (name: string) => string = (name) => name.toLowerCase(),
): string | undefined {
  if (input.length === 0 || input.length > MAX_INPUT_LENGTH) return undefined;
  const target = normalise(input);
  const inputWords = words(input);
  const limit = typoLimit(target.length);
  let best: { name: string; rank: number; score: number; distance: number; prefix: number } | undefined;
  for (const name of candidates) {
    const normalised = normalise(name);
    // Cheap first: a distance bounded by the typo limit stops early for most candidates.
    let distance = editDistance(target, normalised, limit);
    let rank: number;
    let score = 0;
    if (distance <= limit) {
      rank = 0;
    } else {
      const nameWords = knownWords(name);
      score = inputWords.filter((word) => nameWords.some((other) => wordsMatch(word, other))).length;
      if (score === 0) continue;
      rank = 1;
      distance = editDistance(target, normalised);
    }
    const prefix = commonPrefixLength(target, normalised);
    // Same rank: more shared words, then fewer edits, then a longer shared beginning (`USA` → `US`, not `SA`).
    const better =
      best === undefined ||
      rank < best.rank ||
      (rank === best.rank &&
        (score > best.score ||
          (score === best.score &&
            (distance < best.distance || (distance === best.distance && prefix > best.prefix)))));
    if (better) best = { name, rank, score, distance, prefix };
  }
  return best?.name;
}
