import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deepMerge, loadHostConfig, resolveHostConfig } from '../../../sandbox/host/hostConfig';
import { parseTimeSpanMs } from '../../../sandbox/host/timeSpan';
import { LocalHostError } from '../../../sandbox/host/errors';

describe('host.json settings', () => {
  it('applies the real host defaults when host.json says nothing', () => {
    const config = resolveHostConfig({}, { env: {} });
    expect(config.routePrefix).toBe('api');
    expect(config.queues).toEqual({
      batchSize: 16,
      newBatchThreshold: 8,
      maxPollingIntervalMs: 2_000,
      visibilityTimeoutMs: 0,
      maxDequeueCount: 5,
      messageEncoding: 'base64',
    });
    expect(config.functionTimeoutMs).toBe(30 * 60 * 1000);
  });

  it('reads the project host.json shape', () => {
    const config = resolveHostConfig(
      {
        version: '2.0',
        extensions: {
          http: { routePrefix: '/v2/' },
          queues: {
            messageEncoding: 'none',
            maxDequeueCount: 3,
            visibilityTimeout: '00:00:15',
            maxPollingInterval: '00:00:02',
            batchSize: 4,
            newBatchThreshold: 1,
          },
        },
        functionTimeout: '00:05:00',
      },
      { env: {} },
    );
    expect(config.routePrefix).toBe('v2');
    expect(config.queues).toEqual({
      batchSize: 4,
      newBatchThreshold: 1,
      maxPollingIntervalMs: 2_000,
      visibilityTimeoutMs: 15_000,
      maxDequeueCount: 3,
      messageEncoding: 'none',
    });
    expect(config.functionTimeoutMs).toBe(300_000);
  });

  it('lets the override change one setting and keep the others (deep merge, keys case-insensitive)', () => {
    const config = resolveHostConfig(
      { extensions: { queues: { messageEncoding: 'none', batchSize: 4 } } },
      { override: { Extensions: { queues: { maxDequeueCount: 2 } } }, env: {} },
    );
    expect(config.queues).toMatchObject({ messageEncoding: 'none', batchSize: 4, maxDequeueCount: 2 });
  });

  it('lets AzureFunctionsJobHost__ app settings override host.json', () => {
    const config = resolveHostConfig(
      { extensions: { queues: { batchSize: 4 } } },
      {
        env: {
          AzureFunctionsJobHost__extensions__queues__batchSize: '1',
          AzureFunctionsJobHost__extensions__http__routePrefix: '',
        },
      },
    );
    expect(config.queues.batchSize).toBe(1);
    expect(config.routePrefix).toBe('');
  });

  it('reads functionTimeout -1 as unbounded', () => {
    expect(resolveHostConfig({ functionTimeout: '-1' }, { env: {} }).functionTimeoutMs).toBeUndefined();
  });

  it('keeps the polling interval at least 100 ms', () => {
    expect(
      resolveHostConfig({ extensions: { queues: { maxPollingInterval: '00:00:00.010' } } }, { env: {} }).queues
        .maxPollingIntervalMs,
    ).toBe(100);
  });

  it.each([
    ['batchSize above 32', { extensions: { queues: { batchSize: 64 } } }],
    ['an unknown encoding', { extensions: { queues: { messageEncoding: 'utf8' } } }],
    ['a malformed TimeSpan', { extensions: { queues: { visibilityTimeout: 'soon' } } }],
    ['extensions that is not an object', { extensions: [] }],
  ])('refuses %s', (_name, hostJson) => {
    expect(() => resolveHostConfig(hostJson as Record<string, unknown>, { env: {} })).toThrow(LocalHostError);
  });

  it('reads host.json from the app directory, and an absent file as {}', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'host-json-'));
    try {
      expect((await loadHostConfig(dir, { env: {} })).routePrefix).toBe('api');
      await writeFile(path.join(dir, 'host.json'), JSON.stringify({ extensions: { http: { routePrefix: 'x' } } }));
      expect((await loadHostConfig(dir, { env: {} })).routePrefix).toBe('x');
      await writeFile(path.join(dir, 'host.json'), '{ not json');
      await expect(loadHostConfig(dir, { env: {} })).rejects.toMatchObject({ code: 'config' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('merges nested objects and replaces other values', () => {
    expect(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, d: { e: 1 } })).toEqual({
      a: { b: 1, c: [2] },
      d: { e: 1 },
    });
  });
});

describe('TimeSpan durations', () => {
  it.each([
    ['00:00:30', 30_000],
    ['00:01:00', 60_000],
    ['01:00:00', 3_600_000],
    ['00:00:00.100', 100],
    ['00:00:00.5', 500],
    ['1.02:00:00', 26 * 3_600_000],
    ['00:30', 1_800_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseTimeSpanMs(text, 'x')).toBe(ms);
  });

  it('takes a number as milliseconds and refuses text that is not a TimeSpan', () => {
    expect(parseTimeSpanMs(250, 'x')).toBe(250);
    expect(() => parseTimeSpanMs('30s', 'setting.name')).toThrow(/setting\.name/);
    expect(() => parseTimeSpanMs('-00:00:01', 'x')).toThrow(LocalHostError);
  });
});
