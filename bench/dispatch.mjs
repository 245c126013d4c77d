// Eager dispatch cost, apart from the kernels: `node bench/dispatch.mjs [ops] [reps]`.
// Times, per op of the bench's tiny-ops chain (alternating add(1) / mul(0.5) on 16 floats):
//   record  — building the lazy graph (Tensor methods, promotion, broadcasting, node interning);
//   realize — computing it: a replay of the stored plan (structure key, launches on the new buffers);
//   read    — the host copy (dataSync) after the realize;
//   total   — the bench's case: chain(x).dataSync().
// Every repetition gets an input it has never seen (drawn and realized before the clock starts).
// Medians over `reps`; with `--cpu-prof` node writes a profile of the whole run (bench/profile-summary.mjs sums it).
const torch = await import('@fusor/tensor');
const { cpuStats } = await import('@fusor/backend-cpu');
const { freshRandn, TINY } = await import('./common.mjs');

const ops = Number(process.argv[2] ?? TINY.ops);
const reps = Number(process.argv[3] ?? 200);
const chain = (v) => {
  for (let i = 0; i < ops; i++) v = i % 2 === 0 ? v.add(1) : v.mul(0.5);
  return v;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rec = [];
const real = [];
const read = [];
const total = [];
for (let r = 0; r < reps + 5; r++) {
  const x = freshRandn(torch, [TINY.size]);
  const t0 = performance.now();
  const y = chain(x);
  const t1 = performance.now();
  y.realize();
  const t2 = performance.now();
  y.dataSync();
  const t3 = performance.now();
  const x2 = freshRandn(torch, [TINY.size]);
  const t4 = performance.now();
  chain(x2).dataSync();
  const t5 = performance.now();
  if (r < 5) continue; // warm-up: compiles, the first plan
  rec.push(t1 - t0);
  real.push(t2 - t1);
  read.push(t3 - t2);
  total.push(t5 - t4);
}
const us = (ms) => ((ms * 1000) / ops).toFixed(2);
const [l1, l5] = (await import('node:os')).loadavg();
console.log(`ops ${ops}, reps ${reps}, load average ${l1.toFixed(2)} / ${l5.toFixed(2)} (1 / 5 min)`);
console.log(`record   ${us(median(rec))} µs/op`);
console.log(`realize  ${us(median(real))} µs/op (plan replays: ${torch.compilerStats().replayed})`);
console.log(`launches: ${JSON.stringify(cpuStats())} (threaded: split over the worker pool)`);
console.log(`read     ${(median(read) * 1000).toFixed(1)} µs once`);
console.log(`total    ${us(median(total))} µs/op  (chain(x).dataSync(): ${median(total).toFixed(3)} ms)`);
process.exit(0);
