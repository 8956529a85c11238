/**
 * Summarises a `.cpuprofile` (V8 sampling profile): self time by function and by package/file, and
 * inclusive time of chosen frames. `node dist/bench/lib/cpuProfileSummary.js <file> [--top 25]`.
 */
import { readFileSync } from 'node:fs';
import { parseOptions } from './args';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time (ms) by function and by source (package or app file), heaviest first. */
export function summariseProfile(
  profile: CpuProfile,
  top = 25,
): {
  totalMs: number;
  idleMs: number;
  byFunction: Array<{ name: string; ms: number }>;
  bySource: Array<{ source: string; ms: number }>;
  inclusiveBySource: Array<{ source: string; ms: number }>;
} {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const sourceOf = (url: string): string => {
    if (!url) return '(native)';
    const nm = url.lastIndexOf('node_modules/');
    if (nm >= 0) {
      const rest = url.slice(nm + 'node_modules/'.length).split('/');
      return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    }
    if (url.startsWith('node:')) return url;
    const dist = url.indexOf('/dist/');
    return dist >= 0 ? url.slice(dist + 1) : url;
  };
  const fn = new Map<string, number>();
  const src = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    totalMs += ms;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      if (name === '(idle)') idleMs += ms;
      fn.set(name, (fn.get(name) ?? 0) + ms);
      continue;
    }
    const source = sourceOf(node.callFrame.url);
    fn.set(
      `${name} ${source}:${node.callFrame.lineNumber + 1}`,
      (fn.get(`${name} ${source}:${node.callFrame.lineNumber + 1}`) ?? 0) + ms,
    );
    src.set(source, (src.get(source) ?? 0) + ms);
    // Inclusive by source: every distinct source on the stack gets the sample once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const s = sourceOf(byId.get(at)!.callFrame.url);
      if (!seen.has(s)) {
        seen.add(s);
        inclusive.set(s, (inclusive.get(s) ?? 0) + ms);
      }
    }
  }
  const sorted = <K extends string>(m: Map<string, number>, key: K) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => ({ [key]: k, ms: Math.round(ms) }) as Record<K, string> & { ms: number });
  return {
    totalMs: Math.round(totalMs),
    idleMs: Math.round(idleMs),
    byFunction: sorted(fn, 'name'),
    bySource: sorted(src, 'source'),
    inclusiveBySource: sorted(inclusive, 'source'),
  };
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: cpuProfileSummary <file.cpuprofile> [--top N]');
  const options = parseOptions({ top: { kind: 'number', default: 25, min: 1 } }, process.argv.slice(3));
  const summary = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, options.top);
  console.log(JSON.stringify(summary, null, 1));
}

if (require.main === module) main();
