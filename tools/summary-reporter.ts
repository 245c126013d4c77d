// Prints one machine-readable line as the very last output of a test run:
//   "N passed, N failed" (skipped tests, when there are any, are counted on the line before).
// CI scripts and humans read the tail of the log; this line is the verdict.
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else if (state === 'skipped') skipped++;
      }
      // A file that fails to import or errors in a hook has no failed test to show for it;
      // count it once so the line never reads "0 failed" on a red run.
      if (failedHere === 0 && module.errors().length > 0) failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    const before = skipped > 0 ? `\n${skipped} skipped` : '';
    process.stdout.write(`${before}\n${passed} passed, ${failed} failed\n`);
  }
}
