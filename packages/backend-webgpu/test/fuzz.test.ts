/** The differential fuzzer on webgpu: random fused graphs against the reference interpreter. */
import { expect, it } from 'vitest';
import { fuzz } from '@fusor/conformance';
import { describeWebGPU } from './adapter.js';

// the fuzzer picks float64 for some graphs whatever the device holds; those graphs stop at the
// frontend's capability check, which is the behaviour wanted, and count as skipped
const UNSUPPORTED = /^DTypeError: float64 is not supported by the webgpu backend/;

describeWebGPU('fuzzing webgpu against the reference interpreter', () => {
  it('random fused graphs agree with the interpreter (graphs using float64 are refused by name)', async () => {
    const report = await fuzz('webgpu', { seed: 1, count: 60 });
    expect(report.graphs).toBe(60);
    const refused = report.failures.filter((f) => UNSUPPORTED.test(f.message));
    const failures = report.failures.filter((f) => !UNSUPPORTED.test(f.message));
    const shown = failures.slice(0, 5).map((f) => `seed ${f.seed}: ${f.message}\n${f.program}\n${f.graph}`);
    expect(shown.join('\n\n')).toBe('');
    expect(report.graphs - refused.length).toBeGreaterThan(30);
  }, 120_000);
});
