/**
 * The local host runs the fixture app's storage-queue triggers and queue outputs against Azurite,
 * with host.json `extensions.queues` semantics: encoding, trigger metadata, dequeue-count retries,
 * the poison queue, and array outputs.
 */
import { randomUUID } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';
import { collectMessages, useAzurite } from '../../helpers/azurite';
import type { RunningHost } from '../../../sandbox/host';
import { startFixtureHost } from './fixtureHost';

jest.setTimeout(30_000);

/** Fast retries: two attempts, no retry delay, short idle polling. */
const fastQueues = (messageEncoding: 'none' | 'base64') => ({
  extensions: {
    queues: { messageEncoding, maxDequeueCount: 2, visibilityTimeout: '00:00:00', maxPollingInterval: '00:00:00.200' },
  },
});

interface Recorded {
  tag?: string;
  seen: unknown;
  type: string;
  metadata: {
    id: string;
    dequeueCount: number;
    insertionTime: string;
    expirationTime: string;
    nextVisibleTime: string;
    hasPopReceipt: boolean;
    queueTrigger: unknown;
  };
}

const fromBase64 = (text: string): unknown => {
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  try {
    return JSON.parse(decoded);
  } catch {
    return decoded;
  }
};

describe('local host: queue trigger with messageEncoding none', () => {
  const azurite = useAzurite();
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost(azurite.connectionString, { hostJson: fastQueues('none') });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('creates the trigger queues at start-up', async () => {
    const names: string[] = [];
    for await (const queue of QueueServiceClient.fromConnectionString(azurite.connectionString).listQueues()) {
      names.push(queue.name);
    }
    expect(names).toEqual(expect.arrayContaining(['fixture-in', 'fixture-fan']));
  });

  it('hands a plain JSON message to the function as an object, with the trigger metadata of the real host', async () => {
    const tag = randomUUID();
    const sentAtMs = Date.now();
    await azurite.queue('fixture-in').sendMessage(JSON.stringify({ tag, amount: 12.5, items: ['a'] }));
    const [recorded] = await collectMessages<Recorded>(azurite.queue('fixture-out'), {
      count: 1,
      filter: (m) => m.tag === tag,
    });
    expect(recorded).toBeDefined();
    expect(recorded.type).toBe('object');
    expect(recorded.seen).toEqual({ tag, amount: 12.5, items: ['a'] });
    const { metadata } = recorded;
    expect(metadata.dequeueCount).toBe(1);
    expect(metadata.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(metadata.hasPopReceipt).toBe(true);
    expect(metadata.queueTrigger).toEqual({ tag, amount: 12.5, items: ['a'] });
    for (const field of [metadata.insertionTime, metadata.expirationTime, metadata.nextVisibleTime]) {
      expect(field).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    }
    // Coarse sanity on the dates Azurite stamped (second precision), not a timing assertion.
    expect(Date.parse(metadata.insertionTime)).toBeGreaterThan(sentAtMs - 60_000);
    expect(Date.parse(metadata.expirationTime)).toBeGreaterThan(Date.parse(metadata.insertionTime));
  });

  it('hands a message that is not JSON to the function as a string', async () => {
    const text = `plain text ${randomUUID()}`;
    await azurite.queue('fixture-in').sendMessage(text);
    const [recorded] = await collectMessages<Recorded>(azurite.queue('fixture-out'), {
      count: 1,
      filter: (m) => m.seen === text,
    });
    expect(recorded).toMatchObject({ type: 'string', seen: text });
  });

  it('moves a message whose handler always throws to <queue>-poison after maxDequeueCount attempts, text unchanged', async () => {
    const tag = randomUUID();
    const text = JSON.stringify({ tag, fail: true });
    await azurite.queue('fixture-in').sendMessage(text);
    const poisoned = await collectMessages<string>(azurite.queue('fixture-in-poison'), {
      count: 1,
      parse: (t) => t,
      filter: (t) => t.includes(tag),
    });
    expect(poisoned).toEqual([text]);
    await host.waitForOutput(new RegExp(`started ${tag} attempt 2`));
    expect(host.output().filter((line) => line.includes(`started ${tag} attempt`))).toHaveLength(2);
    await host.waitForOutput(/Message has reached MaxDequeueCount of 2\. Moving message to queue 'fixture-in-poison'/);
  });

  it('sends each item of an array returned through a queue return binding as its own message', async () => {
    const tag = randomUUID();
    await azurite
      .queue('fixture-fan')
      .sendMessage(JSON.stringify({ items: [{ tag, n: 1 }, `${tag}-text`, { tag, n: 2 }] }));
    const received = await collectMessages<unknown>(azurite.queue('fixture-out'), {
      count: 3,
      filter: (m) => (typeof m === 'string' ? m.startsWith(tag) : (m as { tag?: string })?.tag === tag),
    });
    expect(received).toHaveLength(3);
    expect(received).toEqual(expect.arrayContaining([{ tag, n: 1 }, `${tag}-text`, { tag, n: 2 }]));
  });

  it('processes a batch of messages concurrently and completes every one exactly once', async () => {
    const tag = randomUUID();
    const count = 20;
    await Promise.all(
      Array.from({ length: count }, (_, i) => azurite.queue('fixture-in').sendMessage(JSON.stringify({ tag, i }))),
    );
    const received = await collectMessages<Recorded>(azurite.queue('fixture-out'), {
      count,
      filter: (m) => m.tag === tag,
    });
    expect(received.map((r) => (r.seen as { i: number }).i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: count }, (_, i) => i),
    );
    const leftovers = await azurite.queue('fixture-in').peekMessages({ numberOfMessages: 32 });
    expect(leftovers.peekedMessageItems.filter((m) => m.messageText.includes(tag))).toEqual([]);
  });
});

describe('local host: queue trigger with messageEncoding base64', () => {
  const azurite = useAzurite();
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost(azurite.connectionString, { hostJson: fastQueues('base64') });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('decodes a base64 message and writes its outputs base64-encoded', async () => {
    const tag = randomUUID();
    await azurite
      .queue('fixture-in')
      .sendMessage(Buffer.from(JSON.stringify({ tag, text: 'héllo' })).toString('base64'));
    const [recorded] = await collectMessages<Recorded>(azurite.queue('fixture-out'), {
      count: 1,
      parse: (t) => fromBase64(t) as Recorded,
      filter: (m) => m?.tag === tag,
    });
    expect(recorded).toMatchObject({ type: 'object', seen: { tag, text: 'héllo' }, metadata: { dequeueCount: 1 } });
  });

  it('moves a message that is not valid base64 straight to poison without invoking the function', async () => {
    const tag = randomUUID();
    const text = JSON.stringify({ tag, plain: true });
    await azurite.queue('fixture-in').sendMessage(text);
    const poisoned = await collectMessages<string>(azurite.queue('fixture-in-poison'), {
      count: 1,
      parse: (t) => t,
      filter: (t) => t.includes(tag),
    });
    expect(poisoned).toEqual([text]);
    expect(host.output().some((line) => line.includes(`started ${tag}`))).toBe(false);
    await host.waitForOutput(/cannot be decoded.*not a valid Base-64 string/);
  });
});
