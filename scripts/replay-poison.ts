/**
 * `node dist/scripts/replay-poison.js --queue referral-intake [--dry-run] [--max N]`: moves the messages
 * of `<queue>-poison` back onto `<queue>`, once the cause of their failures is fixed (docs/operations.md).
 *
 * The storage connection is the app's own: `AzureWebJobsStorage` (a connection string, Azurite locally)
 * or the identity-based `AzureWebJobsStorage__queueServiceUri` / `AzureWebJobsStorage__accountName`
 * (with `__clientId` for a user-assigned identity; otherwise `az login` through DefaultAzureCredential).
 * They come from the environment when it sets any `AzureWebJobsStorage*` setting, else from
 * local.settings.json `Values` (`--settings` names another file).
 *
 * It prints counts and message ids only, never a message body: intake messages hold customer contacts.
 *
 * Usage: node dist/scripts/replay-poison.js --queue <name> [--dry-run] [--max N] [--settings <local.settings.json>]
 */
import path from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import type { QueueServiceClient } from '@azure/storage-queue';
import type * as StorageQueueModule from '@azure/storage-queue';
import type * as IdentityModule from '@azure/identity';
import { BridgeError, ensureError } from '../shared/platform/errors';
import { redact } from '../shared/platform/logging';
import { POISON_SUFFIX, QUEUE_NAMES, STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { lazyModule } from '../shared/platform/lazy';
import { definedOnly, readLocalSettings } from './lib/localSettings';

/** The SDKs, loaded when a client is built (not by the tests that pass their own). */
const storageQueue = lazyModule<typeof StorageQueueModule>(require, '@azure/storage-queue');
const identitySdk = lazyModule<typeof IdentityModule>(require, '@azure/identity');

/** Options of {@link replayPoisonMessages}. */
export interface ReplayOptions {
  /** The queue to refill, e.g. `referral-intake`; its poison twin is `<queue>-poison`. */
  queueName: string;
  /** Count only: nothing is received, sent or deleted. @default false */
  dryRun?: boolean;
  /** Move at most this many messages. @default every message in the poison queue when the run starts */
  maxMessages?: number;
  /** How long a received poison message stays hidden while it is copied. @default 60 */
  visibilityTimeoutSeconds?: number;
  /** Called after each moved message with its (poison) message id: progress, no content. */
  onMoved?: (messageId: string) => void;
}

/** What one replay did. */
export interface ReplayReport {
  queue: string;
  poisonQueue: string;
  dryRun: boolean;
  /** Messages in the poison queue when the run started (the service's approximate count). */
  poisonMessagesAtStart: number;
  /** Sent to the queue and deleted from the poison queue. */
  moved: number;
  /** Sent, but the poison copy could not be deleted: it will be replayed again by the next run (harmless). */
  sentNotDeleted: number;
  /** Messages left in the poison queue (approximate). */
  poisonMessagesLeft: number;
}

/** Replay failed part-way; `report` says what was moved before the failure. */
export class ReplayError extends BridgeError {
  readonly report: ReplayReport;
  constructor(message: string, report: ReplayReport, cause?: unknown) {
    super(message, { cause, retryable: true });
    this.name = 'ReplayError';
    this.report = report;
  }
}

/** Largest batch the queue service hands out per receive. */
const MAX_RECEIVE_BATCH = 32;

/**
 * Moves messages from `<queueName>-poison` to `<queueName>`: for each one, sends the same text to the
 * queue, then deletes it from the poison queue.
 *
 * Send first, delete second. A crash (or a failed delete) in between leaves the message in both queues,
 * so it is processed twice: harmless, because every consumer is idempotent. An intake message lands on
 * the tracking record of its idempotency key (an existing record is returned, nothing is created
 * again); a `{ trackingId }` step message finds the record already moved on, or takes the step lease
 * and reuses the same MS-RequestId, or adopts the Microsoft referral already in the engagement. The
 * other order (delete, then send) could lose a message, which this product never does.
 *
 * The run moves at most the number of messages the poison queue held when it started, so a message
 * that fails again and is poisoned again during the run is not replayed in a loop.
 */
export async function replayPoisonMessages(service: QueueServiceClient, options: ReplayOptions): Promise<ReplayReport> {
  const queue = service.getQueueClient(options.queueName);
  const poisonQueueName = `${options.queueName}${POISON_SUFFIX}`;
  const poison = service.getQueueClient(poisonQueueName);
  const report: ReplayReport = {
    queue: options.queueName,
    poisonQueue: poisonQueueName,
    dryRun: options.dryRun ?? false,
    poisonMessagesAtStart: 0,
    moved: 0,
    sentNotDeleted: 0,
    poisonMessagesLeft: 0,
  };
  if (!(await poison.exists())) return report;
  report.poisonMessagesAtStart = (await poison.getProperties()).approximateMessagesCount ?? 0;
  const limit = Math.min(options.maxMessages ?? Number.POSITIVE_INFINITY, report.poisonMessagesAtStart);
  if (report.dryRun) {
    report.poisonMessagesLeft = report.poisonMessagesAtStart;
    return report;
  }
  if (limit > 0) await queue.createIfNotExists();
  let handled = 0;
  while (handled < limit) {
    const batch = await poison.receiveMessages({
      numberOfMessages: Math.min(MAX_RECEIVE_BATCH, limit - handled),
      visibilityTimeout: options.visibilityTimeoutSeconds ?? 60,
    });
    if (batch.receivedMessageItems.length === 0) break;
    for (const message of batch.receivedMessageItems) {
      handled++;
      try {
        await queue.sendMessage(message.messageText);
      } catch (error) {
        // Not sent: the poison copy reappears after the visibility timeout; nothing is lost.
        throw new ReplayError(
          `Could not send message ${message.messageId} to ${options.queueName}: ${describe(error)}`,
          await withLeft(poison, report),
          error,
        );
      }
      try {
        await poison.deleteMessage(message.messageId, message.popReceipt);
        report.moved++;
      } catch {
        report.sentNotDeleted++;
      }
      options.onMoved?.(message.messageId);
    }
  }
  return withLeft(poison, report);
}

/** Where the storage account is, from the app's settings. */
export type StorageConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; queueServiceUri: string; clientId?: string };

