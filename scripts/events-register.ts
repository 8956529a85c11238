/**
 * `npm run events:register -- --url <public events URL>`: registers the four referral events and
 * `test-created` with Partner Center's Webhook API (docs/events.md "Registration").
 *
 * It prints the current registration first; a registration of another URL is overwritten only after a
 * yes at the prompt, or with `--yes` (without a terminal and without `--yes` it refuses). The URL we
 * registered is recorded (key as a fingerprint) in the `referrals` table for /api/health's drift check.
 * `--check` then asks Partner Center for a validation event and prints what our endpoint answered.
 * Without `--url` it shows the registration (and runs `--check` when asked).
 *
 * The Function key: put it in the URL (`?code=…`) or, better, in EVENTS_FUNCTION_KEY (kept out of shell
 * history); printed URLs always show `code=***`. Tokens are never printed.
 *
 * Settings come from the environment, then from local.settings.json `Values` (`--settings`; the sandbox
 * writes .sandbox/local.settings.json): PARTNER_CENTER_WEBHOOK_API_URL, PARTNER_CENTER_WEBHOOK_RESOURCE,
 * the token broker's (ENTRA_*, KEY_VAULT_*, AzureWebJobsStorage*) and DefaultAzureCredential's.
 *
 * Exit codes: 0 done, 1 failed (API error, overwrite declined, validation not answered 2xx), 2 usage.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type { TableClient } from '@azure/data-tables';
import { loadSettings, type Settings } from '../shared/platform/config';
import { ensureError } from '../shared/platform/errors';
import { createTableClient } from '../shared/platform/storageClients';
import { createLogger } from '../shared/platform/logging';
import { createDefaultCredential } from '../shared/auth/defaultCredential';
import type { AccessTokenProvider, FetchLike } from '../shared/auth/types';
import {
  REGISTERED_EVENT_NAMES,
  RegisterOutcome,
  registerEvents,
  runValidationCheck,
  type ValidationCheckResult,
} from '../shared/events/registration';
import { WebhookApiError } from '../shared/events/webhookApiClient';
import { redactWebhookUrl, withFunctionKey } from '../shared/events/webhookUrl';
import { createWebhookRegistrationClient } from '../shared/events/registrationFromSettings';
import { EventsStateStore } from '../shared/events/eventsHealth';
import { agentForExtraCa, definedOnly, readLocalSettings } from './lib/localSettings';

const USAGE =
  'Usage: npm run events:register -- [--url <public events URL>] [--yes] [--check] [--ms-signature-header] ' +
  '[--check-timeout <seconds>] [--settings <local.settings.json>]';

/** Options of {@link eventsRegisterCommand} (tests pass their own environment, terminal and output). */
export interface EventsRegisterCommandOptions {
  argv?: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  print?: (line: string) => void;
  printError?: (line: string) => void;
  /** Asks a yes/no question at the terminal. @default node:readline on stdin/stdout */
  ask?: (question: string) => Promise<string>;
  /** Whether a person can answer. @default stdin and stdout are TTYs */
  interactive?: boolean;
  fetch?: FetchLike;
  /** Tokens for the webhook audience (tests). @default the token broker for PARTNER_CENTER_WEBHOOK_RESOURCE */
  tokens?: AccessTokenProvider;
  /** The `referrals` table client (tests). @default built from the settings */
  tableClient?: TableClient;
  sleep?: (delayMs: number) => Promise<void>;
}

