/** diagnoseCase names the node a faulty backend gets wrong, and says so when nothing is wrong. */
import { expect, it } from 'vitest';
import type { Backend, BackendBuffer, Kernel, RenderedKernel } from '@fusor/compiler';
import { getBackend, registerBackend } from '@fusor/runtime';
import { hostArray } from '@fusor/ir';
import { diagnoseCase, loadFixtures } from '../src/index.js';

const argmin = loadFixtures()
  .flatMap((f) => f.cases)
  .find((c) => c.id === 'argmin/i32/all')!;

it('reports every node right on a correct backend', async () => {
  const text = await diagnoseCase(argmin, 'cpu');
  expect(text).toMatch(/^diagnosis of argmin\/i32\/all on cpu\nleaf int32\[3, 4\]: \[1, 0, 3, -1, 4, -1, 2, 1, 2, -5, -2, -3\]\noutput 0 fused: \[9\]; interpreted: \[9\]/);
  expect(text).toMatch(/kernels of the fused graph \(2\)/);
  expect(text).toMatch(/each of \d+ nodes is right when realized alone$/);
});

it('names the node whose kernel is wrong', async () => {
  const cpuBackend = getBackend('cpu');
  // a cpu that writes zeros wherever a kernel reduces to a single int32 value (the max of argmin)
  const zeroed = new WeakSet<object>();
  const faulty = Object.create(cpuBackend, {
    name: { value: 'faultycpu' },
    routines: { value: undefined },
    compile: {
      value(rendered: RenderedKernel, k: Kernel) {
        const p = cpuBackend.compile(rendered, k) as object;
        const wrapped = { p };
        if (k.size === 1 && k.buffers[0]!.dtype === 'int32') zeroed.add(wrapped);
        return wrapped;
      },
    },
    launch: {
      value(program: { p: unknown }, bufs: readonly BackendBuffer[], vars: readonly number[]) {
        cpuBackend.launch(program.p as never, bufs as never, vars);
        if (zeroed.has(program)) cpuBackend.write(bufs[0] as never, hostArray('int32', 1));
      },
    },
  }) as Backend;
  registerBackend(faulty);
  const text = await diagnoseCase(argmin, 'faultycpu');
  expect(text).toMatch(/output 0 fused: \[\d+\]; interpreted: \[9\]/);
  expect(text).not.toMatch(/output 0 fused: \[9\]/);
  expect(text).toMatch(/first wrong node: REDUCE .*max.* int32\[1\] alone: got \[0\], interpreted \[5\]/);
});