/**
 * Reads the app's storage connection: `AzureWebJobsStorage` (connection string) first, else the
 * identity-based `AzureWebJobsStorage__queueServiceUri` or `__accountName`. Undefined when none is set.
 */
export function storageConnectionFrom(values: Record<string, string | undefined>): StorageConnection | undefined {
  const prefix = STORAGE_CONNECTION_SETTING;
  const connectionString = values[prefix]?.trim();
  if (connectionString) return { kind: 'connectionString', connectionString };
  const accountName = values[`${prefix}__accountName`]?.trim();
  const queueServiceUri =
    values[`${prefix}__queueServiceUri`]?.trim() ||
    (accountName ? `https://${accountName}.queue.core.windows.net` : undefined);
  if (!queueServiceUri) return undefined;
  const clientId = values[`${prefix}__clientId`]?.trim();
  return { kind: 'identity', queueServiceUri, ...(clientId ? { clientId } : {}) };
}

/** Builds a QueueServiceClient for a {@link StorageConnection}. */
export function queueServiceFor(connection: StorageConnection, credential?: TokenCredential): QueueServiceClient {
  const { QueueServiceClient: Client } = storageQueue();
  if (connection.kind === 'connectionString') return Client.fromConnectionString(connection.connectionString);
  let identity = credential;
  if (!identity) {
    const { DefaultAzureCredential } = identitySdk();
    identity = new DefaultAzureCredential(connection.clientId ? { managedIdentityClientId: connection.clientId } : {});
  }
  return new Client(connection.queueServiceUri, identity);
}

/** Options of {@link replayPoisonCommand} (tests pass their own environment, folder and output). */
export interface ReplayCommandOptions {
  argv?: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  print?: (line: string) => void;
  printError?: (line: string) => void;
  /** A ready client (tests); else built from the settings. */
  service?: QueueServiceClient;
}

/** Parsed command line of the replay command. */
export interface ReplayArguments {
  queueName: string;
  dryRun: boolean;
  maxMessages?: number;
  settingsFile?: string;
}

const USAGE =
  'Usage: node dist/scripts/replay-poison.js --queue <' +
  QUEUE_NAMES.join('|') +
  '> [--dry-run] [--max N] [--settings <local.settings.json>]';

/** Parses the command line; returns an error text for a usage mistake. */
export function parseReplayArguments(argv: readonly string[]): ReplayArguments | { error: string } {
  let queueName: string | undefined;
  let dryRun = false;
  let maxMessages: number | undefined;
  let settingsFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--queue') queueName = value();
    else if (flag === '--dry-run') dryRun = true;
    else if (flag === '--settings') settingsFile = value();
    else if (flag === '--max') {
      const text = value();
      const n = Number(text);
      if (!text || !Number.isInteger(n) || n < 1)
        return { error: `--max needs a positive whole number, not ${JSON.stringify(text ?? '')}` };
      maxMessages = n;
    } else return { error: `Unknown argument ${JSON.stringify(arg)}` };
  }
  if (!queueName) return { error: '--queue is required' };
  if (queueName.endsWith(POISON_SUFFIX)) queueName = queueName.slice(0, -POISON_SUFFIX.length);
  if (!(QUEUE_NAMES as readonly string[]).includes(queueName)) {
    return { error: `--queue must be one of ${QUEUE_NAMES.join(', ')} (the queue to refill; its poison twin is read)` };
  }
  return {
    queueName,
    dryRun,
    ...(maxMessages !== undefined ? { maxMessages } : {}),
    ...(settingsFile ? { settingsFile } : {}),
  };
}

