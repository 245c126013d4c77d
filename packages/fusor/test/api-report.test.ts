/** tools/api-report.mjs on a made-up package: what api.md holds, and --check failing on a change (each run loads TypeScript: seconds). */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../tools/api-report.mjs', import.meta.url));
const DTS = `/** Adds. */
export declare function add(a: number, b: number): number;
export declare class Box {
    readonly size: number;
    constructor(size: number);
}
declare const twice: (x: string) => string;
export { twice };
export type Kind = 'a' | 'b';
`;

let root = '';
const run = (...args: string[]) => {
  const r = spawnSync('node', [SCRIPT, '--root', root, ...args], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

describe('tools/api-report.mjs', () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fusor-api-report-'));
    mkdirSync(join(root, 'packages/lib/dist'), { recursive: true });
    const manifest = { name: '@fusor/lib', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } };
    writeFileSync(join(root, 'packages/lib/package.json'), JSON.stringify(manifest));
    writeFileSync(join(root, 'packages/lib/dist/index.d.ts'), DTS);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes each export with its declaration, doc comments stripped, sorted by name', () => {
    expect(run()).toEqual({ status: 0, out: 'wrote packages/lib/api.md\n' });
    const md = readFileSync(join(root, 'packages/lib/api.md'), 'utf8');
    expect(md).toContain('# @fusor/lib: public API');
    expect(md).toContain('### add\n\n```ts\nfunction add(a: number, b: number): number;\n```');
    expect(md).toContain('### Box\n\n```ts\nclass Box {\n    readonly size: number;\n    constructor(size: number);\n}\n```');
    expect(md).toContain("### Kind\n\n```ts\ntype Kind = 'a' | 'b';\n```");
    expect(md).toContain('### twice\n\n```ts\nconst twice: (x: string) => string;\n```');
    expect(md).not.toContain('Adds.');
    expect(md.indexOf('### add')).toBeLessThan(md.indexOf('### Box'));
  }, 60_000);

  it('--check passes while the API is unchanged and fails, with the command to regenerate, when it changes', () => {
    expect(run('--check')).toEqual({ status: 0, out: 'API reports up to date\n' });
    writeFileSync(join(root, 'packages/lib/dist/index.d.ts'), DTS.replace('b: number)', 'b: number, alpha?: number)'));
    const r = run('--check');
    expect(r.status).toBe(1);
    expect(r.out).toContain('API reports out of date: packages/lib/api.md');
    expect(r.out).toContain('regenerate with `pnpm build && pnpm api`');
  }, 60_000);
});

describe('tools/api-report.mjs on a class whose methods come from a mapped type', () => {
  it("prints the merged interface's members, not an empty interface", () => {
    root = mkdtempSync(join(tmpdir(), 'fusor-api-report-'));
    try {
      mkdirSync(join(root, 'packages/lib/dist'), { recursive: true });
      const manifest = { name: '@fusor/lib', exports: { '.': { types: './dist/index.d.ts' } } };
      writeFileSync(join(root, 'packages/lib/package.json'), JSON.stringify(manifest));
      const dts = `declare const ops: { grow: (b: Box, by: number) => Box; name: (b: Box) => string };
type Methods = { [K in keyof typeof ops]: (typeof ops)[K] extends (self: Box, ...rest: infer A) => infer R ? (...rest: A) => R : never };
export interface Box extends Methods {}
export declare class Box {
    readonly size: number;
}
`;
      writeFileSync(join(root, 'packages/lib/dist/index.d.ts'), dts);
      expect(run().status).toBe(0);
      const md = readFileSync(join(root, 'packages/lib/api.md'), 'utf8');
      expect(md).toContain(
        '### Box\n\n```ts\ninterface Box {\n    grow(by: number): Box;\n    name(): string;\n}\nclass Box {\n    readonly size: number;\n}\n```',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
