/** A subset of the optimizer golden cases on `cuda`, on the emulator (kernels compiled with g++ and run on the cpu). */
import { describe, expect, it } from 'vitest';
import { emulatorUnavailable, installEmulator } from '../../backend-cuda/test/emulator/emulator.js';
import { firstMismatch, optimCases, runCase } from './optim-golden.js';

const why = emulatorUnavailable();
const SUBSET = ['sgd_nesterov_maximize', 'adam_wd_amsgrad', 'rmsprop_centered_momentum_wd'];

if (why) {
  describe('optimizers on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  installEmulator();
  const { configureCuda } = await import('@fusor/backend-cuda');
  configureCuda({ diskCache: null });
  describe('optimizers on cuda (emulated)', () => {
    for (const c of optimCases.filter((c) => SUBSET.includes(c.name))) {
      it(`${c.name}: PyTorch's trajectory`, async () => {
        const got = await runCase(c, 'cuda');
        got.forEach((row, k) => row.forEach((p, i) => expect(firstMismatch(p, c.trajectory[k]![i]!), `${c.name} step ${k + 1} param ${i}`).toBeNull()));
      }, 120_000);
    }
  });
}
