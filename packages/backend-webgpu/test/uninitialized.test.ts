/** Before `torch.init('webgpu')`: the backend is registered, and using it says what to do. */
import { expect, it } from 'vitest';
import * as torch from '@fusor/tensor';
import { webgpuBackend } from '@fusor/backend-webgpu';

it('importing the package registers webgpu; data on it needs torch.init first', async () => {
  expect(torch.registeredBackends()).toContain('webgpu');
  expect(webgpuBackend.capabilities).toMatchObject({ syncRead: false, fp16: false, maxBuffers: 7 });
  expect(webgpuBackend.capabilities.dtypes).not.toContain('float64');
  const x = torch.ones(3).to('webgpu'); // recording is fine; moving data is not
  await expect(x.data()).rejects.toThrow("webgpu is not initialized: call `await torch.init('webgpu')` before using webgpu tensors");
});
