/**
 * Writes a JSONL file of N unique referral request bodies for `npm run import` (the deal mix of
 * bench:pipeline: half CoSell, the rest PartnerLed and Private), so no large file is committed.
 *
 * `npm run build && node dist/bench/importRows.js --rows 1000 --out /tmp/pipeline.jsonl [--tag T]`
 * then `npm run import -- /tmp/pipeline.jsonl --url <functions URL of .sandbox/endpoints.json>`.
 */
import { writeFileSync } from 'node:fs';
import { parseOptions, runBenchmark } from './lib/args';
import { dealMix, uniqueDeal } from './lib/repo';

/** N request bodies as JSONL text; `tag` makes names and externalReferenceIds unique across runs. */
export function importRowsJsonl(rows: number, tag: string): string {
  return `${dealMix(rows)
    .map((dealType, i) => JSON.stringify(uniqueDeal(dealType, `${tag}-${i + 1}`)))
    .join('\n')}\n`;
}

if (require.main === module) {
  runBenchmark(async () => {
    const options = parseOptions({
      rows: { kind: 'number', default: 1000, min: 1 },
      out: { kind: 'string', default: 'import-rows.jsonl' },
      tag: { kind: 'string', default: `import-${Date.now()}` },
    });
    writeFileSync(options.out, importRowsJsonl(options.rows, options.tag), 'utf8');
    console.log(`${options.rows} rows written to ${options.out}`);
    await Promise.resolve();
  });
}
