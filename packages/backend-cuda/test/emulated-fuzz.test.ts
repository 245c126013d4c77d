/**
 * Random fused graphs on cuda (the emulator) against the reference interpreter, with long dims
 * (128 to 40 000 elements) so reductions and products take the block kernels — one block per output,
 * several outputs per block, loops split across blocks — and elementwise work the vector kernels,
 * which the conformance suite's small cases never reach.
 */
import { describe, expect, it } from 'vitest';
import { fuzz } from '@fusor/conformance';
import { renderCuda } from '../src/render-cuda.js';
import { CUDA_PRELUDE, planKernel } from '../src/render-cuda.js';
import { fuzzKernels } from './corpus.js';
import { emulatorUnavailable, installEmulator, prebuildKernels } from './emulator/emulator.js';

const why = emulatorUnavailable();
const OPTIONS = { seed: 1, count: Number(process.env['FUSOR_FUZZ_CUDA_COUNT'] ?? 100), long: 40_000 };

describe.skipIf(why !== null)(`fuzz on cuda (emulated)${why ? ` (skipped: ${why})` : ''}`, () => {
  it(`${OPTIONS.count} random graphs with long dims agree with the interpreter, through every launch mode`, { timeout: 900_000 }, async () => {
    const emu = installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
    const kernels = await fuzzKernels(OPTIONS);
    await prebuildKernels(emu, [...new Set(kernels.map(renderCuda))], CUDA_PRELUDE);
    const plans = kernels.map(planKernel);
    // the graphs reach every mode (else this test would check less than it says)
    expect(plans.filter((p) => p.mode === 'vector').length).toBeGreaterThan(10);
    expect(plans.filter((p) => p.mode === 'block' && p.parts === 1).length).toBeGreaterThan(10);
    expect(plans.filter((p) => p.mode === 'block' && p.parts > 1).length).toBeGreaterThan(3);
    const { configureCuda } = await import('../src/index.js');
    configureCuda({ diskCache: null });
    const report = await fuzz('cuda', OPTIONS);
    const shown = report.failures.slice(0, 3).map((f) => `seed ${f.seed}: ${f.message}\n${f.program.slice(0, 2000)}\n${f.graph}`);
    expect(shown.join('\n\n')).toBe('');
    expect(report.graphs).toBe(OPTIONS.count);
  });
});
