/** PyTorch's storage semantics (views, in-place ops, versions, detach, no_grad) on a real WebGPU adapter. */
import { runSemantics } from '@fusor/conformance';
import { it } from 'vitest';
import { adapter, describeWebGPU } from './adapter.js';

// SwiftShader compiles some gather kernels for many seconds on a loaded machine
if (adapter.ok) runSemantics('webgpu', { timeout: 120_000 });
else describeWebGPU('storage semantics on webgpu', () => it('runs every program', () => {}));
