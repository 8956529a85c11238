/**
 * Starts the Entra stand-in alone: `node dist/sandbox/entra/main.js --port 7082`.
 *
 * Options: `--port N` (default 0: a free port), `--tenant ID`, `--client ID:SECRET` (repeatable;
 * default `sandbox-client:sandbox-secret`), `--ca-path FILE` (where the CA PEM goes, default
 * `.sandbox/entra-ca.pem`), `--token-lifetime SECONDS`, `--user UPN`, `--seed N`, `--faults JSON`.
 */
import { parseArgs } from 'node:util';
import { closeOnSignal, parseFaultConfig } from '../http-util';
import { createSandboxTls } from '../tls';
import { startEntra } from './server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      tenant: { type: 'string' },
      client: { type: 'string', multiple: true },
      'ca-path': { type: 'string', default: '.sandbox/entra-ca.pem' },
      'token-lifetime': { type: 'string' },
      user: { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
    },
  });
  const clients = (values.client ?? ['sandbox-client:sandbox-secret']).map((pair) => {
    const [clientId, ...secret] = pair.split(':');
    if (!clientId || secret.length === 0) throw new Error(`--client takes ID:SECRET, got ${pair}`);
    return { clientId, clientSecret: secret.join(':') };
  });
  const tls = await createSandboxTls({ caPath: values['ca-path'] });
  const entra = await startEntra({
    tls,
    port: Number(values.port),
    tenantId: values.tenant,
    clients,
    accessTokenLifetimeSeconds: values['token-lifetime'] ? Number(values['token-lifetime']) : undefined,
    defaultUser: values.user,
    seed: values.seed ? Number(values.seed) : undefined,
    faults: values.faults ? parseFaultConfig(JSON.parse(values.faults)) : undefined,
  });
  console.log(entra.url);
  console.log(`Entra stand-in: tenant ${entra.tenantId}, clients ${clients.map((c) => c.clientId).join(', ')}`);
  console.log(`  token endpoints: ${entra.tokenUrl} (v1), ${entra.tokenUrlV2} (v2)`);
  console.log(`  JWKS: ${entra.jwksUrl}; CA certificate: ${tls.caPath} (NODE_EXTRA_CA_CERTS)`);
  console.log(`  mint a refresh token: curl --cacert ${tls.caPath} -X POST ${entra.url}/_sandbox/refresh-tokens`);
  closeOnSignal(() => entra.close());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
