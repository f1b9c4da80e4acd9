/**
 * Summarises a V8 `.cpuprofile` (from `BENCH_CPU_PROF=<dir> BENCH_ONLY=create npm run bench`):
 * self time by function and by where the code lives (our src/, a package, Node internals, GC).
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return '(garbage collector)';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (!url) return '(native / builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const own = /dist\/(src\/[^/]+|bench|sim)/.exec(url);
  return own ? own[1] : url;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()]
    .filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)')
    .reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, t] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    const name = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '')}:${lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + t);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + t);
  }
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1)}%`;
  console.log(
    `profile: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)}%)\n`,
  );
  console.log('self time by area (share of busy time):');
  for (const [a, t] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top))
    console.log(`  ${pct(t).padStart(6)}  ${a}`);
  console.log('\ntop functions by self time:');
  for (const [f, t] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top))
    console.log(`  ${pct(t).padStart(6)}  ${f}`);
}

main();
