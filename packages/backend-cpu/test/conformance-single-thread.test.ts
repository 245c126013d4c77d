/**
 * The conformance suite and the fuzzer on the WebAssembly path on one thread (no workers).
 * Imported by path: @fusor/conformance depends on @fusor/tensor, which depends on this package.
 */
import { expect, it } from 'vitest';
import { fuzz, runConformance } from '../../conformance/src/index.js';
import { configureCpu, cpuStats } from '../src/index.js';

configureCpu({ renderer: 'wasm', threads: 1 });

runConformance('cpu');

it('fuzz on cpu (wasm, one thread): 300 random fused graphs agree with the reference interpreter', async () => {
  const report = await fuzz('cpu', { seed: 1, count: 300 });
  expect(report.failures.slice(0, 3).map((f) => `seed ${f.seed}: ${f.message}\n${f.program}`).join('\n\n')).toBe('');
  expect(cpuStats().threaded).toBe(0);
  expect(cpuStats().js).toBe(0);
}, 120_000);

it('fuzz on cpu (wasm, one thread, SIMD off): the scalar kernels agree too', async () => {
  configureCpu({ simd: false });
  const report = await fuzz('cpu', { seed: 1001, count: 200 });
  configureCpu({ simd: true });
  expect(report.failures.slice(0, 3).map((f) => `seed ${f.seed}: ${f.message}\n${f.program}`).join('\n\n')).toBe('');
}, 120_000);
