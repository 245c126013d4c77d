// The browser demo: `pnpm demo:web` (dev server) or `pnpm demo:web:build` (static files in
// examples/web/dist). The 'source' condition (see each package's "exports") bundles the packages'
// TypeScript sources, so neither needs `pnpm build` first.
//
// The servers send COOP/COEP headers: a cross-origin isolated page has SharedArrayBuffer, which
// the cpu backend's worker threads need (static hosting should send them too).
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';
import { fashionSubsetPlugin } from './fashion-subset.js';

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const page = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  base: './', // the built page works from any directory
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // two pages: the tensor demo and the Fashion-MNIST training page
    rollupOptions: { input: { main: page('index.html'), fashion: page('fashion.html') } },
  },
  plugins: [fashionSubsetPlugin()], // fashion-subset.bin, cut from Debian's dataset files
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
});
