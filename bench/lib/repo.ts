/**
 * Where the repository is (from bench/lib in the sources or dist/bench/lib in the build), and the
 * request bodies of examples/ turned into unique deals.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest folder above `start` holding package.json. */
export function repoRoot(start: string = __dirname): string {
  let dir = start;
  for (let i = 0; i < 12; i += 1) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'examples'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`No repository root (package.json and examples/) above ${start}`);
}

/** A fresh copy of examples/<name> parsed as JSON. */
export function exampleBody(name: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(repoRoot(), 'examples', name), 'utf8')) as Record<string, any>;
}

/** The three deal types of the mix. */
export type DealType = 'CoSell' | 'PartnerLed' | 'Private';

const EXAMPLE_OF: Record<DealType, string> = {
  CoSell: 'cosell-deal.json',
  PartnerLed: 'partner-led-deal.json',
  Private: 'private-deal.json',
};

const cache = new Map<DealType, Record<string, any>>();

/**
 * A deal of `dealType` from examples/, made unique by `tag`: its own name and `externalReferenceId`
 * (so each deal has its own tracking record and Partner Center referral).
 */
export function uniqueDeal(dealType: DealType, tag: string): Record<string, any> {
  if (!cache.has(dealType)) cache.set(dealType, exampleBody(EXAMPLE_OF[dealType]));
  const copy = structuredClone(cache.get(dealType)!);
  copy.name = `${String(copy.name)} ${tag}`;
  copy.externalReferenceId = `bench-${tag}`;
  return copy;
}

/**
 * The deal types of a mix of `count` referrals, interleaved so the load stays even: half CoSell
 * (even positions), the rest alternating PartnerLed and Private.
 */
export function dealMix(count: number): DealType[] {
  return Array.from({ length: count }, (_, i) => (i % 2 === 0 ? 'CoSell' : i % 4 === 1 ? 'PartnerLed' : 'Private'));
}
