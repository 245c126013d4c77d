/**
 * CUDA_LAUNCH_BLOCKING=1, PyTorch's debugging switch: every launch waits for its kernel, so a
 * kernel that faults is reported at its own launch, by name, instead of at some later call.
 */
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { emulatorUnavailable, installEmulator } from './emulator/emulator.js';

const why = emulatorUnavailable();
if (!why) installEmulator({ CUDA_LAUNCH_BLOCKING: '1' });
const cuda = await import('../src/index.js');
cuda.configureCuda({ diskCache: null });

describe.skipIf(why !== null)(`CUDA_LAUNCH_BLOCKING=1 on the emulator${why ? ` (skipped: ${why})` : ''}`, () => {
  it('computes as usual, and names the kernel whose launch faulted', async () => {
    await torch.init('cuda');
    const x = torch.tensor([1, 2, 3], { dtype: 'float32', device: 'cuda' });
    expect(x.mul(2).tolistSync()).toEqual([2, 4, 6]);
    process.env['MOCK_CUDA_SYNC_ERROR'] = '700';
    try {
      expect(() => x.add(5).dataSync()).toThrow(/^E_3 \(grid 1, block 256\) failed on cuda:0: CUDA_ERROR_ILLEGAL_ADDRESS/);
      // a product cuBLAS computes is waited for too
      const a = torch.ones([64, 64]).to('cuda'); // a buffer on the device, as cuBLAS takes it
      expect(() => a.matmul(a.mul(2)).dataSync()).toThrow(/^E_64_64/); // the operand is computed first
      expect(() => a.matmul(a).dataSync()).toThrow(/^cuBLAS cublasSgemm_v2 \(float32 64×64·64×64\) failed on cuda:0: CUDA_ERROR_ILLEGAL_ADDRESS/);
    } finally {
      delete process.env['MOCK_CUDA_SYNC_ERROR'];
    }
    const b = torch.ones([64, 64]).to('cuda');
    expect(b.matmul(b).max().itemSync()).toBe(64);
  });
});
