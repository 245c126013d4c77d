// Self time by function in a V8 CPU profile: `node bench/profile-summary.mjs <file.cpuprofile> [rows]`.
// Make one with `node --cpu-prof --cpu-prof-dir=<dir> --cpu-prof-interval 100 bench/dispatch.mjs`;
// sample counts compare runs on a loaded machine better than wall-clock times do.
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [rows]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
for (const id of profile.samples) {
  const f = byId.get(id).callFrame;
  const where = f.url.replace(/^file:\/\//, '').replace(/.*\/packages\//, '');
  const key = `${f.functionName || '(anonymous)'} ${where}${where ? `:${f.lineNumber + 1}` : ''}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
const total = profile.samples.length;
console.log(`${total} samples`);
for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 30))) {
  console.log(`${((100 * n) / total).toFixed(1).padStart(5)}% ${String(n).padStart(7)}  ${key}`);
}
