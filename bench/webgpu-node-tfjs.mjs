// fusor's webgpu backend against tfjs's (@tensorflow/tfjs-backend-webgpu) in one Node process, on
// the same Dawn adapter: the cases of webgpu-cases.mjs, interleaved case by case as in the Chromium
// page (fusor's run of a case, then tfjs's), with tfjs ÷ fusor ratios and the adapter's own
// description, and whether it is a hardware or a software adapter (SwiftShader, llvmpipe: only
// the ratios mean something there). Made for a GPU machine without Chromium or npm: prepare.sh
// bundles it into .gpu/bench-webgpu.mjs beside Dawn's dawn.node, scripts/gpu/webgpu.sh runs it.
//
//   node bench/webgpu-node-tfjs.mjs [--quick] [--dawn PATH/dawn.node] [--json FILE] [--md FILE]
//
// --quick: small sizes (checks the runner itself, e.g. on SwiftShader). --dawn (or FUSOR_DAWN_NODE):
// the dawn.node to load; without it, the `webgpu` package @fusor/backend-webgpu depends on.
// FUSOR_DAWN_FLAGS (space-separated) goes to Dawn's create(), e.g. "backend=vulkan adapter=NVIDIA".
// Exit status: 0 with a table; 3 when there is no usable adapter (the reason is printed); 1 on a
// failure of either side or a result check.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MLP } from './common.mjs';
import { WEBGPU_CASES, WEBGPU_CHAIN_SIZE, WEBGPU_MATMUL_SIZES, WEBGPU_REPS, WEBGPU_SOFTMAX, fusorWebgpuCase, tfjsWebgpuCase } from './webgpu-cases.mjs';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
for (const a of args) {
  if (a.startsWith('--') && !['--quick', '--dawn', '--json', '--md'].includes(a)) throw new Error(`unknown option ${a}`);
}
const quick = args.includes('--quick');
const msg = (e) => String(e?.message ?? e).split('\n')[0];

// --quick shrinks the shared case sizes in place (this process only): the case functions read them
// when they run. The chain keeps its 1M floats (a constant of webgpu-cases.mjs; cheap anyway).
if (quick) {
  WEBGPU_MATMUL_SIZES.splice(0, Infinity, 64, 128);
  WEBGPU_SOFTMAX.splice(0, Infinity, 256, 256);
  Object.assign(MLP, { batch: 32, hidden: 64 });
  for (const k of Object.keys(WEBGPU_REPS)) WEBGPU_REPS[k] = 3;
}
const CASES = quick ? [...WEBGPU_MATMUL_SIZES.map((n) => `matmul ${n}`), ...WEBGPU_CASES.filter((c) => !c.startsWith('matmul '))] : WEBGPU_CASES;
const label = (name) =>
  name === 'mlp step'
    ? `mlp step ${MLP.input}-${MLP.hidden}-${MLP.classes} batch ${MLP.batch}`
    : name === 'softmax'
      ? `softmax ${WEBGPU_SOFTMAX.join('x')}`
      : name === 'elementwise chain 1M'
        ? `elementwise chain ${WEBGPU_CHAIN_SIZE / 2 ** 20}M`
        : name;

/** Dawn's module: the given dawn.node, or the `webgpu` package (the one fusor's backend loads). */
async function loadDawn() {
  const path = option('--dawn') ?? process.env.FUSOR_DAWN_NODE;
  if (path) return createRequire(import.meta.url)(path);
  const backend = fileURLToPath(import.meta.resolve('@fusor/backend-webgpu'));
  return import(pathToFileURL(createRequire(backend).resolve('webgpu')).href);
}

function noAdapter(reason) {
  console.log(`webgpu benchmark not run: ${reason}`);
  process.exit(3);
}

