/**
 * `npm run connector` (node dist/scripts/generate-connector.js): writes the Power Automate custom
 * connector, connector/apiDefinition.swagger.json and connector/apiProperties.json, from the zod
 * contract in shared/referral, so the connector cannot drift from what the API accepts.
 * test/unit/connector/connector.test.ts regenerates both in memory and fails on any difference.
 *
 * The work is in scripts/connector/: swaggerSchema.ts (zod's JSON Schema → the Swagger 2.0 subset),
 * wording.ts (titles, descriptions, visibility), schemas.ts (tracking view, problem, co-sell upgrade),
 * definitions.ts and operations.ts (the definition's `definitions` and `paths`), definition.ts
 * (buildConnector), files.ts (the files' text and place) and check.ts (swagger-parser).
 *
 * Usage: node dist/scripts/generate-connector.js [--host <app>.azurewebsites.net] [--out <dir>]
 * (`--host` writes a copy for your own function app; the committed files keep the placeholder host,
 * which the import lets you change on the General tab.) Nothing is written unless the definition passes
 * `@apidevtools/swagger-parser` ({@link checkSwaggerDefinition}); the Power Platform rules on top are
 * checked by test/unit/connector/swagger2.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkSwaggerDefinition } from './connector/check';
import { CONNECTOR_FILES, connectorDirectory, connectorFileTexts } from './connector/files';

async function main(argv: readonly string[]): Promise<number> {
  const option = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const host = option('--host');
  const out = option('--out') ?? connectorDirectory();
  const texts = connectorFileTexts(host ? { host } : {});
  const problems = await checkSwaggerDefinition(JSON.parse(texts.apiDefinition) as object);
  if (problems.length > 0) {
    for (const problem of problems) console.error(problem);
    console.error('The connector definition is not valid Swagger 2.0: nothing was written.');
    return 1;
  }
  mkdirSync(out, { recursive: true });
  for (const [key, file] of Object.entries(CONNECTOR_FILES) as Array<[keyof typeof CONNECTOR_FILES, string]>) {
    writeFileSync(path.join(out, file), texts[key]);
    console.log(`Wrote ${path.join(out, file)} (${Buffer.byteLength(texts[key])} bytes)`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