/** Runs the command; resolves to the process exit code (0 done, 1 failed, 2 usage). */
export async function replayPoisonCommand(options: ReplayCommandOptions = {}): Promise<number> {
  const argv = options.argv ?? process.argv.slice(2);
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  if (argv.includes('--help') || argv.includes('-h')) {
    print(USAGE);
    return 0;
  }
  const args = parseReplayArguments(argv);
  if ('error' in args) {
    printError(args.error);
    printError(USAGE);
    return 2;
  }
  let service = options.service;
  if (!service) {
    const settingsFile = args.settingsFile ?? path.join(options.cwd ?? process.cwd(), 'local.settings.json');
    const connection = storageConnectionFrom(
      storageSettings(definedOnly(options.env ?? process.env), readLocalSettings(settingsFile)),
    );
    if (!connection) {
      printError(
        `No storage connection: set ${STORAGE_CONNECTION_SETTING}, or ${STORAGE_CONNECTION_SETTING}__queueServiceUri / __accountName (environment or ${settingsFile})`,
      );
      return 2;
    }
    print(
      connection.kind === 'connectionString'
        ? 'Storage: connection string'
        : `Storage: ${connection.queueServiceUri} (Entra ID)`,
    );
    service = queueServiceFor(connection);
  }
  try {
    const report = await replayPoisonMessages(service, {
      queueName: args.queueName,
      dryRun: args.dryRun,
      ...(args.maxMessages !== undefined ? { maxMessages: args.maxMessages } : {}),
    });
    print(summary(report, args.maxMessages));
    return 0;
  } catch (thrown) {
    const error = ensureError(thrown);
    printError(`replay-poison failed: ${describe(error)}`);
    if (error instanceof ReplayError) print(summary(error.report, args.maxMessages));
    return 1;
  }
}

/** One line of counts (never a message body). */
export function summary(report: ReplayReport, maxMessages?: number): string {
  if (report.dryRun) {
    const wouldMove = Math.min(report.poisonMessagesAtStart, maxMessages ?? Number.POSITIVE_INFINITY);
    return `Dry run: ${report.poisonQueue} holds ${report.poisonMessagesAtStart} message(s); ${wouldMove} would be moved to ${report.queue}.`;
  }
  const notDeleted = report.sentNotDeleted
    ? `, ${report.sentNotDeleted} sent but still in ${report.poisonQueue} (replayed again next run; harmless)`
    : '';
  return `Moved ${report.moved} message(s) from ${report.poisonQueue} to ${report.queue}${notDeleted}; ${report.poisonMessagesLeft} left in ${report.poisonQueue}.`;
}

async function withLeft(
  poison: ReturnType<QueueServiceClient['getQueueClient']>,
  report: ReplayReport,
): Promise<ReplayReport> {
  try {
    report.poisonMessagesLeft = (await poison.getProperties()).approximateMessagesCount ?? 0;
  } catch {
    report.poisonMessagesLeft = Math.max(0, report.poisonMessagesAtStart - report.moved);
  }
  return report;
}

/** An error's name and message, redacted and short (storage errors never carry the message text, but be safe). */
function describe(error: unknown): string {
  const e = ensureError(error);
  return String(redact(`${e.name}: ${e.message}`)).slice(0, 300);
}

/**
 * The storage settings to use: the environment's when it names any `AzureWebJobsStorage*` setting
 * (pointing at Azure with an identity must not be overridden by the Azurite connection string of a
 * local.settings.json), else the file's.
 */
function storageSettings(env: Record<string, string>, file: Record<string, string>): Record<string, string> {
  const isStorage = (name: string): boolean =>
    name === STORAGE_CONNECTION_SETTING || name.startsWith(`${STORAGE_CONNECTION_SETTING}__`);
  return Object.keys(env).some(isStorage) ? env : file;
}

if (require.main === module) {
  // Exit explicitly: SDK sockets must not keep a finished command alive.
  replayPoisonCommand().then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
