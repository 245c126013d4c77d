/**
 * scripts/gpu/check-cuda.mjs — the checks the GPU run makes of vector and block kernels, both GEMM
 * routines and a jit training step, one after another in one process — on the emulator at its
 * --small sizes. The GPU script stays runnable, and state one kernel leaves for the next (the split
 * reductions' shared workspace) is exercised as a real run exercises it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
if (!why) installEmulator({ MOCK_CUDA_MEMORY: String(1 << 30) });
const script = fileURLToPath(new URL('../../../scripts/gpu/check-cuda.mjs', import.meta.url));

describe.skipIf(why !== null)(`the GPU run's cuda checks on the emulator${why ? ` (skipped: ${why})` : ''}`, () => {
  it('pass at --small sizes', { timeout: 600_000 }, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--small'], { env: { ...process.env, XDG_CACHE_HOME: process.env['TMPDIR'] }, maxBuffer: 16 << 20 }).catch((e: { stdout: string; stderr: string }) => ({ stdout: `${e.stdout}\n${e.stderr}` }));
    expect(stdout).toMatch(/^checks on cuda: Fusor Emulated GPU 0/m);
    expect(stdout).toMatch(/goes to: cublas\nwith cuBLAS off: kernels/);
    const summary = /^checks on cuda: (\d+) passed, (\d+) failed$/m.exec(stdout);
    expect(summary, stdout).not.toBeNull();
    expect(stdout.split('\n').filter((l) => l.startsWith('FAIL')), stdout).toEqual([]);
    expect(Number(summary![1])).toBeGreaterThanOrEqual(50);
  });
});
