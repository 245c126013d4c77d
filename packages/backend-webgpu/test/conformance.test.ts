/**
 * The conformance suite, unchanged, on a real WebGPU adapter. Skips: dtypes the capabilities lack
 * (float64, bfloat16; float16 without shader-f16), named by the suite, and int64 values outside
 * int32, which this backend cannot hold (it keeps int64 as int32 and raises on overflow).
 */
import { decode, runConformance, type Case, type TensorData } from '@fusor/conformance';
import { it, vi } from 'vitest';
import { adapter, describeWebGPU } from './adapter.js';

const outsideInt32 = (d: TensorData | null | undefined): boolean =>
  d?.dtype === 'int64' && (d.data ?? []).some((v) => Math.abs(decode(v)) > 2147483647);

function needsWideInt64(c: Case): boolean {
  const tensors: (TensorData | null | undefined)[] = [...c.inputs.filter((s): s is TensorData & { data: [] } => 'dtype' in s), ...(c.outputs ?? [])];
  return tensors.some(outsideInt32);
}

// SwiftShader compiles on the CPU: the max-pool backward kernels (nine shifted windows summed in a
// 3×3 reduction) take about 0.6 s each there, and a case with indices and gradient compiles a
// dozen kernels — 3 to 6 s on 2 loaded cores, past vitest's 5 s default
vi.setConfig({ testTimeout: 30_000 });

if (adapter.ok) {
  runConformance('webgpu', {
    skip: [
      { match: needsWideInt64, reason: 'int64 values outside int32: the webgpu backend holds int64 as int32' },
    ],
  });
} else {
  describeWebGPU('conformance on webgpu', () => {
    it('runs every golden case', () => {});
  });
}
