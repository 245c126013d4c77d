/**
 * The consumer test (tools/consumer-test.mjs): every package packed, installed with npm into a fresh
 * project outside the workspace, and used there from Node, esbuild, tsc, and a vite app in headless
 * Chromium on cpu and webgpu. It needs built packages, npm and Chromium, and takes ~20 s, so it runs
 * where CI is set (.ci/run sets it up) or FUSOR_CONSUMER_TEST=1; elsewhere it is skipped with the reason.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Check {
  name: string;
  ok: boolean;
  detail: unknown;
}

const enabled = Boolean(process.env['CI'] || process.env['FUSOR_CONSUMER_TEST']);
const suite = enabled ? describe : describe.skip;
const SCRIPT = fileURLToPath(new URL('../../../tools/consumer-test.mjs', import.meta.url));

/** Each group of the script's checks, by the word its names start with, and how many it has. */
const GROUPS: [string, number][] = [
  ['pack', 1],
  ['sizes', 1],
  ['install', 1],
  ['node', 1],
  ['require', 1],
  ['esbuild', 1],
  ['bundlers', 1],
  ['tsc', 5],
  ['vite', 1],
  ['chromium', 2],
];

suite(`fusor from a fresh project (tools/consumer-test.mjs)${enabled ? '' : ' — set FUSOR_CONSUMER_TEST=1 (CI does) to run it'}`, () => {
  let checks: Check[] = [];
  let dir = '';
  let output = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fusor-consumer-json-'));
    const r = spawnSync('node', [SCRIPT, '--json', join(dir, 'checks.json')], { encoding: 'utf8', timeout: 540_000 });
    output = `${r.stdout}\n${r.stderr}`;
    process.stdout.write(r.stdout);
    try {
      checks = JSON.parse(readFileSync(join(dir, 'checks.json'), 'utf8')) as Check[];
    } catch {
      throw new Error(`tools/consumer-test.mjs wrote no results (exit ${r.status ?? r.signal}):\n${output}`);
    }
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [group, count] of GROUPS) {
    it(`${group}: every check passes`, () => {
      const mine = checks.filter((c) => c.name.startsWith(`${group}:`));
      expect(
        mine.map((c) => c.name),
        `the ${group} checks run`,
      ).toHaveLength(count);
      const failed = mine.filter((c) => !c.ok);
      expect(failed.map((c) => `${c.name}\n${String(c.detail)}`)).toEqual([]);
    });
  }

  it('runs no check this file does not know of', () => {
    const known = checks.filter((c) => GROUPS.some(([g]) => c.name.startsWith(`${g}:`)));
    expect(known).toHaveLength(checks.length);
  });
});
