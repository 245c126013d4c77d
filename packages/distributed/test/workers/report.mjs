// A worker's result: printed, and written to $FUSOR_RESULT_DIR/<tag>-<rank>.json when set (mpirun
// interleaves long lines of several ranks' stdout, so the tests read the files).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export function report(tag, value) {
  const line = JSON.stringify(value);
  console.log(`${tag} ${line}`);
  const dir = process.env.FUSOR_RESULT_DIR;
  if (dir) appendFileSync(join(dir, `${tag}-${value.rank}.json`), `${line}\n`);
}
