/**
 * Starts the Key Vault stand-in alone:
 * `node dist/sandbox/key-vault/main.js --port 7083 --entra-url https://127.0.0.1:7082 --entra-ca .sandbox/entra-ca.pem`.
 *
 * Options: `--port N`, `--entra-url URL` (required: the JWKS is fetched from it), `--entra-ca FILE` (the
 * Entra stand-in's CA; else NODE_EXTRA_CA_CERTS), `--tenant ID` (default `sandbox-partner-tenant`),
 * `--secret NAME=VALUE` (repeatable), `--ca-path FILE` (default `.sandbox/key-vault-ca.pem`),
 * `--seed N`, `--faults JSON`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { closeOnSignal, parseFaultConfig } from '../http-util';
import { createSandboxTls } from '../tls';
import { fetchEntraVerification } from '../entra/tokenVerifier';
import { startKeyVault } from './server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'entra-url': { type: 'string' },
      'entra-ca': { type: 'string' },
      tenant: { type: 'string', default: 'sandbox-partner-tenant' },
      secret: { type: 'string', multiple: true },
      'ca-path': { type: 'string', default: '.sandbox/key-vault-ca.pem' },
      seed: { type: 'string' },
      faults: { type: 'string' },
    },
  });
  if (!values['entra-url'])
    throw new Error('--entra-url is required (the Entra stand-in whose tokens this vault accepts)');
  const entra = await fetchEntraVerification(values['entra-url'], {
    tenantId: values.tenant,
    caPem: values['entra-ca'] ? readFileSync(values['entra-ca'], 'utf8') : undefined,
  });
  const secrets = Object.fromEntries(
    (values.secret ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--secret takes NAME=VALUE, got ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const tls = await createSandboxTls({ caPath: values['ca-path'] });
  const vault = await startKeyVault({
    tls,
    port: Number(values.port),
    entra,
    secrets,
    seed: values.seed ? Number(values.seed) : undefined,
    faults: values.faults ? parseFaultConfig(JSON.parse(values.faults)) : undefined,
  });
  console.log(vault.url);
  console.log(
    `Key Vault stand-in: ${Object.keys(secrets).length} secret(s), tokens from ${entra.authorityUrl}/${entra.tenantId} for ${vault.resource}`,
  );
  console.log(`  CA certificate: ${tls.caPath} (NODE_EXTRA_CA_CERTS)`);
  closeOnSignal(() => vault.close());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
