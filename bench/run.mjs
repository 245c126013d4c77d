// `pnpm bench`: fusor's cpu backend side by side with PyTorch (through /usr/bin/python3, when torch
// imports) and tfjs (cpu and wasm backends), in one run. Each library runs in its own process,
// one after the other, so none competes with another for the cores. Prints a table of medians and
// ratios (PyTorch at its best / fusor: above 1, fusor is faster) and writes the whole run as JSON
// to bench-results/ (git-ignored).
//
//   pnpm bench                      everything (a few minutes on 2 cores)
//   pnpm bench -- --skip tfjs,torch only some runners (fusor, torch, tfjs, cold, webgpu, webgpu-browser)
//   pnpm bench -- --only webgpu,webgpu-browser   only the runners named
//   BENCH_CASES=conv2d pnpm bench -- --only fusor,torch   only the cases that opt in (conv2d), fusor vs torch
//   pnpm bench -- --only epoch      one Fashion-MNIST training epoch, fusor and PyTorch (fusor-epoch.mjs, torch_epoch.py)
//   pnpm bench -- --only indexing   embedding lookup fwd+bwd, sort and topk of 1M, cumsum of 16M, fusor and PyTorch (indexing.mjs)
//
// webgpu: fusor on webgpu in Node (fusor-webgpu.mjs; the adapter from scripts/setup-webgpu.sh when
// .webgpu/ holds it). webgpu-browser: fusor and tfjs's webgpu backend side by side in headless
// Chromium on the same adapter (browser-webgpu.mjs). On a software adapter only ratios mean something.
// distributed: @fusor/distributed under mpirun (distributed.mjs): all-reduce of 1–64 MiB against the
// same MPI library's MPI_Allreduce, and DDP steps per second on 1 and 2 ranks (needs OpenMPI).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MATMUL_SIZES, MLP } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const argv = process.argv.slice(2);
const listArg = (flag) => (argv.includes(flag) ? (argv[argv.indexOf(flag) + 1] ?? '').split(',').filter(Boolean) : undefined);
const RUNNERS = ['fusor', 'torch', 'tfjs', 'cold', 'webgpu', 'webgpu-browser', 'distributed', 'epoch', 'indexing'];
const only = listArg('--only');
const skip = new Set([...(listArg('--skip') ?? []), ...(only ? RUNNERS.filter((r) => !only.includes(r)) : [])]);
const PYTHON = '/usr/bin/python3';
const TORCH_THREADS = 2;

const log = (s) => process.stderr.write(`${s}\n`);

/** Runs a runner to completion; its result is the JSON on the last line of its stdout. */
function run(cmd, args, env = process.env) {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd: here, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = performance.now() - t;
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return { ...JSON.parse(last), wall_ms: wall };
  } catch {
    return { error: `${cmd} ${args.join(' ')} failed (status ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}` };
  }
}

/**
 * The environment every runner that calls OpenBLAS runs in (PyTorch, and fusor's BLAS routine,
 * which loads the same library): OpenBLAS left to detect the machine itself. This machine's
 * environment sets OPENBLAS_CORETYPE=Haswell; PyTorch ran without it from the start and fusor
 * with it, which held fusor's products to AVX2 kernels against PyTorch's AVX-512 ones (matmul 1024:
 * 178 against 465 GFLOP/s through the same library).
 */
function blasEnv() {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

function torchAvailable() {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { env: blasEnv(), encoding: 'utf8' });
  return r.status === 0 ? true : `torch does not import: ${(r.stderr ?? '').trim().split('\n').pop()}`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Cold start: `reps` fresh processes, the median of each timing. */
function cold(cmd, args, env, reps = 3) {
  const runs = Array.from({ length: reps }, () => run(cmd, args, env));
  const bad = runs.find((r) => r.error);
  if (bad) return bad;
  const pick = (k) => median(runs.map((r) => r[k]));
  return { import_ms: pick('import_ms'), first_step_ms: pick('first_step_ms'), total_ms: pick('total_ms'), wall_ms: pick('wall_ms'), reps };
}

const machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memory_gib: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  loadavg_before: loadavg(),
};
log(`pnpm bench on ${machine.cpu} (${machine.cores} cores), node ${machine.node}; load average ${machine.loadavg_before.map((x) => x.toFixed(2)).join(' ')}`);

