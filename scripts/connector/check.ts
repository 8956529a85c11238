/**
 * The check `npm run connector` makes before it writes anything: `@apidevtools/swagger-parser` on the
 * definition. The Power Platform rules on top (1 MB limit, titles, visibility, ...) are checked by
 * test/unit/connector/swagger2.ts, with the same {@link SWAGGER_PARSER_OPTIONS}.
 */
import type SwaggerParserModule from '@apidevtools/swagger-parser';
import { lazyModule } from '../../shared/platform/lazy';

/** The Swagger 2.0 validator, loaded when a definition is checked (not by the tests that import this file). */
const swaggerParser = lazyModule<typeof SwaggerParserModule>(require, '@apidevtools/swagger-parser');

/** How the definition is validated: local `$ref`s only, nothing is fetched. */
export const SWAGGER_PARSER_OPTIONS = { resolve: { external: false } } as const;

/**
 * What `@apidevtools/swagger-parser` says of `definition` (a copy: the parser dereferences in place):
 * the Swagger 2.0 JSON schema, every `$ref` resolving (local only, never fetched), and the spec rules
 * the schema cannot express (unique operationIds, path template variables, one body parameter, ...).
 * Empty when valid; the parser stops at its first spec error, so this holds one message or none.
 */
export async function checkSwaggerDefinition(definition: object): Promise<string[]> {
  const parser = swaggerParser();
  try {
    await parser.validate(structuredClone(definition) as SwaggerParserModule['api'], SWAGGER_PARSER_OPTIONS);
    return [];
  } catch (error) {
    return [`swagger-parser: ${error instanceof Error ? error.message : String(error)}`];
  }
}
