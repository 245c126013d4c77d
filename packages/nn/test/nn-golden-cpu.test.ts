/** Every nn golden case (PyTorch 1.13 values) on cpu: forward, input and parameter gradients, buffers, repr. */
import { describe, expect, it } from 'vitest';
import { CPU_FORWARD_ONLY, LOSSES, MODULES, BUILD, runFnCase, runModuleCase } from './nn-golden.js';

describe('nn modules match PyTorch 1.13 (cpu)', () => {
  for (const c of MODULES.cases) {
    const only = CPU_FORWARD_ONLY.get(c.name);
    it(only ? `${c.name} (forward only — ${only})` : c.name, { timeout: 120_000 }, async () => {
      await runModuleCase(c, 'cpu');
      if (c.repr) expect(BUILD[c.name]!().toString()).toBe(c.repr);
    });
  }
});

describe('nn losses and functions match PyTorch 1.13 (cpu)', () => {
  for (const c of LOSSES.cases) it(c.name, () => runFnCase(c, 'cpu'));
});
