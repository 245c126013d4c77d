/** The webgpu buffer pool: size classes, reuse after free, trim, and reads through reused staging buffers. */
import { expect, it } from 'vitest';
import { sizeClass, webgpuBackend, webgpuStats } from '@fusor/backend-webgpu';
import { describeWebGPU } from './adapter.js';

describeWebGPU('webgpu buffer pool', () => {
  it('a freed buffer serves the next request of its size class; reads see only the tensor’s own bytes', async () => {
    const a = webgpuBackend.alloc('float32', 1100, 0);
    const gpu = a.gpu;
    expect(gpu.size).toBe(sizeClass(4400));
    webgpuBackend.write(a, new Float32Array(1100).fill(7));
    webgpuBackend.free(a);
    // 1200 floats is another request in the same class (4800 bytes → 5120): the same GPU buffer
    const b = webgpuBackend.alloc('float32', 1200, 0);
    expect(b.gpu).toBe(gpu);
    webgpuBackend.write(b, Float32Array.from({ length: 1200 }, (_, i) => i));
    const reads = webgpuStats().reads;
    for (let r = 0; r < 3; r++) {
      const got = (await webgpuBackend.read(b)) as Float32Array;
      expect(got.length).toBe(1200);
      expect(got.buffer.byteLength).toBe(4800);
      expect(got[1199]).toBe(1199);
    }
    expect(webgpuStats().reads).toBe(reads + 3);
    webgpuBackend.free(b);
  });

  it('trim drops the pool; allocations after it work', async () => {
    const a = webgpuBackend.alloc('int32', 300, 0);
    const gpu = a.gpu;
    webgpuBackend.free(a);
    webgpuBackend.trim!();
    const b = webgpuBackend.alloc('int32', 300, 0);
    expect(b.gpu).not.toBe(gpu);
    webgpuBackend.write(b, Int32Array.from({ length: 300 }, (_, i) => -i));
    expect(Array.from(((await webgpuBackend.read(b)) as Int32Array).slice(297))).toEqual([-297, -298, -299]);
    webgpuBackend.free(b);
  });
});
