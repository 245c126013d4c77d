/**
 * Parallelism on the cuda emulator's two devices (MOCK_CUDA_DEVICES=2; kernels compiled with g++
 * and run on the cpu): the shared suite (parallel-cases.ts) on cuda:0 + cuda:1, on cpu + cuda
 * (autograd and model parallel), cuda's device-to-device copies (no host round trip between cuda:0 and cuda:1), and webgpu:0 +
 * cuda:0 (autograd and DataParallel) where a WebGPU adapter exists.
 */
import { describe, expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { emulatorUnavailable, installEmulator } from '../../backend-cuda/test/emulator/emulator.js';
import { parallelSuite, vals } from './parallel-cases.js';

const why = emulatorUnavailable();

if (why) {
  describe('parallelism on cuda (emulated)', () => it.skip(`skipped: ${why}`, () => {}));
} else {
  installEmulator({ MOCK_CUDA_DEVICES: '2' });
  const { configureCuda, cudaBackend, deviceCount } = await import('@fusor/backend-cuda');
  configureCuda({ diskCache: null });

  describe('parallelism on cuda:0 + cuda:1 (emulated)', () => {
    it('the emulator has two devices', () => expect(deviceCount()).toBe(2));

    it('copies between cuda devices go device to device, and backward through them is synchronous', async () => {
      // counts host reads of the real backend object (not a stand-in): a peer copy makes none
      const readSync = cudaBackend.readSync!;
      let reads = 0;
      cudaBackend.readSync = (b) => {
        reads++;
        return readSync.call(cudaBackend, b);
      };
      try {
        const w = torch.tensor([1, 2, 3], { dtype: torch.float32, device: 'cuda:0' }).requiresGrad_();
        const y = w.to('cuda:1').mul(torch.tensor([4, 5, 6], { dtype: torch.float32, device: 'cuda:1' }));
        expect(y.device).toBe('cuda:1');
        expect(y.sum().backward()).toBeUndefined();
        expect(w.grad!.device).toBe('cuda:0');
        expect(reads).toBe(0);
      } finally {
        cudaBackend.readSync = readSync;
      }
      expect(await vals(torch.tensor([1, 2, 3], { device: 'cuda:0' }).mul(2).to('cuda:1'))).toEqual([2, 4, 6]);
    }, 600_000);

    // every kernel is compiled by g++ on first use: minutes on a loaded 2-core machine
    parallelSuite('cuda:0', 'cuda:1', 600_000);
  });

  describe('parallelism on cpu + cuda:1 (emulated)', () => {
    it('backward from cuda to the cpu is synchronous (cuda reads synchronously)', () => {
      const w = torch.tensor([1, 2], { dtype: torch.float32 }).requiresGrad_();
      expect(w.to('cuda:1').pow(2).sum().backward()).toBeUndefined();
      expect([...w.grad!.dataSync()]).toEqual([2, 4]);
    }, 600_000);

    parallelSuite('cpu', 'cuda:1', 600_000, ['autograd', 'model']);
  });

  // webgpu ↔ cuda: both backends in one process (a copy through the host each way, the one out
  // of webgpu awaited); only the autograd case, the layers above are the same code
  const webgpu = await torch.init('webgpu').then(
    () => null,
    (e: Error) => e.message,
  );
  const describeWebGPU = webgpu === null || process.env['CI'] ? describe : describe.skip;
  describeWebGPU(`parallelism on webgpu:0 + cuda:0 (emulated)${webgpu === null ? '' : ` — no WebGPU adapter here: ${webgpu}`}`, () => {
    parallelSuite('webgpu:0', 'cuda:0', 600_000, ['autograd', 'data']);
  });
}
