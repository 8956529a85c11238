/**
 * infra/main.bicep compiles and lints clean with the pinned Bicep CLI, restored offline from NuGet by
 * scripts/bicep.sh. These tests fail (never skip) when the CLI cannot be restored: CI must have it.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAIN_BICEP, REPO_ROOT, RESTORE_TIMEOUT_MS, pinnedBicepVersion, runBicep, type BicepRun } from './bicepCli';

let version: BicepRun;

beforeAll(async () => {
  // The first call restores the CLI (dotnet restore); the later ones find it cached.
  version = await runBicep(['--version']);
  if (version.code !== 0) {
    throw new Error(
      `scripts/bicep.sh could not restore or run the Bicep CLI (exit ${version.code}):\n${version.stderr}`,
    );
  }
}, RESTORE_TIMEOUT_MS);

/** Every .bicep file under infra/. */
function bicepFiles(dir = path.join(REPO_ROOT, 'infra')): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return bicepFiles(full);
    return entry.endsWith('.bicep') ? [full] : [];
  });
}

describe('Bicep CLI from scripts/bicep.sh', () => {
  it('runs the version pinned in the script', () => {
    expect(version.stdout).toContain(`Bicep CLI version ${pinnedBicepVersion()}`);
  });
});

describe('infra/main.bicep', () => {
  it('compiles with no errors and no warnings', async () => {
    const build = await runBicep(['build', MAIN_BICEP, '--stdout']);
    expect(build.stderr.trim()).toBe('');
    expect(build.code).toBe(0);
    expect(() => JSON.parse(build.stdout)).not.toThrow();
  });

  it('lints with nothing to report', async () => {
    const lint = await runBicep(['lint', MAIN_BICEP]);
    expect({ code: lint.code, output: (lint.stdout + lint.stderr).trim() }).toEqual({ code: 0, output: '' });
  });

  it('uses only local modules, so it compiles without a registry', () => {
    const registryReferences = bicepFiles().flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /^\s*module\s+\w+\s+'(br|ts)[:/]/.test(line))
        .map((line) => `${path.relative(REPO_ROOT, file)}: ${line.trim()}`),
    );
    expect(registryReferences).toEqual([]);
  });
});

describe('infra/bicepconfig.json', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bicep-lint-'));
    copyFileSync(path.join(REPO_ROOT, 'infra/bicepconfig.json'), path.join(dir, 'bicepconfig.json'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['no-unused-params', "param unused string = 'x'\n"],
    ['no-unused-vars', "var unused = 'x'\n"],
    ['no-hardcoded-env-urls', "output url string = 'https://management.azure.com/'\n"],
  ])('turns a %s finding into an error that fails the build', async (rule, source) => {
    const file = path.join(dir, `${rule}.bicep`);
    writeFileSync(file, source);
    const build = await runBicep(['build', file, '--stdout']);
    expect(build.code).not.toBe(0);
    expect(build.stderr).toMatch(new RegExp(`Error ${rule}:`));
  });
});
