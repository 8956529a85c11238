import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { startAzurite, type RunningAzurite } from '../../../sandbox/azurite';
import {
  parseReplayArguments,
  replayPoisonCommand,
  replayPoisonMessages,
  ReplayError,
  storageConnectionFrom,
} from '../../../scripts/replay-poison';

let azurite: RunningAzurite;
let service: QueueServiceClient;

beforeAll(async () => {
  azurite = await startAzurite({ inMemory: true, quiet: true });
  service = QueueServiceClient.fromConnectionString(azurite.connectionString);
});
afterAll(async () => azurite?.stop());

/** Messages a poison queue really holds: plain JSON (Power Automate), base64 JSON (SDKs), step messages, odd text. */
const POISONED = [
  JSON.stringify({
    idempotencyKey: 'crm-1',
    referral: { name: 'Contoso <Deal> & "Partners"', customerProfile: { team: [{ email: 'ann@contoso.example' }] } },
  }),
  Buffer.from(JSON.stringify({ name: 'Fabrikam' })).toString('base64'),
  JSON.stringify({
    trackingId: `r${'a'.repeat(31)}`,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  }),
  'not json at all: ünïcödé ✓',
];

/** A fresh pair of queues with a unique name (this suite runs against one Azurite). */
let counter = 0;
async function poisonedQueue(
  texts: readonly string[],
): Promise<{ name: string; queue: QueueClient; poison: QueueClient }> {
  const name = `replay-${++counter}-${Date.now().toString(36)}`;
  const queue = service.getQueueClient(name);
  const poison = service.getQueueClient(`${name}-poison`);
  await poison.create();
  for (const text of texts) await poison.sendMessage(text);
  return { name, queue, poison };
}

async function drain(queue: QueueClient): Promise<string[]> {
  const texts: string[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return texts;
    for (const message of receivedMessageItems) {
      texts.push(message.messageText);
      await queue.deleteMessage(message.messageId, message.popReceipt);
    }
  }
}

async function count(queue: QueueClient): Promise<number> {
  if (!(await queue.exists())) return 0;
  return (await queue.getProperties()).approximateMessagesCount ?? 0;
}

