/**
 * The whole conformance suite on `cuda`, on the emulator: the generated CUDA C, compiled for the
 * host, computes every golden case (values, gradients, the interpreter check) through the real
 * runtime code. Kernels the cpu run of the suite produces are compiled up front in one library;
 * any other kernel (16-bit float cases) is compiled when the backend loads it.
 */
import { renderCuda } from '../src/render-cuda.js';
import { CUDA_PRELUDE } from '../src/render-cuda.js';
import { runConformance } from '@fusor/conformance';
import { describe, it } from 'vitest';
import { conformanceKernels } from './corpus.js';
import { emulatorUnavailable, installEmulator, prebuildKernels } from './emulator/emulator.js';

const why = emulatorUnavailable();
if (why) {
  describe('conformance on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  const emu = installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
  const corpus = await conformanceKernels();
  await prebuildKernels(emu, [...new Set(corpus.kernels.map(renderCuda))], CUDA_PRELUDE);
  const { configureCuda } = await import('../src/index.js');
  configureCuda({ diskCache: null });
  runConformance('cuda');
}
