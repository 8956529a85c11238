/**
 * `npm start` (dist/sandbox/start.js) in a child process, as a developer runs it: a variable set in its
 * environment wins over the sandbox's own choice of that app setting, and `.sandbox/endpoints.json`
 * names the simulator's origin and its inspection URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { example } from '../../helpers/examples';
import { APP_DIR } from '../../helpers/sandboxHarness';

jest.setTimeout(120_000);

const stateDir = mkdtempSync(path.join(tmpdir(), 'bridge-npm-start-'));
let child: ChildProcess;
const output: string[] = [];

/** Starts dist/sandbox/start.js with `env` added to this process's environment; resolves on its ready line. */
function start(env: Record<string, string>): Promise<void> {
  child = spawn(process.execPath, [path.join(APP_DIR, 'dist', 'sandbox', 'start.js')], {
    cwd: APP_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      output.push(...lines);
      if (lines.some((line) => line.includes('Sandbox ready'))) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}): ${output.slice(-20).join('\n')}`)));
  });
}

beforeAll(async () => {
  await start({ SANDBOX_FREE_PORTS: '1', SANDBOX_STATE_DIR: stateDir, CALLBACK_ALLOW_PRIVATE_TARGETS: 'false' });
});
afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
});

const endpoints = () =>
  JSON.parse(readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')) as Record<string, string>;

describe('npm start with an app setting in its environment', () => {
  it("runs the app with the environment's value, not the sandbox's, and says which setting it took", () => {
    const settings = JSON.parse(readFileSync(path.join(stateDir, 'local.settings.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    expect(settings.Values.CALLBACK_ALLOW_PRIVATE_TARGETS).toBe('false');
    expect(output.filter((line) => line.startsWith('From your environment'))).toEqual([
      expect.stringMatching(/\sCALLBACK_ALLOW_PRIVATE_TARGETS$/),
    ]);
  });

  it('applies the production callback policy: a loopback http callbackUrl is refused', async () => {
    const body = { ...example('request-example.json'), callbackUrl: 'http://127.0.0.1:9/referral-events' };
    const response = await fetch(`${endpoints().functions}/referrals/validate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const problem = (await response.json()) as { errors?: Array<{ pointer: string }> };
    expect(response.status).toBe(400);
    expect(problem.errors?.map((e) => e.pointer)).toContain('/callbackUrl');
  });

  it("names the simulator's origin and its inspection URL in endpoints.json", async () => {
    const { partnerCenter, partnerCenterOrigin, partnerCenterInspect } = endpoints();
    expect(partnerCenterOrigin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(partnerCenter).toBe(`${partnerCenterOrigin}/v1.0/engagements/referrals`);
    expect(partnerCenterInspect).toBe(`${partnerCenterOrigin}/_sandbox/referrals`);
    const inspected = await fetch(partnerCenterInspect);
    expect(inspected.status).toBe(200);
    const listing = (await inspected.json()) as { value: unknown; count: unknown };
    expect(Array.isArray(listing.value)).toBe(true);
    expect(typeof listing.count).toBe('number');
  });
});
