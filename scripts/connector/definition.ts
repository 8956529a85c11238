/**
 * The Power Automate custom connector as objects: apiDefinition.swagger.json (Swagger 2.0: info, host,
 * the operations of operations.ts, the definitions of definitions.ts, the function-key security) and
 * apiProperties.json (the connection parameter and publisher).
 *
 * ```
 * referralRequestSchema ─ z.toJSONSchema(draft-4, io input) ──┐
 * referralSchema ─────── z.toJSONSchema(draft-4, io output) ──┼─► toSwaggerSchema (Swagger 2.0 subset:
 * trackingViewSchema (schemas.ts, checked against TrackingView)┘    no oneOf/anyOf/const/null, x-ms-*)
 *                                                                  └─► definitions + 5 operations
 * ```
 */
import { connectorDefinitions } from './definitions';
import { connectorPaths } from './operations';

/** Placeholder host of the committed definition (changed on import, or with `--host`). */
export const PLACEHOLDER_HOST = 'your-function-app.azurewebsites.net';

/** Options of {@link buildConnector}. */
export interface BuildConnectorOptions {
  /** @default {@link PLACEHOLDER_HOST} */
  host?: string;
}

/** The two connector files as objects. */
export interface ConnectorDefinition {
  apiDefinition: Record<string, unknown>;
  apiProperties: Record<string, unknown>;
}

/** Builds the connector definition (apiDefinition.swagger.json) and properties (apiProperties.json). */
export function buildConnector(options: BuildConnectorOptions = {}): ConnectorDefinition {
  const definitions = connectorDefinitions();
  const paths = connectorPaths();

  const apiDefinition = {
    swagger: '2.0',
    info: {
      title: 'Co-sell Referral Bridge',
      description:
        'Create Microsoft Partner Center co-sell referrals from your flows through your own co-sell referral bridge: validated before they leave, never lost, never duplicated, and linked to a Microsoft referral for CoSell deals.',
      version: '1.0',
    },
    host: options.host ?? PLACEHOLDER_HOST,
    basePath: '/api',
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json', 'application/problem+json'],
    paths,
    definitions,
    parameters: {},
    responses: {},
    securityDefinitions: {
      api_key: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
    },
    security: [{ api_key: [] }],
    tags: [],
  };

  const apiProperties = {
    properties: {
      connectionParameters: {
        api_key: {
          type: 'securestring',
          uiDefinition: {
            displayName: 'Function key',
            description: 'A function key of your co-sell referral bridge (sent as the x-functions-key header).',
            tooltip: 'Azure portal: your function app > App keys (or Functions > Function Keys).',
            constraints: { tabIndex: 2, clearText: false, required: 'true' },
          },
        },
      },
      iconBrandColor: '#0078d4',
      capabilities: [],
      publisher: 'Co-sell referral bridge',
      stackOwner: 'Co-sell referral bridge',
      policyTemplateInstances: [],
    },
  };
  return { apiDefinition, apiProperties };
}
