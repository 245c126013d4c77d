/**
 * The nn golden cases on `cuda`, on the emulator (the generated CUDA C compiled with g++ and run
 * on the cpu through the real runtime code): forward values, input and parameter gradients,
 * buffers, and every loss. The kernels the cases produce are captured on a cpu run first and
 * compiled up front in one library (one g++ run per piece instead of one per kernel); a kernel
 * the capture missed is compiled when the backend loads it. Every case runs, the sliding-window
 * modules (convolution, pooling) included. Every float matrix product goes
 * through the cuBLAS routine (the mock cuBLAS), whatever its size.
 */
import type { Kernel } from '@fusor/compiler';
import { observeKernels } from '@fusor/runtime';
import { describe, it } from 'vitest';
import { emulatorUnavailable, installEmulator, prebuildKernels } from '../../backend-cuda/test/emulator/emulator.js';
import { LOSSES, MODULES, runFnCase, runModuleCase } from './nn-golden.js';

const why = emulatorUnavailable();

if (why) {
  describe('nn on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  const emu = installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
  const { CUDA_PRELUDE, renderCuda } = await import('../../backend-cuda/src/render-cuda.js');
  await import('../../backend-cuda/test/corpus.js'); // registers the capture devices
  const captureDevice = 'kernelcapturegemm';
  // the kernels a cpu run of the same cases lowers (the capture device is the cpu backend with
  // cuBLAS's routine, so the kernels around the products are the ones cuda runs)
  const seen = new Map<string, Kernel>();
  const stop = observeKernels((k) => void (seen.has(k.key) || seen.set(k.key, k)));
  try {
    for (const c of MODULES.cases) await runModuleCase(c, captureDevice).catch(() => {});
    for (const c of LOSSES.cases) await runFnCase(c, captureDevice).catch(() => {});
  } finally {
    stop();
  }
  await prebuildKernels(emu, [...new Set([...seen.values()].map(renderCuda))], CUDA_PRELUDE);
  const { configureCuda } = await import('@fusor/backend-cuda');
  configureCuda({ diskCache: null, cublas: { minMultiplyAdds: 0, minDim: 1 } });

  describe('nn modules match PyTorch 1.13 (cuda, emulated)', () => {
    for (const c of MODULES.cases) it(c.name, { timeout: 120_000 }, () => runModuleCase(c, 'cuda'));
  });
  describe('nn losses and functions match PyTorch 1.13 (cuda, emulated)', () => {
    for (const c of LOSSES.cases) it(c.name, { timeout: 60_000 }, () => runFnCase(c, 'cuda'));
  });
}
