/**
 * The one import:
 *   import * as torch from 'fusor';
 * gives the tensor API (@fusor/tensor, with the cpu backend registered), `torch.nn`, `torch.optim`,
 * `torch.utils.data`, `torch.safetensors` (@fusor/nn) and `torch.distributed` (@fusor/distributed).
 * Other devices register with one side-effect import: `import 'fusor/webgpu'`, `import 'fusor/cuda'`.
 */
export * from '@fusor/tensor';
export { nn, optim, safetensors } from '@fusor/nn';
export * as utils from './utils.js';
export * as distributed from '@fusor/distributed';
