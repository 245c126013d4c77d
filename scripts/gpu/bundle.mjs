// Bundles the GPU entry points (conformance runner, benchmarks) into single files for the GPU
// machine, which has no pnpm or node_modules: fusor's packages come from their TypeScript
// sources; koffi stays external (it loads a native module) and travels beside the bundles.
// bench-webgpu.mjs is bench/webgpu-node-tfjs.mjs with tfjs-core and tfjs-backend-webgpu inside;
// it loads Dawn's dawn.node from a path it is given (prepare.sh carries it compressed).
//   node scripts/gpu/bundle.mjs OUTDIR
import { build } from 'rolldown';
import { fileURLToPath } from 'node:url';

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/gpu/bundle.mjs OUTDIR');
const here = (f) => fileURLToPath(new URL(f, import.meta.url));

const entries = [
  ...['conformance-cuda.mjs', 'bench-cuda.mjs', 'check-cuda.mjs', 'check-nccl.mjs'].map((e) => [e, here(e)]),
  ['bench-webgpu.mjs', here('../../bench/webgpu-node-tfjs.mjs')],
];
for (const [entry, input] of entries) {
  await build({
    input,
    platform: 'node',
    external: ['koffi'],
    resolve: {
      conditionNames: ['source', 'import', 'node', 'default'],
      alias: { vitest: here('vitest-stub.mjs') },
    },
    output: { file: `${out}/${entry}`, format: 'esm', codeSplitting: false },
    logLevel: 'warn',
  });
}