/** Runs the command; resolves to the exit code (0 done, 1 failed, 2 usage). */
export async function eventsRegisterCommand(options: EventsRegisterCommandOptions = {}): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  let args: ReturnType<typeof parse>;
  try {
    args = parse(options.argv ?? process.argv.slice(2));
  } catch (error) {
    printError(`${ensureError(error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    print(USAGE);
    return 0;
  }
  const checkTimeoutSeconds = Number(args['check-timeout'] ?? '60');
  if (!Number.isInteger(checkTimeoutSeconds) || checkTimeoutSeconds < 1 || checkTimeoutSeconds > 600) {
    printError(`--check-timeout must be a whole number of seconds from 1 to 600\n${USAGE}`);
    return 2;
  }
  const env = options.env ?? process.env;
  let webhookUrl: string | undefined;
  if (args.url !== undefined) {
    try {
      const parsed = new URL(args.url);
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('not http(s)');
      webhookUrl = withFunctionKey(parsed.href, env.EVENTS_FUNCTION_KEY || undefined);
    } catch {
      printError(`--url must be an absolute http(s) URL\n${USAGE}`);
      return 2;
    }
  }

  const cwd = options.cwd ?? process.cwd();
  const settingsFile = args.settings ?? path.join(cwd, 'local.settings.json');
  if (args.settings !== undefined && !existsSync(settingsFile)) {
    printError(`No settings file ${settingsFile}`);
    return 2;
  }
  let settings: Settings;
  const fileValues = readLocalSettings(settingsFile);
  try {
    settings = loadSettings({ ...fileValues, ...definedOnly(env) });
  } catch (error) {
    printError(ensureError(error).message);
    return 2;
  }
  // EnvironmentCredential reads process.env: give it the file's AZURE_* values the environment lacks.
  if (!options.tokens)
    for (const [name, value] of Object.entries(fileValues))
      if (name.startsWith('AZURE_') && process.env[name] === undefined) process.env[name] = value;
  const httpsAgent = agentForExtraCa(fileValues.NODE_EXTRA_CA_CERTS, env.NODE_EXTRA_CA_CERTS, [
    cwd,
    path.dirname(settingsFile),
  ]);
  // Identity-based storage (Azure) needs a credential for the table; a connection string (Azurite) does not.
  const credential = settings.AzureWebJobsStorage
    ? undefined
    : createDefaultCredential({ disableInstanceDiscovery: settings.AZURE_DISABLE_INSTANCE_DISCOVERY, httpsAgent });
  const tableClient = options.tableClient ?? createTableClient(settings, settings.REFERRALS_TABLE_NAME, credential);
  const client = createWebhookRegistrationClient(settings, {
    tableClient,
    // The broker's progress lines are for the app's logs; the command prints its own (warnings still show).
    logger: createLogger({ minLevel: 'warn', fields: { component: 'events-register' } }),
    ...(credential ? { credential } : {}),
    ...(httpsAgent ? { httpsAgent } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.tokens ? { tokens: options.tokens } : {}),
  });
  print(`Webhook API ${settings.PARTNER_CENTER_WEBHOOK_API_URL}`);

  try {
    if (webhookUrl) {
      const interactive = options.interactive ?? (process.stdin.isTTY === true && process.stdout.isTTY === true);
      const result = await registerEvents({
        client,
        webhookUrl,
        events: REGISTERED_EVENT_NAMES,
        signatureInMsHeader: args['ms-signature-header'] === true,
        print,
        confirmOverwrite: async (current, next) => {
          print(`Another URL is registered: ${current}`);
          print(`Partner Center keeps one URL: every event would go to ${next} instead.`);
          if (args.yes) return true;
          if (!interactive) {
            printError('Refusing to overwrite another URL without --yes (no terminal to ask).');
            return false;
          }
          const answer = await (options.ask ?? askAtTerminal)('Overwrite it? [y/N] ');
          return /^y(es)?$/i.test(answer.trim());
        },
      });
      if (result.outcome === RegisterOutcome.Declined) return 1;
      try {
        await new EventsStateStore(tableClient).recordRegistration(webhookUrl, REGISTERED_EVENT_NAMES);
      } catch (error) {
        printError(
          `Registered, but the URL could not be recorded for /api/health (${ensureError(error).name}): ` +
            'its drift check reports not-configured until EVENTS_WEBHOOK_URL is set or this is run again.',
        );
      }
    } else {
      const current = await client.get();
      print(
        current
          ? `Current registration: ${redactWebhookUrl(current.webhookUrl)} for ${current.webhookEvents.join(', ')}`
          : 'Current registration: none',
      );
    }
    if (args.check) {
      print('Asking Partner Center for a validation event (test-created)...');
      const check = await runValidationCheck({
        client,
        timeoutMs: checkTimeoutSeconds * 1000,
        ...(options.sleep ? { sleep: options.sleep } : {}),
      });
      for (const line of describeValidation(check)) print(line);
      return check.ok ? 0 : 1;
    }
    return 0;
  } catch (error) {
    if (error instanceof WebhookApiError && error.status === 429)
      printError(
        `events:register failed: throttled by the Webhook API (2 validation events a minute)` +
          (error.retryAfterSeconds !== undefined ? `; retry after ${error.retryAfterSeconds} s` : ''),
      );
    else printError(`events:register failed: ${ensureError(error).name}: ${ensureError(error).message}`);
    return 1;
  }
}

/** Lines describing a validation event's outcome (the callback URL redacted). */
export function describeValidation(check: ValidationCheckResult): string[] {
  const { result } = check;
  const lines = [
    `Validation ${result.correlationId}: ${result.status}${check.ok ? ' (our endpoint answered 2xx)' : ''}` +
      (result.callbackUrl ? ` → ${redactWebhookUrl(result.callbackUrl)}` : ''),
  ];
  for (const attempt of result.results)
    lines.push(
      `  ${attempt.dateTimeUtc ?? ''} ${attempt.responseCode || 'no answer'} ${attempt.responseMessage ?? ''}` +
        (attempt.systemError ? ` (${attempt.systemError})` : ''),
    );
  if (result.results.length === 0) lines.push('  no delivery attempt reported yet');
  return lines;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      check: { type: 'boolean' },
      'ms-signature-header': { type: 'boolean' },
      'check-timeout': { type: 'string' },
      settings: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

async function askAtTerminal(question: string): Promise<string> {
  const terminal = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await terminal.question(question);
  } finally {
    terminal.close();
  }
}

if (require.main === module) {
  // Exit explicitly: SDK and agent sockets must not keep a finished command alive.
  eventsRegisterCommand().then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
