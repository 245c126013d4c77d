/** The training loop in flat memory on a real WebGPU adapter (reads are asynchronous: the loop awaits the loss). */
import { runMemoryChecks } from '@fusor/conformance';
import { it } from 'vitest';
import { adapter, describeWebGPU } from './adapter.js';

if (adapter.ok) runMemoryChecks('webgpu', { steps: 1000 });
else describeWebGPU('memory on webgpu', () => it('keeps the training loop flat', () => {}));
