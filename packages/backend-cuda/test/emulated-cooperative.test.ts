/**
 * The emulator runs kernels whose threads cooperate — shared memory, __syncthreads, warp
 * shuffles — as real blocks would: every thread of a block is a fiber, and a barrier holds each
 * until all have reached it. A kernel that skipped a barrier would read unwritten shared memory.
 */
import { describe, expect, it } from 'vitest';
import type { Kernel } from '@fusor/compiler';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
if (!why) installEmulator();
const cuda = await import('../src/index.js');
cuda.configureCuda({ diskCache: null });

/** Per block of 256 threads: the sum of its elements (tree in shared memory, then one warp's shuffles) and its lane-reversed copy. */
const SOURCE = `${cuda.CUDA_PRELUDE}
extern "C" __global__ void __launch_bounds__(256) coop(float* sums, float* reversed, const float* x) {
  __shared__ float part[256];
  const int t = threadIdx.x;
  const int i = blockIdx.x * 256 + t;
  part[t] = x[i];
  __syncthreads();
  reversed[i] = part[255 - t];
  for (int s = 128; s >= 32; s >>= 1) {
    __syncthreads();
    if (t < s) part[t] += part[t + s];
  }
  __syncthreads();
  if (t < 32) {
    float v = part[t];
    for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
    v = __shfl_sync(0xffffffffu, v, 0);
    if (t == 31) sums[blockIdx.x] = v;
  }
}
`;

describe.skipIf(why !== null)(`cooperative kernels on the emulator${why ? ` (skipped: ${why})` : ''}`, () => {
  it('runs shared memory, barriers and warp shuffles block by block', () => {
    const blocks = 3;
    const n = blocks * 256;
    const b = cuda.cudaBackend;
    const x = b.alloc('float32', n, 0);
    const sums = b.alloc('float32', blocks, 0);
    const reversed = b.alloc('float32', n, 0);
    const host = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3 + i / 256);
    b.write(x, host);
    // an empty body is launched one thread per element: 3 blocks of 256
    const kernel: Kernel = { name: 'coop', size: n, buffers: [], vars: [], body: [], key: 'coop' };
    b.launch(b.compile({ ...cuda.renderCudaProgram(kernel), source: SOURCE }, kernel), [sums, reversed, x], []);
    const got = b.readSync!(sums) as Float32Array;
    for (let k = 0; k < blocks; k++) {
      const want = host.subarray(k * 256, (k + 1) * 256).reduce((a, v) => a + v, 0);
      expect(got[k]).toBeCloseTo(want, 3);
    }
    const rev = b.readSync!(reversed) as Float32Array;
    expect(rev[0]).toBe(host[255]);
    expect(rev[256 + 10]).toBe(host[256 + 245]);
    for (const buf of [x, sums, reversed]) b.free(buf);
  });
});
