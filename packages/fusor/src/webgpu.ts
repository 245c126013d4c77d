/**
 * `import 'fusor/webgpu'` registers the webgpu backend: `navigator.gpu` in browsers, the `webgpu`
 * npm package (Dawn) in Node. Side effects only; tensors then take `{ device: 'webgpu' }`.
 */
import '@fusor/backend-webgpu';
