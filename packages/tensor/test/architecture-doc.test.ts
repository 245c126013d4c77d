import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ir from '@fusor/ir';
import * as torch from '../src/index.js';
// @ts-expect-error -- a plain ESM script without type declarations
import { architectureDoc } from '../../../scripts/architecture.mjs';

describe('docs/ARCHITECTURE.md', () => {
  it('is what fusor prints today (regenerate with node scripts/architecture.mjs)', () => {
    const committed = readFileSync(new URL('../../../docs/ARCHITECTURE.md', import.meta.url), 'utf8');
    expect((architectureDoc as (t: unknown, i: unknown) => string)(torch, ir)).toBe(committed);
  });
});
