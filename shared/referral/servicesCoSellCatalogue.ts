import { z } from 'zod';
import catalogueData from './services-co-sell-catalogue.json';
import { enumKey } from './enumLookup';
import { ReferralContractError } from './errors';

/** One solution area and the solution plays it offers. */
export interface SolutionAreaEntry {
  name: string;
  solutionPlays: readonly string[];
}

/** The Services co-sell taxonomy (services-co-sell-catalogue.json). */
export interface ServicesCoSellCatalogue {
  fiscalYear: string;
  solutionAreas: readonly SolutionAreaEntry[];
}

const catalogueSchema = z.object({
  fiscalYear: z.string().min(1),
  solutionAreas: z
    .array(z.object({ name: z.string().min(1).max(256), solutionPlays: z.array(z.string().min(1).max(256)).min(1) }))
    .min(1),
});

function loadCatalogue(data: unknown): ServicesCoSellCatalogue {
  const parsed = catalogueSchema.safeParse(data);
  if (!parsed.success) {
    throw new ReferralContractError(
      'services-co-sell-catalogue.json is malformed: expected { fiscalYear, solutionAreas: [{ name, solutionPlays[] }] }.',
      {
        subject: 'services-co-sell-catalogue',
        cause: parsed.error,
      },
    );
  }
  const seen = new Set<string>();
  for (const area of parsed.data.solutionAreas) {
    const key = enumKey(area.name);
    if (seen.has(key)) {
      throw new ReferralContractError(`services-co-sell-catalogue.json lists solution area "${area.name}" twice.`, {
        subject: 'services-co-sell-catalogue',
      });
    }
    seen.add(key);
  }
  return parsed.data;
}

/**
 * The Services co-sell catalogue, read once from services-co-sell-catalogue.json. Next year's taxonomy is
 * a change of that file only. A malformed file throws {@link ReferralContractError} at module load.
 */
export const SERVICES_CO_SELL_CATALOGUE: ServicesCoSellCatalogue = loadCatalogue(catalogueData);

/** Every solution area of the catalogue, in catalogue order. */
export const SOLUTION_AREAS: readonly string[] = SERVICES_CO_SELL_CATALOGUE.solutionAreas.map((area) => area.name);

/** Every solution play of the catalogue, once each (a play can belong to several areas). */
export const SOLUTION_PLAYS: readonly string[] = [
  ...new Set(SERVICES_CO_SELL_CATALOGUE.solutionAreas.flatMap((area) => area.solutionPlays)),
];

const PLAYS_BY_AREA = new Map<string, ReadonlySet<string>>(
  SERVICES_CO_SELL_CATALOGUE.solutionAreas.map((area) => [area.name, new Set(area.solutionPlays)]),
);

/** The solution plays of `solutionArea` (documented spelling), or an empty list for an unknown area. */
export function solutionPlaysOf(solutionArea: string): readonly string[] {
  return [...(PLAYS_BY_AREA.get(solutionArea) ?? [])];
}

/** True when the catalogue pairs `solutionArea` with `solutionPlay` (both in their documented spelling). */
export function isCataloguePair(solutionArea: string, solutionPlay: string): boolean {
  return PLAYS_BY_AREA.get(solutionArea)?.has(solutionPlay) ?? false;
}