let dawn;
try {
  dawn = await loadDawn();
} catch (e) {
  noAdapter(`Dawn (dawn.node) did not load: ${msg(e)}`);
}
const flags = (process.env.FUSOR_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
const gpu = dawn.create(flags);
// tfjs's webgpu backend reads WebGPU's constants (GPUBufferUsage, GPUMapMode…) from the globals
Object.assign(globalThis, dawn.globals);

// Both libraries take their adapter from navigator.gpu; each request goes through here with the
// same power preference (tfjs asks for high-performance, fusor asks for nothing), so both land on
// the same adapter, and each one handed out is recorded.
const handedOut = [];
const shared = {
  requestAdapter: async (options) => {
    const adapter = await gpu.requestAdapter({ ...options, powerPreference: 'high-performance' });
    if (adapter) handedOut.push(describe(adapter.info));
    return adapter;
  },
  getPreferredCanvasFormat: () => 'rgba8unorm',
  get wgslLanguageFeatures() {
    return gpu.wgslLanguageFeatures;
  },
};
if (globalThis.navigator) Object.defineProperty(globalThis.navigator, 'gpu', { value: shared, configurable: true });
else globalThis.navigator = { gpu: shared };

/** The adapter in words, and whether it is a software one (by Dawn's flag, or a known CPU driver's name). */
function describe(info) {
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
  const software = info.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|softpipe|software/i.test(text);
  return { text, software };
}

const adapter = await shared.requestAdapter({});
if (!adapter) noAdapter(`Dawn found no WebGPU adapter (flags: ${flags.join(' ') || 'none'}; Vulkan ICDs: ${process.env.VK_ICD_FILENAMES ?? 'the loader default'})`);
const { text: adapterText, software } = describe(adapter.info);
console.log(`adapter: ${adapterText}`);
console.log(
  software
    ? 'adapter kind: SOFTWARE (the GPU is not used: only the ratios mean something, and they are not the hardware figures)'
    : 'adapter kind: hardware',
);

const torch = await import('@fusor/tensor');
await import('@fusor/backend-webgpu');
const { bufferNode } = await import('@fusor/ir');
const { getBuffer, setBuffer } = await import('@fusor/runtime');
let fusorDescription;
try {
  fusorDescription = await torch.init('webgpu');
} catch (e) {
  noAdapter(`fusor's webgpu backend did not start on it: ${msg(e)}`);
}
console.log(`fusor: ${fusorDescription}`);
// imported only now: tfjs's webgpu backend registers itself at import if navigator.gpu exists
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
let tfjsError;
try {
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
  await tf.ready();
  console.log(`tfjs: ${tf.version_core}, backend ${tf.getBackend()}`);
} catch (e) {
  tfjsError = msg(e);
  console.log(`tfjs: its webgpu backend did not start: ${tfjsError}`);
}
const adapters = [...new Set(handedOut.map((a) => a.text))];
if (adapters.length > 1) console.log(`note: the adapters handed out differ: ${adapters.join(' | ')}`);

let failed = false;

/**
 * Both libraries' products and softmax on the same data agree (to float32 rounding): a fast
 * kernel that computes the wrong numbers on a new adapter would make its figure meaningless.
 */
async function agree() {
  const checks = [...WEBGPU_MATMUL_SIZES.map((n) => ['matmul', n]), ['softmax']];
  for (const [kind, n] of checks) {
    torch.manualSeed(7);
    let got;
    let want;
    if (kind === 'matmul') {
      const a = torch.randn(n, n);
      const b = torch.randn(n, n);
      got = await a.to('webgpu').matmul(b.to('webgpu')).data();
      const ta = tf.tensor2d(await a.data(), [n, n]);
      const tb = tf.tensor2d(await b.data(), [n, n]);
      const tc = tf.matMul(ta, tb);
      want = await tc.data();
      tf.dispose([ta, tb, tc]);
    } else {
      const x = torch.randn(...WEBGPU_SOFTMAX).mul(4);
      got = await x.to('webgpu').softmax(1).data();
      const tx = tf.tensor2d(await x.data(), WEBGPU_SOFTMAX);
      const ts = tf.softmax(tx);
      want = await ts.data();
      tf.dispose([tx, ts]);
    }
    let err = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    const name = kind === 'matmul' ? `matmul ${n}` : `softmax ${WEBGPU_SOFTMAX.join('x')}`;
    const ok = Number.isFinite(err) && err <= 1e-3 * scale;
    console.log(`check ${name}: fusor and tfjs agree to ${(err / scale).toExponential(1)} of the largest value${ok ? '' : ' — MISMATCH'}`);
    if (!ok) failed = true;
  }
}
if (!tfjsError) {
  try {
    await agree();
  } catch (e) {
    console.log(`check failed to run: ${msg(e)}`);
    failed = true;
  }
}

const runs = { fusor: fusorWebgpuCase({ torch, bufferNode, getBuffer, setBuffer }), tfjs: tfjsError ? undefined : tfjsWebgpuCase(tf) };
const errors = { fusor: undefined, tfjs: tfjsError };
const rows = [];
for (const name of CASES) {
  const row = { case: label(name) };
  for (const side of ['fusor', 'tfjs']) {
    if (!runs[side] || errors[side]) continue;
    try {
      row[side] = await runs[side](name);
    } catch (e) {
      errors[side] = `${name}: ${msg(e)}`;
      console.log(`${side} failed on ${errors[side]}`);
      failed = true;
    }
  }
  row.ratio = row.fusor && row.tfjs ? row.tfjs.median_ms / row.fusor.median_ms : undefined;
  rows.push(row);
  const ms = (r) => (r ? `${r.median_ms.toFixed(2)} ms` : '—');
  console.log(`  ${row.case}: fusor ${ms(row.fusor)}, tfjs ${ms(row.tfjs)}${row.ratio ? `, tfjs / fusor ${row.ratio.toFixed(2)}` : ''}`);
}

const cell = (r, side) => (r ? r.median_ms.toFixed(2) : errors[side] ? 'failed' : '—');
const md = [
  `webgpu in Node (Dawn), ${software ? 'SOFTWARE adapter' : 'hardware adapter'}: ${adapterText}; fusor ${fusorDescription}; tfjs-webgpu ${tf.version_core}; median ms, end to end (submit, compute, read back)`,
  '',
  '| case | fusor webgpu ms | tfjs webgpu ms | tfjs / fusor |',
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.case} | ${cell(r.fusor, 'fusor')} | ${cell(r.tfjs, 'tfjs')} | ${r.ratio ? r.ratio.toFixed(2) : '—'} |`),
].join('\n');
console.log(`\n${md}`);
const mdFile = option('--md');
if (mdFile) writeFileSync(mdFile, `${md}\n`);
const jsonFile = option('--json');
if (jsonFile) {
  const result = {
    adapter: adapterText,
    software,
    fusor: fusorDescription,
    tfjs: tf.version_core,
    quick,
    flags,
    errors,
    rows,
    stats: torch.compilerStats(),
  };
  writeFileSync(jsonFile, `${JSON.stringify(result, null, 1)}\n`);
}
process.exit(failed ? 1 : 0);
