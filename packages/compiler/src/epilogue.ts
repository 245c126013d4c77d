/**
 * GEMM epilogues: the elementwise chain that consumes a routed product (a bias, an activation, a
 * scale), lowered to kernel IR like any kernel and handed to the GEMM routine, which applies it to
 * each element of the product before the one store (backend.ts `GemmEpilogue`). The chain is
 * lowered with the product as an input read at the output's own index; that load then becomes the
 * routine's accumulator (the local `acc`), so every backend renders the epilogue with the renderer
 * it already has.
 */
import type { Node } from '@fusor/ir';
import { EPILOGUE_ACC, type GemmEpilogue } from './backend.js';
import { alu, cast, gid, konst, load, local, printKernel, type Expr, type Kernel, type KernelBuffer, type Stmt } from './kernel-ir.js';
import { lower } from './lower.js';

/** An epilogue and the nodes bound to its extra operands (buffers 1… of its kernel), in order. */
export interface LoweredEpilogue {
  readonly epilogue: GemmEpilogue;
  readonly inputs: readonly Node[];
}

/**
 * The epilogue computing `root` from `product` (a node holding the product's result, read by the
 * chain at the output's own index) and `inputs` (nodes read from buffers), or undefined when the
 * chain is not one an epilogue can be: it reads the product elsewhere than at the element being
 * stored (a transpose of it), or needs loops or launch parameters.
 */
export function lowerEpilogue(root: Node, product: Node, inputs: readonly Node[]): LoweredEpilogue | undefined {
  const lowered = lower({ kind: 'kernel', root, inputs: [product, ...inputs], ops: [], reduces: [], reason: 'gemm epilogue' });
  const k = lowered.kernel;
  if (k.vars.length || lowered.prefill) return undefined;
  const p = lowered.inputs.indexOf(product) + 1;
  if (p === 0) return undefined; // the chain does not read the product (it was folded away)
  let ok = true;
  const at = gid(k.size);
  const rewrite = (e: Expr): Expr => {
    switch (e.k) {
      case 'const':
        return konst(e.value, e.dtype);
      case 'gid':
        return at;
      case 'local':
        return local(e.name, e.dtype, e.min, e.max);
      case 'load':
        if (e.buf === p) {
          // the routine has the product at the element it stores, nowhere else
          if (e.idx.k !== 'gid' || e.valid) ok = false;
          return local(EPILOGUE_ACC, e.dtype);
        }
        return load(e.buf > p ? e.buf - 1 : e.buf, rewrite(e.idx), e.dtype, e.valid && rewrite(e.valid));
      case 'alu':
        return alu(e.op, ...e.src.map(rewrite));
      case 'cast':
        return cast(rewrite(e.src), e.dtype, e.bitcast);
      default:
        ok = false; // loops' indices, launch parameters, random draws
        return e;
    }
  };
  const body: Stmt[] = [];
  for (const s of k.body) {
    if (s.k === 'let') body.push({ k: 'let', name: s.name, expr: rewrite(s.expr) });
    else if (s.k === 'store' && s.buf === 0 && s.idx.k === 'gid') body.push({ k: 'store', buf: 0, idx: at, expr: rewrite(s.expr) });
    else return undefined;
  }
  // the chain's own local names never clash with the accumulator's: lowering names them x0, x1…
  if (!ok || body.some((s) => s.k === 'let' && s.name === EPILOGUE_ACC)) return undefined;
  const buffers: KernelBuffer[] = k.buffers.filter((_, i) => i !== p);
  const name = `epilogue_${root.shape.join('_') || 'scalar'}`;
  const key = printKernel({ name, size: k.size, buffers, vars: [], body });
  const kernel: Kernel = { name, size: k.size, buffers, vars: [], body, key };
  return { epilogue: { kernel, key }, inputs: lowered.inputs.filter((n) => n !== product) };
}

/**
 * 64 bits of an FNV-1a-style hash of an epilogue's key, in hex: backends cache compiled GEMM
 * variants by name, so the name must tell epilogues apart.
 */
export function epilogueHash(key: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

/** The extra operands an epilogue reads (its buffers past the output), passed after C, A and B. */
export const epilogueOperands = (e: GemmEpilogue | undefined): number => (e ? e.kernel.buffers.length - 1 : 0);
