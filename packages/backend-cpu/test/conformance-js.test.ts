/**
 * The conformance suite and the fuzzer on the JavaScript renderer (the readable debug path).
 * Imported by path: @fusor/conformance depends on @fusor/tensor, which depends on this package.
 */
import { expect, it } from 'vitest';
import { fuzz, runConformance } from '../../conformance/src/index.js';
import { configureCpu, cpuStats } from '../src/index.js';

configureCpu({ renderer: 'js' });

runConformance('cpu');

it('fuzz on cpu (JavaScript kernels): 300 random fused graphs agree with the reference interpreter', async () => {
  const report = await fuzz('cpu', { seed: 1, count: 300 });
  expect(report.failures.slice(0, 3).map((f) => `seed ${f.seed}: ${f.message}\n${f.program}`).join('\n\n')).toBe('');
  expect(cpuStats().wasm).toBe(0);
}, 120_000);
