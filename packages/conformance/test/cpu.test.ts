/** The conformance suite and the differential fuzzer on the embedded cpu backend. */
import { expect, it } from 'vitest';
import { fuzz, runConformance } from '../src/index.js';

runConformance('cpu');

// CI runs a fixed count; FUSOR_FUZZ_COUNT=5000 npx vitest run packages/conformance searches longer
const count = Number(process.env['FUSOR_FUZZ_COUNT'] ?? 300);

it(`fuzz on cpu: ${count} random fused graphs agree with the reference interpreter`, async () => {
  const report = await fuzz('cpu', { seed: 1, count });
  const shown = report.failures.slice(0, 5).map((f) => `seed ${f.seed}: ${f.message}\n${f.program}\n${f.graph}`);
  expect(shown.join('\n\n')).toBe('');
  expect(report.graphs).toBe(count);
}, 60_000 + count * 100);
