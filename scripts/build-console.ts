/**
 * `node dist/scripts/build-console.js` (run by `npm run build` after tsc): bundles console/src with esbuild
 * into dist/console: index.html and content-hashed `app-<hash>.js` / `app-<hash>.css` (Preact, htm, uPlot
 * included: the page loads nothing from elsewhere at run time).
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { build } from 'esbuild';

/** The checkout (console/ sources); CONSOLE_REPO_ROOT when the script was compiled elsewhere (stage-package.sh). */
const ROOT = process.env.CONSOLE_REPO_ROOT ?? path.resolve(__dirname, '../..');
const SOURCE = path.join(ROOT, 'console');
const OUT = path.join(ROOT, 'dist', 'console');

/** Builds the console; resolves to the names written. */
export async function buildConsole(outDir: string = OUT): Promise<string[]> {
  const staging = path.join(outDir, '.staging');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await build({
    entryPoints: { app: path.join(SOURCE, 'src', 'main.ts') },
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    outdir: staging,
    logLevel: 'warning',
    tsconfig: path.join(SOURCE, 'tsconfig.json'),
  });
  const names: Record<string, string> = {};
  for (const file of readdirSync(staging)) {
    const body = readFileSync(path.join(staging, file));
    const ext = path.extname(file);
    const name = `app-${createHash('sha256').update(body).digest('hex').slice(0, 12)}${ext}`;
    writeFileSync(path.join(outDir, name), body);
    names[ext] = name;
  }
  rmSync(staging, { recursive: true, force: true });
  if (!names['.js'] || !names['.css']) throw new Error('esbuild wrote no script or no style sheet');
  const html = readFileSync(path.join(SOURCE, 'index.html'), 'utf8')
    .replace('__APP_JS__', names['.js'])
    .replace('__APP_CSS__', names['.css']);
  writeFileSync(path.join(outDir, 'index.html'), html);
  return ['index.html', names['.js'], names['.css']];
}

if (require.main === module) {
  // `--out DIR` writes elsewhere (infra/hooks/stage-package.sh stages the deployment package).
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex > 0 && process.argv[outIndex + 1] ? path.resolve(process.argv[outIndex + 1]) : OUT;
  buildConsole(outDir).then(
    (names) => console.log(`console: ${names.join(', ')} in ${outDir}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