describe('replayPoisonMessages (Azurite)', () => {
  it('moves every poison message back onto its queue with the same text', async () => {
    const { name, queue, poison } = await poisonedQueue(POISONED);
    const report = await replayPoisonMessages(service, { queueName: name });
    expect(report).toMatchObject({
      poisonMessagesAtStart: 4,
      moved: 4,
      sentNotDeleted: 0,
      poisonMessagesLeft: 0,
      dryRun: false,
    });
    expect(await count(poison)).toBe(0);
    expect((await drain(queue)).sort()).toEqual([...POISONED].sort());
  });

  it('moves nothing on a dry run and reports what it would move', async () => {
    const { name, queue, poison } = await poisonedQueue(POISONED);
    const report = await replayPoisonMessages(service, { queueName: name, dryRun: true });
    expect(report).toMatchObject({ poisonMessagesAtStart: 4, moved: 0, poisonMessagesLeft: 4, dryRun: true });
    expect(await count(poison)).toBe(4);
    expect(await queue.exists()).toBe(false);
    // Nothing was received either: every message is visible at once.
    expect((await poison.receiveMessages({ numberOfMessages: 32 })).receivedMessageItems).toHaveLength(4);
  });

  it('moves at most --max messages and leaves the rest', async () => {
    const { name, queue, poison } = await poisonedQueue(POISONED);
    const report = await replayPoisonMessages(service, { queueName: name, maxMessages: 3 });
    expect(report).toMatchObject({ moved: 3, poisonMessagesLeft: 1 });
    expect(await count(queue)).toBe(3);
    expect(await count(poison)).toBe(1);
  });

  it('moves more messages than one receive batch holds', async () => {
    const texts = Array.from({ length: 70 }, (_, i) =>
      JSON.stringify({ trackingId: `r${i.toString(16).padStart(31, '0')}` }),
    );
    const { name, queue, poison } = await poisonedQueue(texts);
    const moved: string[] = [];
    const report = await replayPoisonMessages(service, { queueName: name, onMoved: (id) => moved.push(id) });
    expect(report.moved).toBe(70);
    expect(new Set(moved).size).toBe(70);
    expect(await count(poison)).toBe(0);
    expect((await drain(queue)).sort()).toEqual([...texts].sort());
  });

  it('does not replay a message poisoned again during the run (bounded by the count at the start)', async () => {
    const { name, queue, poison } = await poisonedQueue(POISONED.slice(0, 2));
    const repoisoned: Array<Promise<unknown>> = [];
    const report = await replayPoisonMessages(service, {
      queueName: name,
      // As if a consumer failed each replayed message at once and the runtime poisoned it again.
      onMoved: () => void repoisoned.push(poison.sendMessage('poisoned again')),
    });
    await Promise.all(repoisoned);
    expect(report.moved).toBe(2);
    expect(await count(queue)).toBe(2);
    expect(await drain(poison)).toEqual(['poisoned again', 'poisoned again']);
  });

  it('stops at a message it cannot send and keeps that message in the poison queue', async () => {
    const { name, poison } = await poisonedQueue(POISONED.slice(0, 2));
    const failingQueue = Object.assign(Object.create(service.getQueueClient(name)) as QueueClient, {
      sendMessage: () =>
        Promise.reject(Object.assign(new Error('Server failed to authenticate the request'), { name: 'RestError' })),
    });
    const flaky = {
      getQueueClient: (queueName: string) => (queueName === name ? failingQueue : service.getQueueClient(queueName)),
    } as unknown as QueueServiceClient;
    const failure = await replayPoisonMessages(flaky, { queueName: name }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ReplayError);
    expect((failure as ReplayError).report).toMatchObject({ moved: 0, poisonMessagesLeft: 2 });
    expect((failure as ReplayError).message).toMatch(/Could not send message .* Server failed to authenticate/);
    // The received message is only hidden for the visibility timeout, not deleted.
    expect(await count(poison)).toBe(2);
  });

  it('counts a message it sent but could not delete from the poison queue', async () => {
    const { name, queue } = await poisonedQueue(POISONED.slice(0, 1));
    const stuckPoison = Object.assign(Object.create(service.getQueueClient(`${name}-poison`)) as QueueClient, {
      deleteMessage: () => Promise.reject(new Error('The specified message does not exist')),
    });
    const flaky = {
      getQueueClient: (queueName: string) =>
        queueName === `${name}-poison` ? stuckPoison : service.getQueueClient(queueName),
    } as unknown as QueueServiceClient;
    const report = await replayPoisonMessages(flaky, { queueName: name });
    expect(report).toMatchObject({ moved: 0, sentNotDeleted: 1 });
    expect(await drain(queue)).toEqual([POISONED[0]]);
  });

  it('reports nothing to do when the poison queue does not exist', async () => {
    const report = await replayPoisonMessages(service, { queueName: `replay-none-${Date.now().toString(36)}` });
    expect(report).toMatchObject({ poisonMessagesAtStart: 0, moved: 0, poisonMessagesLeft: 0 });
  });
});

