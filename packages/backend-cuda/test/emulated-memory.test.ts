/** The training loop in flat memory on `cuda`, on the emulator (the real runtime and caching allocator). */
import { runMemoryChecks } from '@fusor/conformance';
import { describe, it } from 'vitest';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
if (why) {
  describe('memory on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
  const { configureCuda } = await import('../src/index.js');
  configureCuda({ diskCache: null });
  runMemoryChecks('cuda', { steps: 1000 });
}
