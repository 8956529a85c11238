import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { applyAppSettings, loadAppSettings } from '../../../sandbox/host/appSettings';

describe('local.settings.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'local-settings-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('merges Values under the environment: a variable already set wins', async () => {
    await writeFile(
      path.join(dir, 'local.settings.json'),
      JSON.stringify({ IsEncrypted: false, Values: { A: 'file', B: 'file', N: 5 }, Host: { LocalHttpPort: 7072 } }),
    );
    const settings = await loadAppSettings(dir, { env: { B: 'env', C: 'env' } });
    expect(settings.fileValues).toEqual({ A: 'file', B: 'file', N: '5' });
    expect(settings.merged).toMatchObject({ A: 'file', B: 'env', C: 'env', N: '5' });
    expect(settings.localHttpPort).toBe(7072);
    const target: Record<string, string | undefined> = { B: 'env' };
    applyAppSettings(settings, target);
    expect(target).toEqual({ A: 'file', B: 'env', N: '5' });
  });

  it('creates local.settings.json from the sample when it is missing, once', async () => {
    const sample = JSON.stringify({ IsEncrypted: false, Values: { FROM: 'sample' } });
    await writeFile(path.join(dir, 'local.settings.sample.json'), sample);
    const first = await loadAppSettings(dir, { env: {} });
    expect(first).toMatchObject({ createdFromSample: true, fileValues: { FROM: 'sample' } });
    expect(await readFile(path.join(dir, 'local.settings.json'), 'utf8')).toBe(sample);
    const second = await loadAppSettings(dir, { env: {} });
    expect(second.createdFromSample).toBe(false);
  });

  it('reads the sample without copying it when asked to (the process that starts the host)', async () => {
    await writeFile(
      path.join(dir, 'local.settings.sample.json'),
      JSON.stringify({ IsEncrypted: false, Values: { FROM: 'sample' } }),
    );
    const settings = await loadAppSettings(dir, { env: {}, sample: 'read' });
    expect(settings).toMatchObject({
      createdFromSample: false,
      fileValues: { FROM: 'sample' },
      file: path.join(dir, 'local.settings.sample.json'),
    });
    await expect(readFile(path.join(dir, 'local.settings.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('runs with no settings file at all', async () => {
    expect(await loadAppSettings(dir, { env: { X: '1' } })).toMatchObject({
      fileValues: {},
      merged: { X: '1' },
      file: undefined,
    });
  });

  it.each([
    ['not JSON', '{ nope'],
    ['encrypted', JSON.stringify({ IsEncrypted: true, Values: {} })],
    ['Values not an object', JSON.stringify({ Values: [] })],
  ])('refuses a file that is %s', async (_name, text) => {
    await writeFile(path.join(dir, 'local.settings.json'), text);
    await expect(loadAppSettings(dir, { env: {} })).rejects.toMatchObject({ name: 'LocalHostError', code: 'config' });
  });
});
