/**
 * PyTorch's storage semantics (views, in-place ops, versions, detach, no_grad) on `cuda`, on the
 * emulator: every program runs first on the cpu backend under a capture name, so its kernels are
 * compiled for the host in one library, then on cuda through the real runtime code.
 */
import { loadPrograms, runProgram, runSemantics } from '@fusor/conformance';
import { type Kernel } from '@fusor/compiler';
import { observeKernels } from '@fusor/runtime';
import { describe, it } from 'vitest';
import './corpus.js';
import { CUDA_PRELUDE, renderCuda } from '../src/render-cuda.js';
import { emulatorUnavailable, installEmulator, prebuildKernels } from './emulator/emulator.js';

const why = emulatorUnavailable();
if (why) {
  describe('storage semantics on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  const emu = installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
  const seen = new Map<string, Kernel>();
  const stop = observeKernels((k) => void (seen.has(k.key) || seen.set(k.key, k)));
  for (const p of loadPrograms()) await runProgram(p, 'kernelcapture').catch(() => undefined);
  stop();
  await prebuildKernels(emu, [...new Set([...seen.values()].map(renderCuda))], CUDA_PRELUDE);
  const { configureCuda } = await import('../src/index.js');
  configureCuda({ diskCache: null });
  runSemantics('cuda');
}
