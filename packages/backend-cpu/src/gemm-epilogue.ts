/**
 * Epilogues for the cpu backend's GEMM routines (blas.ts, gemm-wasm.ts): the elementwise chain
 * after a product (a bias, an activation, a scale; compiler backend.ts `GemmEpilogue`) applied to
 * each block of C right after the routine wrote it, while it is still in cache, instead of by a
 * kernel of its own that reads C back. Rendered to JavaScript (render-js.ts) and compiled once
 * per epilogue.
 */
import type { BackendBuffer, GemmEpilogue, GemmShape } from '@fusor/compiler';
import { PRELUDE, renderJsEpilogue } from './render-js.js';

interface DataBuffer extends BackendBuffer {
  readonly data: ArrayBufferView;
}

type Apply = (c: ArrayBufferView, oc: number, m: number, n: number, rs: number, cs: number, ...extra: ArrayBufferView[]) => void;

/** Compiled epilogues by key: a training loop meets the same few over and over. */
const compiled = new Map<string, Apply>();
const CAPACITY = 256;

function compile(e: GemmEpilogue): Apply {
  let fn = compiled.get(e.key);
  if (!fn) {
    const params = e.kernel.buffers.slice(1).map((_, i) => `b${i + 1}`);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- rendering to JS is this backend's job
    fn = new Function(`${PRELUDE}\nreturn function epilogue(b0, oc, m, n, rs, cs${params.map((p) => `, ${p}`).join('')}) {\n${renderJsEpilogue(e.kernel)}\n};`)() as Apply;
    if (compiled.size >= CAPACITY) compiled.delete(compiled.keys().next().value!);
    compiled.set(e.key, fn);
  }
  return fn;
}

/** Whether the cpu routines apply this epilogue: C keeps the product's dtype. */
export function cpuTakesEpilogue(g: GemmShape & { readonly epilogue: GemmEpilogue }): boolean {
  const k = g.epilogue.kernel;
  const store = k.body[k.body.length - 1];
  return store?.k === 'store' && store.expr.dtype === g.dtype && k.vars.length === 0;
}

/**
 * The function a routine calls after writing the block of C at `oc` (one index of the batch
 * loops), or undefined where `g` has no epilogue.
 */
export function epilogueOf(g: GemmShape, c: DataBuffer, extra: readonly DataBuffer[] = []): ((oc: number) => void) | undefined {
  if (!g.epilogue) return undefined;
  if (extra.length !== g.epilogue.kernel.buffers.length - 1) {
    throw new Error(`internal: the gemm epilogue reads ${g.epilogue.kernel.buffers.length - 1} buffers, ${extra.length} were given`);
  }
  const fn = compile(g.epilogue);
  const views = extra.map((b) => b.data);
  return (oc) => fn(c.data, oc, g.m, g.n, g.c.rowStride, g.c.colStride, ...views);
}
