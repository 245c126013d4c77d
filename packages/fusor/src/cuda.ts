/**
 * `import 'fusor/cuda'` registers the cuda backend (Node only: NVRTC and the driver API through
 * koffi, found at run time). Side effects only; tensors then take `{ device: 'cuda' }`.
 */
import '@fusor/backend-cuda';
