/** tools/check-boundaries.mjs on a small made-up repository: what it lets through and what it stops. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../tools/check-boundaries.mjs', import.meta.url));
const TABLE = `# repo

## Packages

| package | holds | depends on |
|---|---|---|
| [\`@fusor/ir\`](packages/ir) | nodes | — |
| [\`@fusor/compiler\`](packages/compiler) | kernels | ir |
| [\`@fusor/backend-x\`](packages/backend-x) | a backend | compiler, ir |
| [\`@fusor/tensor\`](packages/tensor) | the API | ir, compiler |
`;

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

function repo(files: Record<string, string>, table = TABLE): string {
  root = mkdtempSync(join(tmpdir(), 'fusor-boundaries-'));
  const all: Record<string, string> = {
    'README.md': table,
    'packages/ir/package.json': JSON.stringify({ name: '@fusor/ir' }),
    'packages/ir/src/index.ts': 'export const x = 1;\n',
    'packages/compiler/package.json': JSON.stringify({ name: '@fusor/compiler', dependencies: { '@fusor/ir': 'workspace:*' } }),
    'packages/compiler/src/index.ts': "import { x } from '@fusor/ir';\nexport const y = x;\n",
    'packages/tensor/package.json': JSON.stringify({
      name: '@fusor/tensor',
      dependencies: { '@fusor/ir': 'workspace:*', '@fusor/compiler': 'workspace:*' },
    }),
    'packages/tensor/src/index.ts': "export * from '@fusor/compiler';\nimport type { x } from '@fusor/ir';\n",
    'packages/backend-x/package.json': JSON.stringify({
      name: '@fusor/backend-x',
      dependencies: { '@fusor/compiler': 'workspace:*', '@fusor/ir': 'workspace:*' },
    }),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the made-up source holds a template literal
    'packages/backend-x/src/index.ts':
      "import '@fusor/compiler';\nimport { x } from '@fusor/ir';\n// a message, not an import:\nconst hint = `import '@fusor/backend-${x}' to register it`;\n",
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function run(dir: string): { status: number | null; out: string } {
  const r = spawnSync('node', [SCRIPT, '--root', dir], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('tools/check-boundaries.mjs', { timeout: 30_000 }, () => {
  it('passes a repository whose imports follow the table', () => {
    const r = run(repo({}));
    expect(r.out).toContain("package boundaries: 4 packages import only what README.md's table allows");
    expect(r.status).toBe(0);
  });

  it('stops a backend importing tensor, naming what it may import', () => {
    const r = run(repo({ 'packages/backend-x/src/ops.ts': "import { zeros } from '@fusor/tensor';\n" }));
    expect(r.status).toBe(1);
    expect(r.out).toContain(
      'packages/backend-x/src/ops.ts: imports @fusor/tensor, but @fusor/backend-x may import only @fusor/compiler, @fusor/ir (README.md)',
    );
  });

  it('stops dynamic imports, undeclared dependencies, declared ones the table forbids, and relative paths out of a package', () => {
    const r = run(
      repo({
        'packages/compiler/src/load.ts': "export const load = () => import('@fusor/backend-x');\n",
        'packages/backend-x/package.json': JSON.stringify({
          name: '@fusor/backend-x',
          dependencies: { '@fusor/compiler': 'workspace:*', '@fusor/tensor': 'workspace:*' },
        }),
        'packages/tensor/src/peek.ts': "export { y } from '../../compiler/src/index.js';\n",
      }),
    );
    expect(r.status).toBe(1);
    expect(r.out).toContain('packages/compiler/src/load.ts: imports @fusor/backend-x, but @fusor/compiler may import only @fusor/ir (README.md)');
    expect(r.out).toContain("@fusor/backend-x: package.json depends on @fusor/tensor, which README.md's table does not allow");
    expect(r.out).toContain("packages/backend-x/src/index.ts: imports @fusor/ir, missing from @fusor/backend-x's dependencies");
    expect(r.out).toContain(
      "packages/tensor/src/peek.ts: relative import '../../compiler/src/index.js' leaves @fusor/tensor; import the package by name",
    );
  });

  it('asks for a table row for a package the table does not list', () => {
    const r = run(repo({ 'packages/nn/package.json': JSON.stringify({ name: '@fusor/nn' }), 'packages/nn/src/index.ts': '' }));
    expect(r.status).toBe(1);
    expect(r.out).toContain("@fusor/nn: no row in README.md's package table (add one with what it may depend on)");
  });

  it('stops files of one package importing each other in a circle, but not through imports of types', () => {
    const r = run(
      repo({
        'packages/tensor/src/tensor.ts': "import { add } from './ops.js';\nimport type { Sub } from './sub.js';\nexport class Tensor {}\n",
        'packages/tensor/src/ops.ts': "import { Tensor } from './tensor.js';\nexport const add = (t: Tensor) => t;\n",
        'packages/tensor/src/sub.ts':
          "import { Tensor, type T } from './tensor.js';\nimport { type A, type B } from './ops.js';\nexport type Sub = 1;\n",
      }),
    );
    expect(r.status).toBe(1);
    expect(r.out).toContain('@fusor/tensor: import circle ops.ts → tensor.ts → ops.ts');
    expect(r.out.match(/import circle/g)).toHaveLength(1);
  });
});
