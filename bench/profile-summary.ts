import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The functions a V8 CPU profile (`node --cpu-prof`) spent most self time in,
 * and the packages, summed (idle time left out): `node dist-bench/bench/profile-summary.js <dir> [top]`.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 13).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (url.includes('/dist/src/')) return `bridge: ${url.slice(url.indexOf('/dist/src/') + 10)}`;
  return url.startsWith('node:') ? 'node core' : url;
}

function main(): void {
  const dir = process.argv[2];
  const top = Number(process.argv[3] ?? 15);
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
      const us = profile.timeDeltas[i] ?? 0;
      if (functionName === '(idle)') return;
      total += us;
      const fn = `${functionName || '(anonymous)'} ${where(url)}:${lineNumber + 1}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      const place = url === '' ? functionName : where(url);
      byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    });
  }
  const table = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        '%': +((us / total) * 100).toFixed(1),
      }));
  console.log(`${dir}: ${Math.round(total / 1000)} ms sampled`);
  console.table(table(byPlace));
  console.table(table(byFunction));
}

main();
