/**
 * Arguments never misread, tensor clamp bounds, detach/noGrad and pow gradients as PyTorch, on
 * `cuda`, on the emulator: every case runs first on the cpu backend under a capture name, so its
 * kernels are compiled for the host in one library, then on cuda through the real runtime code.
 */
import { ARGUMENT_CASES, runArguments } from '@fusor/conformance';
import { type Kernel } from '@fusor/compiler';
import { observeKernels } from '@fusor/runtime';
import { describe, it } from 'vitest';
import './corpus.js';
import { CUDA_PRELUDE, renderCuda } from '../src/render-cuda.js';
import { emulatorUnavailable, installEmulator, prebuildKernels } from './emulator/emulator.js';

const why = emulatorUnavailable();
if (why) {
  describe('arguments and gradients on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  const emu = installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
  const seen = new Map<string, Kernel>();
  const stop = observeKernels((k) => void (seen.has(k.key) || seen.set(k.key, k)));
  for (const c of ARGUMENT_CASES) await c.run('kernelcapture').catch(() => undefined);
  stop();
  await prebuildKernels(emu, [...new Set([...seen.values()].map(renderCuda))], CUDA_PRELUDE);
  const { configureCuda } = await import('../src/index.js');
  configureCuda({ diskCache: null });
  runArguments('cuda');
}
