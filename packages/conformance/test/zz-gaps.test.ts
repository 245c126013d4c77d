import { it } from 'vitest';
import { KNOWN_SEMANTIC_GAPS, loadPrograms, runProgram } from '../src/index.js';
const only = process.env.GAPS ? new Set(process.env.GAPS.split(',')) : null;
for (const p of loadPrograms()) {
  if (only ? !only.has(p.id) : !KNOWN_SEMANTIC_GAPS.has(p.id)) continue;
  it(p.id, () => runProgram(p, 'cpu'));
}
