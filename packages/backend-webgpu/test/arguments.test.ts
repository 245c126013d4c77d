/** Arguments never misread, tensor clamp bounds, detach/noGrad and pow gradients as PyTorch, on a real WebGPU adapter. */
import { runArguments } from '@fusor/conformance';
import { it } from 'vitest';
import { adapter, describeWebGPU } from './adapter.js';

if (adapter.ok) runArguments('webgpu');
else describeWebGPU('arguments and gradients on webgpu', () => it('runs every case', () => {}));
