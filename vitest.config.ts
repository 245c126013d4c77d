import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// 'source' (see each package's "exports") maps `import '@fusor/ir'` to packages/ir/src/index.ts,
// so tests run against sources without a build. Node itself ignores the condition.
const conditions = ['source'];

export default defineConfig({
  resolve: { conditions: [...conditions, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [...conditions, ...defaultServerConditions] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    reporters: ['default', './tools/summary-reporter.ts'],
  },
});
