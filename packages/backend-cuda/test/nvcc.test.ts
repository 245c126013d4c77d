/**
 * Every kernel the conformance suite's programs produce, rendered for cuda and compiled with
 * `nvcc -ptx` in a few batch files. Without nvcc the test skips saying so — except in CI (env CI
 * set), where a missing nvcc fails the run, as does any kernel that does not compile.
 */
import { describe, expect, it } from 'vitest';
import { lower, type Kernel } from '@fusor/compiler';
import { planSchedule } from '@fusor/runtime';
import * as torch from '@fusor/tensor';
import { planKernel, renderCudaBatch } from '../src/index.js';
import { conformanceKernels, halfVariants } from './corpus.js';
import { compilePtx, findNvcc, NVCC_FLAGS } from './nvcc.js';

const nvcc = findNvcc();
const inCI = !!process.env['CI'];
/** Kernels per .cu file: few files (nvcc's start-up dominates), small enough to run in parallel. */
const BATCH = 500;

describe('conformance kernels compile with nvcc -ptx', () => {
  if (!nvcc && !inCI) {
    it.skip('skipped: nvcc not found (looked on PATH and in /usr/local/cuda/bin); CI requires it', () => {});
    return;
  }

  it('nvcc is present (required in CI)', () => {
    expect(nvcc, 'nvcc not found on PATH or in /usr/local/cuda/bin; CI needs it to compile the generated CUDA C').not.toBeNull();
  });

  // 30 minutes: with the conv, pooling and indexing cases the corpus is over 6,000 kernels, and on
  // 2 loaded cores cicc took more than 10 minutes for it
  it('renders and compiles every kernel of every conformance case, and their float16/bfloat16 variants', { timeout: 900_000 }, async () => {
    const corpus = await conformanceKernels();
    const kernels = [...corpus.kernels, ...halfVariants(corpus.kernels)];
    // the suite is large: these floors catch a capture that silently stopped working
    expect(corpus.cases).toBeGreaterThan(400);
    expect(corpus.kernels.length).toBeGreaterThan(300);
    const batches: string[] = [];
    for (let i = 0; i < kernels.length; i += BATCH) batches.push(renderCudaBatch(kernels.slice(i, i + BATCH)));
    const results = await compilePtx(nvcc!, batches);
    const failures = results.filter((r) => !r.ok).map((r) => `${r.file}:\n${r.log.split('\n').slice(0, 30).join('\n')}`);
    expect(failures, failures.join('\n\n')).toEqual([]);
    console.log(
      `nvcc -ptx: ${kernels.length} kernels (${corpus.kernels.length} from ${corpus.cases} conformance cases, ${kernels.length - corpus.kernels.length} float16/bfloat16 variants) in ${batches.length} files`,
    );
    // a sample assembled all the way to SASS: ptxas checks the prelude's inline PTX, which -ptx does not
    const sample = [...corpus.kernels.slice(0, 40), ...halfVariants(corpus.kernels).filter((_, i) => i % 50 === 0)];
    const cubin = NVCC_FLAGS.filter((f) => f !== '-ptx' && f !== '-Xcicc' && f !== '-O0').concat('-cubin');
    const [assembled] = await compilePtx(nvcc!, [renderCudaBatch(sample)], cubin);
    expect(assembled!.ok, assembled!.log).toBe(true);
  });

  it('renders and assembles kernels of every launch mode (the conformance cases are too small for the block mode)', { timeout: 600_000 }, async () => {
    const base = modeKernels();
    const kernels = [...base, ...halfVariants(base, (k) => k.key)];
    const modes = new Set(kernels.map((k) => planKernel(k)).map((p) => (p.mode === 'block' ? `block ${p.layout}${p.parts > 1 ? ' split' : ''}` : p.mode)));
    expect([...modes].sort()).toEqual(['block cols', 'block cols split', 'block rows', 'block rows split', 'thread', 'vector']);
    const cubin = NVCC_FLAGS.filter((f) => f !== '-ptx' && f !== '-Xcicc' && f !== '-O0').concat('-cubin');
    const [assembled] = await compilePtx(nvcc!, [renderCudaBatch(kernels)], cubin);
    expect(assembled!.ok, assembled!.log).toBe(true);
  });
});

/** Kernels of every mode and layout, every dtype in tiles and in accumulators. */
function modeKernels(): Kernel[] {
  const input = (shape: number[], dtype: torch.DType = 'float32'): torch.Tensor => {
    const t = torch.rand(shape).mul(4).to(dtype);
    t.dataSync();
    return t;
  };
  const last = (t: torch.Tensor): Kernel => {
    const items = planSchedule([t.node]);
    return lower(items[items.length - 1]!).kernel;
  };
  const x = input([1027]);
  const m = input([37, 3000]);
  const dtypes: torch.DType[] = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64'];
  return [
    last(x.mul(1.5).add(0.5).relu().mul(x).sub(0.25)),
    last(x.narrow(0, 3, 1000).mul(2)),
    ...dtypes.map((d) => last(input([1027], d).add(input([1027], d)))),
    ...dtypes.map((d) => last(input([5000], d).sum())),
    ...dtypes.filter((d) => d !== 'bool').map((d) => last(input([5000], d).amax())),
    last(input([5000], 'bool').any()),
    last(input([3_000_000]).sum()),
    last(input([5000], 'int64').prod()),
    last(m.argmax(1)),
    last(m.logsumexp(1)),
    last(input([10, 200]).amax(1)),
    last(input([1000, 40]).sum(0)),
    last(input([128, 5000]).mean(0)),
    last(input([1024, 64]).sum(1)),
  ];
}
