// The browser demo: `pnpm demo:web` (dev server) or `pnpm demo:web:build` (static files in
// examples/web/dist). The 'source' condition (see each package's "exports") bundles the packages'
// TypeScript sources, so neither needs `pnpm build` first.
//
// The servers send COOP/COEP headers: a cross-origin isolated page has SharedArrayBuffer, which
// the cpu backend's worker threads need (static hosting should send them too).
import { defaultClientConditions, defineConfig } from 'vite';

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  base: './', // the built page works from any directory
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
});