describe('replay-poison command', () => {
  it('reads AzureWebJobsStorage from local.settings.json and prints counts, never message bodies', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'replay-'));
    try {
      await writeFile(
        path.join(dir, 'local.settings.json'),
        JSON.stringify({ IsEncrypted: false, Values: { AzureWebJobsStorage: azurite.connectionString } }),
      );
      const intake = service.getQueueClient('referral-intake');
      const poison = service.getQueueClient('referral-intake-poison');
      await poison.createIfNotExists();
      await drain(poison);
      await drain(intake).catch(() => []);
      await poison.sendMessage(POISONED[0]);
      const out: string[] = [];
      const code = await replayPoisonCommand({
        argv: ['--queue', 'referral-intake'],
        env: {},
        cwd: dir,
        print: (l) => out.push(l),
        printError: (l) => out.push(l),
      });
      expect(code).toBe(0);
      expect(out.join('\n')).toMatch(/Moved 1 message\(s\) from referral-intake-poison to referral-intake; 0 left/);
      expect(out.join('\n')).not.toMatch(/contoso|Contoso|crm-1/);
      expect(await drain(intake)).toEqual([POISONED[0]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prefers an identity-based connection in the environment over the connection string of local.settings.json', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'replay-'));
    try {
      await writeFile(
        path.join(dir, 'local.settings.json'),
        JSON.stringify({ Values: { AzureWebJobsStorage: azurite.connectionString } }),
      );
      const out: string[] = [];
      const code = await replayPoisonCommand({
        // An unresolvable host: the command must try it (and fail), not fall back to the file's Azurite.
        argv: ['--queue', 'referral-intake', '--dry-run'],
        env: { AzureWebJobsStorage__queueServiceUri: 'https://127.0.0.1:1/devstoreaccount1' },
        cwd: dir,
        print: (l) => out.push(l),
        printError: (l) => out.push(l),
      });
      expect(out[0]).toBe('Storage: https://127.0.0.1:1/devstoreaccount1 (Entra ID)');
      expect(code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints a dry run without touching the queues', async () => {
    const poison = service.getQueueClient('referral-link-poison');
    await poison.createIfNotExists();
    await poison.sendMessage(POISONED[2]);
    const out: string[] = [];
    const code = await replayPoisonCommand({
      argv: ['--queue=referral-link-poison', '--dry-run'],
      service,
      print: (l) => out.push(l),
    });
    expect(code).toBe(0);
    expect(out).toEqual(['Dry run: referral-link-poison holds 1 message(s); 1 would be moved to referral-link.']);
    expect(await count(poison)).toBe(1);
  });

  it('fails with usage when no storage connection is configured', async () => {
    const errors: string[] = [];
    const code = await replayPoisonCommand({
      argv: ['--queue', 'referral-intake'],
      env: {},
      cwd: os.tmpdir(),
      print: () => undefined,
      printError: (l) => errors.push(l),
    });
    expect(code).toBe(2);
    expect(errors[0]).toMatch(/No storage connection/);
  });
});

describe('parseReplayArguments', () => {
  it.each([
    { argv: ['--queue', 'referral-intake'], parsed: { queueName: 'referral-intake', dryRun: false } },
    { argv: ['--queue', 'referral-link-poison', '--dry-run'], parsed: { queueName: 'referral-link', dryRun: true } },
    {
      argv: ['--queue=referral-submit', '--max=5'],
      parsed: { queueName: 'referral-submit', dryRun: false, maxMessages: 5 },
    },
    {
      argv: ['--max', '2', '--queue', 'referral-intake', '--settings', 'x.json'],
      parsed: { queueName: 'referral-intake', dryRun: false, maxMessages: 2, settingsFile: 'x.json' },
    },
  ])('reads $argv', ({ argv, parsed }) => {
    expect(parseReplayArguments(argv)).toEqual(parsed);
  });

  it.each([
    { argv: [], error: /--queue is required/ },
    { argv: ['--queue', 'orders'], error: /must be one of referral-intake, referral-link, referral-submit/ },
    { argv: ['--queue', 'referral-intake', '--max', '0'], error: /positive whole number/ },
    { argv: ['--queue', 'referral-intake', '--max'], error: /positive whole number/ },
    { argv: ['--queue', 'referral-intake', '--force'], error: /Unknown argument/ },
  ])('refuses $argv', ({ argv, error }) => {
    const parsed = parseReplayArguments(argv);
    expect('error' in parsed && parsed.error).toMatch(error);
  });
});

describe('storageConnectionFrom', () => {
  it.each([
    {
      case: 'a connection string',
      values: { AzureWebJobsStorage: 'UseDevelopmentStorage=true' },
      connection: { kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' },
    },
    {
      case: 'the identity-based queue URI with a user-assigned identity',
      values: {
        AzureWebJobsStorage__queueServiceUri: 'https://st1.queue.core.windows.net',
        AzureWebJobsStorage__clientId: 'c1',
        AzureWebJobsStorage__credential: 'managedidentity',
      },
      connection: { kind: 'identity', queueServiceUri: 'https://st1.queue.core.windows.net', clientId: 'c1' },
    },
    {
      case: 'the account name alone',
      values: { AzureWebJobsStorage__accountName: 'st1' },
      connection: { kind: 'identity', queueServiceUri: 'https://st1.queue.core.windows.net' },
    },
    { case: 'nothing', values: {}, connection: undefined },
  ])('reads $case', ({ values, connection }) => {
    expect(storageConnectionFrom(values)).toEqual(connection);
  });
});
