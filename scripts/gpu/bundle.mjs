// Bundles the GPU entry points (conformance runner, benchmark) into single files for the GPU
// machine, which has no pnpm or node_modules: fusor's packages come from their TypeScript
// sources; koffi stays external (it loads a native module) and travels beside the bundles.
//   node scripts/gpu/bundle.mjs OUTDIR
import { build } from 'rolldown';
import { fileURLToPath } from 'node:url';

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/gpu/bundle.mjs OUTDIR');
const here = (f) => fileURLToPath(new URL(f, import.meta.url));

for (const entry of ['conformance-cuda.mjs', 'bench-cuda.mjs', 'check-cuda.mjs', 'check-nccl.mjs']) {
  await build({
    input: here(entry),
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
