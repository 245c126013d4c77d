/**
 * The conformance suite and the fuzzer on the WebAssembly path with every launch split over the
 * worker pool (parallelThreshold 0: even the suite's small kernels run on several threads).
 * The default configuration (WebAssembly, all cores, the default threshold) is what
 * packages/conformance/test/cpu.test.ts runs.
 *
 * Imported by path: @fusor/conformance depends on @fusor/tensor, which depends on this package.
 */
import { beforeAll, expect, it } from 'vitest';
import { fuzz, runConformance } from '../../conformance/src/index.js';
import { configureCpu, cpuConfig, cpuStats, cpuWorkersReady } from '../src/index.js';

configureCpu({ renderer: 'wasm', threads: Math.max(2, cpuConfig().threads), parallelThreshold: 0 });
beforeAll(() => cpuWorkersReady());

runConformance('cpu');

it('fuzz on cpu (wasm, every launch threaded): 300 random fused graphs agree with the reference interpreter', async () => {
  const report = await fuzz('cpu', { seed: 1, count: 300 });
  expect(report.failures.slice(0, 3).map((f) => `seed ${f.seed}: ${f.message}\n${f.program}`).join('\n\n')).toBe('');
  expect(cpuStats().threaded).toBeGreaterThan(1000);
  expect(cpuStats().js).toBe(0);
}, 120_000);
