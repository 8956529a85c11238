/**
 * Starts the Partner Center simulator alone:
 * `node dist/sandbox/partner-center/main.js --port 7081 --entra-url https://127.0.0.1:7082 --entra-ca .sandbox/entra-ca.pem`,
 * or without token checks for demos: `node dist/sandbox/partner-center/main.js --port 7081 --no-auth`.
 *
 * Options: `--port N`, `--entra-url URL` (its JWKS verifies tokens), `--entra-ca FILE` (else
 * NODE_EXTRA_CA_CERTS), `--tenant ID` (default `sandbox-partner-tenant`), `--no-auth`, `--org-id ID`,
 * `--org-name NAME`, `--seed N`, `--faults JSON` (shared faults plus `events` and `clientErrors`),
 * `--created-status 200|201`, `--webhook-url URL` (registers it for every event of the partner
 * organization), `--certificate-port N`, `--retry-base-ms N`, `--event-resource-base-url URL`,
 * `--ca-out FILE` (writes the PEM of the CA the signing certificate chains to, for the receiver to trust).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { closeOnSignal } from '../http-util';
import { fetchEntraVerification } from '../entra/tokenVerifier';
import { createSandboxTls } from '../tls';
import { startPartnerCenter, type PartnerCenterFaultConfig } from './server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'entra-url': { type: 'string' },
      'entra-ca': { type: 'string' },
      tenant: { type: 'string', default: 'sandbox-partner-tenant' },
      'no-auth': { type: 'boolean', default: false },
      'org-id': { type: 'string' },
      'org-name': { type: 'string', default: 'Contoso Partner (sandbox)' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      'created-status': { type: 'string', default: '201' },
      'webhook-url': { type: 'string' },
      'certificate-port': { type: 'string', default: '0' },
      'retry-base-ms': { type: 'string' },
      'event-resource-base-url': { type: 'string' },
      'ca-out': { type: 'string' },
    },
  });
  const auth = !values['no-auth'];
  if (auth && !values['entra-url'])
    throw new Error('Give --entra-url (tokens are verified with its keys) or --no-auth');
  const entra = auth
    ? await fetchEntraVerification(values['entra-url'] as string, {
        tenantId: values.tenant,
        caPem: values['entra-ca'] ? readFileSync(values['entra-ca'], 'utf8') : undefined,
      })
    : undefined;
  const createdStatus = Number(values['created-status']);
  if (createdStatus !== 200 && createdStatus !== 201) throw new Error('--created-status takes 200 or 201');
  const simulator = await startPartnerCenter({
    port: Number(values.port),
    entra,
    auth,
    partnerOrganization: values['org-id'] ? { id: values['org-id'], name: values['org-name'] } : undefined,
    seed: values.seed ? Number(values.seed) : undefined,
    faults: values.faults ? (JSON.parse(values.faults) as PartnerCenterFaultConfig) : undefined,
    createdStatus,
    ...(values['ca-out'] ? { tls: await createSandboxTls({ caPath: values['ca-out'] }) } : {}),
    webhooks: {
      certificatePort: Number(values['certificate-port']),
      ...(values['retry-base-ms'] ? { retryBaseDelayMs: Number(values['retry-base-ms']) } : {}),
      ...(values['event-resource-base-url'] ? { eventResourceBaseUrl: values['event-resource-base-url'] } : {}),
    },
  });
  if (values['webhook-url']) simulator.registerWebhook({ webhookUrl: values['webhook-url'] });
  console.log(simulator.url);
  console.log(
    `Partner Center simulator: ${simulator.referralsUrl}${auth ? '' : ' (no auth: every call acts as the sandbox partner)'}`,
  );
  console.log(`  inspect: curl ${simulator.url}/_sandbox/referrals   stats: curl ${simulator.url}/_sandbox/stats`);
  console.log(`  events: curl ${simulator.url}/_sandbox/events   signing certificate: ${simulator.certificateUrl}`);
  closeOnSignal(() => simulator.close());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
