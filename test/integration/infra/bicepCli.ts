/**
 * Test helpers for infra/: run the Bicep CLI through scripts/bicep.sh (which restores it from NuGet on
 * first use) and read the compiled ARM template (`bicep build --stdout`).
 *
 * The compiled template is what Azure deploys, so the tests read it rather than the .bicep text. With
 * symbolic names (languageVersion 2.0) `resources` is an object keyed by the Bicep symbol; older output
 * is an array. Modules become `Microsoft.Resources/deployments` with an inner `template` and the
 * `parameters` main.bicep passes to it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');
/** infra/main.bicep, relative to the root (the CLI prints paths as given). */
export const MAIN_BICEP = 'infra/main.bicep';
/** First restore of the CLI downloads a ~110 MB NuGet package: give it time. */
export const RESTORE_TIMEOUT_MS = 5 * 60_000;

/** The outcome of one CLI run. */
export interface BicepRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bash scripts/bicep.sh ...args` from the repository root; never rejects (the caller asserts). */
export function runBicep(
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<BicepRun> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [path.join(REPO_ROOT, 'scripts/bicep.sh'), ...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        timeout: options.timeoutMs ?? RESTORE_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr: error && !stderr ? String(error.message) : stderr });
      },
    );
  });
}

/** The version pinned in scripts/bicep.sh (`BICEP_VERSION="${BICEP_VERSION:-x.y.z}"`). */
export function pinnedBicepVersion(): string {
  const script = readFileSync(path.join(REPO_ROOT, 'scripts/bicep.sh'), 'utf8');
  const match = /BICEP_VERSION="\$\{BICEP_VERSION:-([0-9][0-9.]*)\}"/.exec(script);
  if (!match) throw new Error('scripts/bicep.sh does not pin BICEP_VERSION');
  return match[1];
}

/** A compiled ARM template (only what the tests read). */
export interface ArmTemplate {
  languageVersion?: string;
  parameters?: Record<string, { type: string; defaultValue?: unknown; allowedValues?: unknown[] }>;
  variables?: Record<string, unknown>;
  resources: Record<string, ArmResource> | ArmResource[];
  outputs?: Record<string, { type: string; value: unknown }>;
}

/** A resource of a compiled template. */
export interface ArmResource {
  type: string;
  name: string;
  condition?: unknown;
  kind?: string;
  sku?: Record<string, unknown>;
  properties?: Record<string, any>;
  [key: string]: unknown;
}

/** A resource with its Bicep symbol (when the template has symbolic names). */
export type NamedResource = ArmResource & { symbol: string };

/** Every resource of `template` (not descending into modules). */
export function resourcesOf(template: ArmTemplate): NamedResource[] {
  const { resources } = template;
  return Array.isArray(resources)
    ? resources.map((r, i) => ({ ...r, symbol: String(i) }))
    : Object.entries(resources).map(([symbol, r]) => ({ ...r, symbol }));
}

/** Resources of one type; fails when there is none. */
export function resourcesOfType(template: ArmTemplate, type: string): NamedResource[] {
  const found = resourcesOf(template).filter((r) => r.type.toLowerCase() === type.toLowerCase());
  if (found.length === 0) throw new Error(`no resource of type ${type} in the template`);
  return found;
}

/** One module of `template`: its inner template and the parameters passed to it. */
export interface CompiledModule {
  template: ArmTemplate;
  passed: Record<string, { value?: unknown }>;
}

/** The module deployed under `deploymentName` (the Bicep `name:` of the module). */
export function moduleOf(template: ArmTemplate, deploymentName: string): CompiledModule {
  const deployment = resourcesOf(template).find(
    (r) => r.type === 'Microsoft.Resources/deployments' && r.name === deploymentName,
  );
  if (!deployment?.properties?.template) throw new Error(`no module deployment named ${deploymentName}`);
  return { template: deployment.properties.template as ArmTemplate, passed: deployment.properties.parameters ?? {} };
}

/** Every module of `template`, by deployment name. */
export function modulesOf(template: ArmTemplate): Record<string, CompiledModule> {
  const out: Record<string, CompiledModule> = {};
  for (const r of resourcesOf(template)) {
    if (r.type === 'Microsoft.Resources/deployments' && r.properties?.template)
      out[r.name] = moduleOf(template, r.name);
  }
  return out;
}

/** Every resource of `template` and of its modules, depth first. */
export function allResources(template: ArmTemplate): NamedResource[] {
  return resourcesOf(template).flatMap((r) =>
    r.type === 'Microsoft.Resources/deployments' && r.properties?.template
      ? [r, ...allResources(r.properties.template)]
      : [r],
  );
}

/**
 * Resolves the ARM expressions the tests meet: `[variables('x')]`, and `[parameters('x')]` to the value
 * passed to a module or else the parameter's default, also inside arrays. Anything else is returned
 * unchanged.
 */
export function resolve(value: unknown, template: ArmTemplate, passed: CompiledModule['passed'] = {}): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, template, passed));
  if (typeof value !== 'string') return value;
  const variable = /^\[variables\('([^']+)'\)\]$/.exec(value);
  if (variable) return resolve(template.variables?.[variable[1]], template, passed);
  const parameter = /^\[parameters\('([^']+)'\)\]$/.exec(value);
  if (parameter) {
    const name = parameter[1];
    if (name in passed) return passed[name].value;
    return template.parameters?.[name]?.defaultValue;
  }
  return value;
}

let cached: Promise<ArmTemplate> | undefined;

/** `bicep build infra/main.bicep --stdout`, parsed; built once per test file. Rejects with the CLI output on failure. */
export function compiledMainTemplate(): Promise<ArmTemplate> {
  cached ??= runBicep(['build', MAIN_BICEP, '--stdout']).then((run) => {
    if (run.code !== 0) throw new Error(`bicep build failed (exit ${run.code}):\n${run.stderr}\n${run.stdout}`);
    return JSON.parse(run.stdout) as ArmTemplate;
  });
  return cached;
}
