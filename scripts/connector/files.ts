/** The connector's files: their names in connector/, their exact text, and where connector/ is. */
import path from 'node:path';
import { type BuildConnectorOptions, buildConnector } from './definition';

/** File names inside connector/. */
export const CONNECTOR_FILES = {
  apiDefinition: 'apiDefinition.swagger.json',
  apiProperties: 'apiProperties.json',
} as const;

/** The two files' exact text (2-space JSON, final newline), as committed in connector/. */
export function connectorFileTexts(options: BuildConnectorOptions = {}): Record<keyof typeof CONNECTOR_FILES, string> {
  const { apiDefinition, apiProperties } = buildConnector(options);
  return {
    apiDefinition: `${JSON.stringify(apiDefinition, null, 2)}\n`,
    apiProperties: `${JSON.stringify(apiProperties, null, 2)}\n`,
  };
}

/** The connector/ folder of this repository (from scripts/connector/ in the sources or under dist/). */
export function connectorDirectory(): string {
  const repositoryOrDist = path.resolve(__dirname, '..', '..');
  const up = path.basename(repositoryOrDist) === 'dist' ? ['..', '..', '..'] : ['..', '..'];
  return path.resolve(__dirname, ...up, 'connector');
}