const out = { date: new Date().toISOString(), machine, runners: {} };
const torchOk = skip.has('torch') && skip.has('epoch') ? 'skipped' : torchAvailable();

if (!skip.has('fusor')) {
  log('fusor (cpu backend) …');
  out.runners.fusor = run(process.execPath, ['fusor.mjs'], blasEnv());
}
if (torchOk === true && !skip.has('torch')) {
  log(`PyTorch (${PYTHON}, ${TORCH_THREADS} threads, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, as for fusor) …`);
  out.runners.torch = run(PYTHON, ['torch_bench.py', JSON.stringify({ threads: TORCH_THREADS })], blasEnv());
} else {
  out.runners.torch = { unavailable: skip.has('torch') ? 'skipped' : torchOk };
  log(`PyTorch: not available (${out.runners.torch.unavailable})`);
}
if (!skip.has('tfjs')) {
  for (const b of ['cpu', 'wasm']) {
    log(`tfjs ${b} …`);
    out.runners[`tfjs-${b}`] = run(process.execPath, ['tfjs.mjs', b]);
  }
}
if (!skip.has('webgpu')) {
  log('fusor (webgpu backend, Node) …');
  const env = { ...process.env };
  const icd = join(root, '.webgpu', 'vk_swiftshader_icd.json');
  if (!env.VK_ICD_FILENAMES && existsSync(icd)) {
    env.VK_ICD_FILENAMES = icd;
    env.LD_LIBRARY_PATH = [join(root, '.webgpu'), env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  out.runners['fusor-webgpu'] = run(process.execPath, ['fusor-webgpu.mjs'], env);
  if (out.runners['fusor-webgpu'].unavailable) log(`fusor webgpu: not available (${out.runners['fusor-webgpu'].unavailable})`);
}
if (!skip.has('webgpu-browser')) {
  log('fusor and tfjs on webgpu in headless Chromium …');
  out.runners['webgpu-browser'] = run(process.execPath, ['browser-webgpu.mjs']);
  if (out.runners['webgpu-browser'].unavailable) log(`webgpu in Chromium: not available (${out.runners['webgpu-browser'].unavailable})`);
}
if (!skip.has('cold')) {
  log('cold starts (fresh processes) …');
  out.cold = {
    'fusor (blas)': cold(process.execPath, ['fusor.mjs', 'cold', 'blas'], blasEnv()),
    'fusor (portable)': cold(process.execPath, ['fusor.mjs', 'cold', 'portable'], blasEnv()),
    torch: torchOk === true ? cold(PYTHON, ['torch_bench.py', JSON.stringify({ mode: 'cold', threads: TORCH_THREADS })], blasEnv()) : { unavailable: torchOk },
    ...(skip.has('tfjs') ? {} : { 'tfjs-cpu': cold(process.execPath, ['tfjs.mjs', 'cpu', 'cold']), 'tfjs-wasm': cold(process.execPath, ['tfjs.mjs', 'wasm', 'cold']) }),
  };
}
if (!skip.has('epoch')) {
  log('one training epoch (small CNN, batch 64, Adam), fusor then PyTorch …');
  out.epoch = {
    fusor: run(process.execPath, ['fusor-epoch.mjs'], blasEnv()),
    torch: torchOk === true ? run(PYTHON, ['torch_epoch.py', JSON.stringify({ threads: TORCH_THREADS })], blasEnv()) : { unavailable: torchOk },
    // the forward pass and backward traced once by torch.jit and replayed (Adam eager), as a user may run it
    'fusor (jit)': run(process.execPath, ['fusor-epoch.mjs', '--jit'], blasEnv()),
  };
}
if (!skip.has('indexing')) {
  log('indexing, sorting and scans (embedding, sort, topk, cumsum), fusor and PyTorch in one process …');
  out.indexing = run(process.execPath, ['indexing.mjs'], blasEnv());
}
if (!skip.has('distributed')) {
  const mpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (mpirun.status !== 0) {
    out.distributed = { unavailable: 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)' };
    log(`distributed: not available (${out.distributed.unavailable})`);
  } else {
    const mpi = (n, mode) =>
      run('mpirun', [...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '--oversubscribe', '-n', String(n), process.execPath, 'distributed.mjs', mode]);
    log('distributed: all-reduce under mpirun -n 2 …');
    out.distributed = { allreduce: mpi(2, 'allreduce') };
    log('distributed: DDP steps on 1 and 2 ranks …');
    out.distributed.ddp = { 1: mpi(1, 'ddp'), 2: mpi(2, 'ddp') };
  }
}
machine.loadavg_after = loadavg();

// ---------------------------------------------------------------- the table

const F = out.runners.fusor?.results ?? {};
const T = out.runners.torch?.results;
const TC = out.runners['tfjs-cpu']?.results;
const TW = out.runners['tfjs-wasm']?.results;
const FW = out.runners['fusor-webgpu']?.results;
const ms = (r) => (r && typeof r.median_ms === 'number' ? r.median_ms : undefined);

/** One row: fusor's time, PyTorch plain and at its best, tfjs cpu and wasm, and the flops if it is a product. */
const rows = [];
for (const v of ['portable', 'blas']) {
  for (const n of MATMUL_SIZES) {
    const f = F[`matmul (${v})`]?.[n];
    rows.push({
      case: `matmul ${n} (${v})`,
      fusor: ms(f),
      note: f?.skipped ?? F[`matmul (${v})`]?.unavailable,
      torchPlain: ms(T?.[`matmul ${n}`]?.plain),
      torchBest: ms(T?.[`matmul ${n}`]?.best),
      tfjsCpu: ms(TC?.matmul?.[n]) ?? (TC?.matmul?.[n]?.skipped && 'skipped'),
      tfjsWasm: ms(TW?.matmul?.[n]) ?? (TW?.matmul?.[n]?.skipped && 'skipped'),
      webgpu: ms(FW?.matmul?.[n]),
      flops: 2 * n ** 3,
    });
  }
}
const same = (name, torchName = name, tfjsName = name) => ({
  torchPlain: ms(T?.[torchName]?.plain),
  torchBest: ms(T?.[torchName]?.best ?? T?.[torchName]?.plain),
  tfjsCpu: ms(TC?.[tfjsName]),
  tfjsWasm: ms(TW?.[tfjsName]),
});
rows.push({ case: 'elementwise chain 16M', fusor: ms(F['elementwise chain 16M']), ...same('elementwise chain 16M') });
rows.push({ case: 'softmax 4096x1024', fusor: ms(F['softmax 4096x1024']), ...same('softmax 4096x1024') });
// fusor's result also read into a new host array; torch's best form leaves it in a preallocated tensor
rows.push({ case: 'softmax 4096x1024 + read', fusor: ms(F['softmax 4096x1024 + read']), ...same('softmax 4096x1024') });
for (const mode of ['eager', 'jit']) {
  for (const v of ['portable', 'blas']) {
    const name = `mlp step ${mode} (${v})`;
    rows.push({ case: name, fusor: ms(F[name]), ...same(name, 'mlp step', 'mlp step'), webgpu: mode === 'eager' ? ms(FW?.['mlp step']) : undefined });
  }
}
rows.push({ case: 'conv2d resnet block fwd+bwd', fusor: ms(F['conv2d resnet block fwd+bwd']), ...same('conv2d resnet block fwd+bwd') });
rows.push({ case: '1000 tiny ops', fusor: ms(F['1000 tiny ops']), ...same('1000 tiny ops') });
rows.push({ case: '1000 tiny ops (jit)', fusor: ms(F['1000 tiny ops (jit)']), ...same('1000 tiny ops (jit)', '1000 tiny ops', '1000 tiny ops') });
for (const v of ['blas', 'portable']) {
  const c = out.cold?.[`fusor (${v})`];
  rows.push({
    case: `cold start, mlp step (${v})`,
    fusor: c?.total_ms,
    torchPlain: out.cold?.torch?.total_ms,
    torchBest: out.cold?.torch?.total_ms,
    tfjsCpu: out.cold?.['tfjs-cpu']?.total_ms,
    tfjsWasm: out.cold?.['tfjs-wasm']?.total_ms,
  });
}
for (const r of rows) r.ratio = r.torchBest !== undefined && r.fusor ? r.torchBest / r.fusor : undefined;

/** The goals of the runtime issue (#10) and the earlier ones, checked against this run. */
const GOALS = [
  { case: 'matmul 1024 (portable)', text: '≥ 75 GFLOP/s', ok: (r) => r.fusor && r.flops / r.fusor / 1e6 >= 75 },
  { case: 'matmul 1024 (blas)', text: 'ratio ≥ 0.9', ok: (r) => r.ratio >= 0.9 },
  { case: 'elementwise chain 16M', text: 'ratio ≥ 1.5', ok: (r) => r.ratio >= 1.5 },
  { case: 'softmax 4096x1024', text: 'ratio ≥ 1.0', ok: (r) => r.ratio >= 1 },
  { case: 'mlp step eager (blas)', text: 'ratio ≥ 0.5', ok: (r) => r.ratio >= 0.5 },
  { case: 'mlp step eager (portable)', text: 'ratio ≥ 0.3', ok: (r) => r.ratio >= 0.3 },
  { case: 'mlp step jit (blas)', text: 'ratio ≥ 1.0', ok: (r) => r.ratio >= 1 },
  { case: '1000 tiny ops', text: 'ratio ≥ 1.0', ok: (r) => r.ratio >= 1 },
  { case: 'cold start, mlp step (blas)', text: '< 300 ms', ok: (r) => r.fusor < 300 },
];
for (const g of GOALS) {
  const r = rows.find((x) => x.case === g.case);
  if (!r) continue;
  r.goal = g.text;
  const needsTorch = g.text.startsWith('ratio');
  r.reached = r.fusor === undefined ? 'no data' : needsTorch && r.ratio === undefined ? 'n/a (no torch)' : g.ok(r) ? 'yes' : 'NO';
}

const fmt = (v, r) => {
  if (v === 'skipped') return v;
  if (v === undefined) return r?.note ? 'skipped' : '—';
  const t = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return r?.flops ? `${t} (${(r.flops / v / 1e6).toFixed(1)} GF/s)` : t;
};
const header = ['case', 'fusor ms', 'fusor webgpu ms', 'torch plain ms', 'torch best ms', 'tfjs cpu ms', 'tfjs wasm ms', 'torch best / fusor', 'goal', 'reached'];
const webgpuNote = skip.has('webgpu') ? 'skipped' : out.runners['fusor-webgpu']?.unavailable ? 'not available' : out.runners['fusor-webgpu']?.error ? 'failed' : '—';
const table = rows.map((r) => [
  r.case,
  fmt(r.fusor, r),
  r.webgpu === undefined ? webgpuNote : fmt(r.webgpu, { flops: r.flops }),
  T || out.cold?.torch?.total_ms ? fmt(r.torchPlain, { flops: r.flops }) : 'not available',
  T || out.cold?.torch?.total_ms ? fmt(r.torchBest, { flops: r.flops }) : 'not available',
  fmt(r.tfjsCpu, { flops: r.flops }),
  fmt(r.tfjsWasm, { flops: r.flops }),
  r.ratio === undefined ? (T ? '—' : 'not available') : r.ratio.toFixed(2),
  r.goal ?? '',
  r.reached ?? '',
]);
/** A markdown table, columns padded. */
function render(header, table) {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => String(row[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.map(line)].join('\n');
}
let text = render(header, table);

// ---------------------------------------------------------------- webgpu: Node, and Chromium against tfjs

const B = out.runners['webgpu-browser'];
if (!skip.has('webgpu') || !skip.has('webgpu-browser')) {
  const BF = B?.fusor?.results;
  const BT = B?.tfjs?.results;
  const cases = [
    ...[256, 512, 1024].map((n) => ({ case: `matmul ${n}`, get: (r) => r?.matmul?.[n], flops: 2 * n ** 3 })),
    { case: `mlp step ${MLP.input}-${MLP.hidden}-${MLP.classes} batch ${MLP.batch}`, get: (r) => r?.['mlp step'] },
    { case: 'softmax 4096x1024', get: (r) => r?.softmax },
    { case: 'elementwise chain 1M', get: (r) => r?.['elementwise chain 1M'] },
  ];
  const why = (r, skipped) => (skipped ? 'skipped' : r?.unavailable ? 'not available' : r?.error ? 'failed' : '—');
  out.webgpu_table = cases.map((c) => {
    const node = ms(c.get(FW));
    const fusor = ms(c.get(BF));
    const tfjs = ms(c.get(BT));
    return { case: c.case, fusor_node_ms: node, fusor_chromium_ms: fusor, tfjs_chromium_ms: tfjs, ratio_tfjs_over_fusor: fusor && tfjs ? tfjs / fusor : undefined, flops: c.flops };
  });
  const wtable = out.webgpu_table.map((r) => [
    r.case,
    r.fusor_node_ms === undefined ? why(out.runners['fusor-webgpu'], skip.has('webgpu')) : fmt(r.fusor_node_ms),
    r.fusor_chromium_ms === undefined ? why(B?.fusor ?? B, skip.has('webgpu-browser')) : fmt(r.fusor_chromium_ms),
    r.tfjs_chromium_ms === undefined ? why(B?.tfjs ?? B, skip.has('webgpu-browser')) : fmt(r.tfjs_chromium_ms),
    r.ratio_tfjs_over_fusor === undefined ? '—' : r.ratio_tfjs_over_fusor.toFixed(2),
  ]);
  text += `\n\nwebgpu (${out.runners['fusor-webgpu']?.description ?? B?.fusor?.description ?? 'no adapter'}; a software adapter means only the ratio says something):\n`;
  text += render(['case', 'fusor webgpu Node ms', 'fusor webgpu Chromium ms', 'tfjs webgpu Chromium ms', 'tfjs / fusor (Chromium)'], wtable);
}

if (out.epoch) {
  const fe = out.epoch.fusor?.results?.epoch;
  const te = out.epoch.torch?.results?.epoch;
  const mem = (r) => (r ? `${r.min.toFixed(0)}–${r.max.toFixed(0)}` : '—');
  const cell = (r, side) => (r ? fmt(r.median_ms) : side?.unavailable ? 'not available' : side?.error ? 'failed' : '—');
  text += `\n\none training epoch (${fe?.data ?? te?.data ?? '?'}, ${fe?.steps ?? te?.steps ?? '?'} steps of batch ${fe?.batch ?? 64}, Adam; goal: torch / fusor ≥ 0.5, memory flat):\n`;
  const fj = out.epoch['fusor (jit)']?.results?.epoch;
  const row = (name, f, side) => [
    name,
    cell(f, side),
    cell(te, out.epoch.torch),
    f && te ? (te.median_ms / f.median_ms).toFixed(2) : '—',
    mem(f?.device_mib),
    mem(f?.rss_mib),
    mem(te?.rss_mib),
  ];
  text += render(
    ['case', 'fusor ms', 'torch ms', 'torch / fusor', 'fusor device MiB (min–max)', 'fusor RSS MiB', 'torch RSS MiB'],
    [row('epoch, CNN conv5-16·pool·conv5-32·pool·fc', fe, out.epoch.fusor), row('the same, fusor under jit (forward + backward)', fj, out.epoch['fusor (jit)'])],
  );
}

if (out.indexing) {
  const I = out.indexing;
  text += `\n\nindexing, sorting and scans (issue 12; fusor cpu and PyTorch on ${TORCH_THREADS} threads in the same process; below 0.5, what limits the ratio):\n`;
  if (I.error) text += `  failed: ${I.error}\n`;
  else {
    const rows = Object.entries(I.fusor ?? {}).map(([k, v]) => {
      const t = I.torch?.[k]?.median_ms;
      const ratio = t ? t / v.median_ms : undefined;
      return [k, fmt(v.median_ms), t ? fmt(t) : 'not available', ratio ? ratio.toFixed(2) : '—', ratio !== undefined && ratio < 0.5 ? (I.limits?.[k] ?? '') : ''];
    });
    text += render(['case', 'fusor ms', 'torch ms', 'torch / fusor', 'what limits it (ratio < 0.5)'], rows);
  }
}

// ---------------------------------------------------------------- memory of the training loop

const M = F?.['mlp loop memory'];
const TM = T?.['mlp loop memory'];
if (M || TM) {
  const mb = (b) => (b === undefined ? '—' : (b / 2 ** 20).toFixed(1));
  text += `\n\nMLP ${MLP.input}-${MLP.hidden}-${MLP.classes} training loop, batch 64, a new batch every step (memory, not time):\n`;
  text += render(
    ['', 'before the loop', 'after 50 steps', 'after 300 steps'],
    [
      ['fusor buffers', M?.before?.buffers ?? '—', M?.at50?.buffers ?? '—', M?.at300?.buffers ?? '—'],
      [
        'fusor MiB in buffers (of which cache)',
        M?.before ? `${mb(M.before.bytes)} (${mb(M.before.cachedBytes)})` : '—',
        M ? `${mb(M.at50.bytes)} (${mb(M.at50.cachedBytes)})` : '—',
        M ? `${mb(M.at300.bytes)} (${mb(M.at300.cachedBytes)})` : '—',
      ],
      ['fusor process RSS MiB', mb(M?.before?.rss), mb(M?.at50?.rss), mb(M?.at300?.rss)],
      ['torch process RSS MiB', mb(TM?.before?.rss), mb(TM?.at50?.rss), mb(TM?.at300?.rss)],
    ],
  );
}

if (out.distributed && !out.distributed.unavailable) {
  const A = out.distributed.allreduce;
  const arows = Object.entries(A.results ?? {}).map(([size, r]) => [
    `all-reduce ${size} float32, 2 ranks`,
    `${fmt(r.fusor_ms)} (min ${fmt(r.fusor_min_ms)})`,
    `${fmt(r.mpi_ms)} (min ${fmt(r.mpi_min_ms)})`,
    `${r.ratio.toFixed(2)} (min ${r.ratio_min.toFixed(2)})`,
    r.mpi_out_of_place_ms === undefined ? '—' : `${fmt(r.mpi_out_of_place_ms)} (min ${fmt(r.mpi_out_of_place_min_ms)})`,
    '≥ 0.9',
    // judged on both: the medians (the variants alternate, so each sees the same load) and the
    // minima (the cost without the machine's noise)
    r.ratio >= 0.9 && r.ratio_min >= 0.9 ? 'yes' : 'NO',
  ]);
  if (A.error) arows.push(['all-reduce', 'failed', A.error, '', '', '', '']);
  text +=
    '\n\n@fusor/distributed (mpirun on this machine; MPI_Allreduce: the same libmpi through koffi on the same buffers (the same heap block of the tensor fusor reduces), in place as fusor and PyTorch reduce; out of place into a warm block for reference):\n';
  text += render(['case', 'fusor ms', 'MPI_Allreduce in place ms', 'MPI / fusor', 'MPI out of place ms', 'goal', 'reached'], arows);
  const D = out.distributed.ddp;
  const drow = (n) => (D[n]?.steps_per_s ? `${D[n].steps_per_s.toFixed(2)} steps/s (${D[n].samples_per_s.toFixed(0)} samples/s)` : D[n]?.error ?? '—');
  text += `\nDDP, MLP ${MLP.input}-${MLP.hidden}-${MLP.classes}, batch ${D[1]?.batch_per_rank ?? '?'} per rank: 1 rank ${drow(1)}; 2 ranks ${drow(2)}`;
}

out.table = rows;
const dir = join(root, 'bench-results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `bench-${out.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);

process.stdout.write(`\n${text}\n\n`);
const fusorDesc = out.runners.fusor?.results?.description;
const blas = out.runners.fusor?.results?.blas;
log(`fusor: ${fusorDesc ?? 'not run'}; native BLAS: ${blas ? (blas.available ? blas.library : `none (${blas.reason})`) : '?'}`);
const one = T?.['mlp step']?.one_thread?.median_ms;
if (one) log(`PyTorch's MLP step with 1 thread instead of ${TORCH_THREADS} (reference only): ${one.toFixed(2)} ms`);
log(`PyTorch: ${out.runners.torch?.version ?? `not available (${out.runners.torch?.unavailable ?? out.runners.torch?.error})`}; MLP ${MLP.input}-${MLP.hidden}-${MLP.classes}, batch ${MLP.batch}`);
for (const [name, r] of Object.entries(out.runners)) if (r.error) log(`${name}: ${r.error}`);
if (B && !B.unavailable && !B.error) {
  log(`webgpu in Chromium ${B.browser} (adapter ${B.adapter}); tfjs ${B.tfjs?.version ?? '?'} backend ${B.tfjs?.backend ?? '?'}`);
  for (const side of ['fusor', 'tfjs']) if (B[side]?.error) log(`webgpu in Chromium, ${side} failed: ${B[side].error.split('\n').slice(0, 3).join(' | ')}`);
}
log(`load average after: ${machine.loadavg_after.map((x) => x.toFixed(2)).join(' ')}; results: ${file}`);
