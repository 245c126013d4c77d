/**
 * The whole conformance suite on `cuda`, on the emulator: the generated CUDA C, compiled for the
 * host, computes every golden case (values, gradients, the interpreter check) through the real
 * runtime code. Kernels the cpu run of the suite produces are compiled up front in one library;
 * any other kernel (16-bit float cases) is compiled when the backend loads it. Every non-empty
 * float matrix product (matmul, mm, bmm, mv, dot and their gradients) goes through the cuBLAS
 * routine, over the mock cuBLAS, whatever its size.
 */
import { renderCuda } from '../src/render-cuda.js';
import { CUDA_PRELUDE } from '../src/render-cuda.js';
import { runConformance } from '@fusor/conformance';
import { compilerStats } from '@fusor/runtime';
import { describe, expect, it, vi } from 'vitest';
import { conformanceKernels } from './corpus.js';
import { emulatorUnavailable, installEmulator, prebuildKernels } from './emulator/emulator.js';

// a kernel the cpu run of the suite does not produce (topk's halving cases on cuda: 92 of them)
// is compiled by g++ when the backend loads it, seconds each on 2 loaded cores
vi.setConfig({ testTimeout: 30_000 });

const why = emulatorUnavailable();
if (why) {
  describe('conformance on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  const emu = installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
  const corpus = await conformanceKernels();
  await prebuildKernels(emu, [...new Set(corpus.kernels.map(renderCuda))], CUDA_PRELUDE);
  const { configureCuda } = await import('../src/index.js');
  configureCuda({ diskCache: null, cublas: { minMultiplyAdds: 0, minDim: 1 } });
  runConformance('cuda');
  describe('cuBLAS in the conformance run', () => {
    it('took the products', () => expect(compilerStats().routines).toBeGreaterThan(50));
  });
}
