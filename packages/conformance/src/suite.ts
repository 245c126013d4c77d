/**
 * runConformance(device): registers every golden case as vitest tests on one device. Per case,
 * one test per check: `id` (values, shapes and dtypes against PyTorch, or PyTorch's error
 * message), `id · grad` (gradients) and `id · interpret` (the compiled result against the
 * reference interpreter on the same IR node). Reads are asynchronous, so devices without
 * synchronous reads run the same suite.
 */
import { describe, it } from 'vitest';
import { getBackend, getBuffer, observeKernels, realize } from '@fusor/runtime';
import { isFloat, toposort, type DType } from '@fusor/ir';
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { decodeAll, decodeArgs, isScalar, loadFixtures, type Case, type FixtureFile, type TensorData, type TensorInput } from './fixtures.js';
import { opFor, type OpArgs, type Operand } from './ops.js';
import { hostToNumbers, interpretNode, readLeaves, readTensor } from './read.js';
import { dtypesOf, skipReason, SYNC_READ_ONLY, type Check, type SkipRule } from './skips.js';
import { describeMismatch, firstMismatch, gradToleranceFor, graphToleranceFor, toleranceFor, type Tolerance } from './tolerance.js';

export interface ConformanceOptions {
  /** The backend's own named skips (added to the dtype-capability skips and KNOWN_BUGS). */
  readonly skip?: readonly SkipRule[];
  /** Fixture files, for runners without a filesystem (default: read from fixtures/). */
  readonly fixtures?: readonly FixtureFile[];
  /** Register only the cases whose id matches (for debugging one op). */
  readonly only?: RegExp;
}

const CHECK_SUFFIX: Readonly<Record<Check, string>> = { values: '', error: '', grad: ' · grad', interpret: ' · interpret' };

export function checksOf(c: Case): Check[] {
  if (c.error !== undefined) return ['error'];
  return c.grad ? ['values', 'grad', 'interpret'] : ['values', 'interpret'];
}

export function runConformance(device: string, opts: ConformanceOptions = {}): void {
  const files = opts.fixtures ?? loadFixtures();
  const backend = getBackend(device);
  const available = backend.isAvailable();
  describe(`conformance on ${device}`, () => {
    if (!available.ok) {
      it.skip(`every case — ${device} is unavailable: ${available.reason}`, () => {});
      return;
    }
    for (const file of files) {
      describe(file.category, () => {
        for (const c of file.cases) {
          if (opts.only && !opts.only.test(c.id)) continue;
          for (const check of checksOf(c)) {
            const name = c.id + CHECK_SUFFIX[check];
            const rules = backend.readSync ? opts.skip ?? [] : [...(opts.skip ?? []), ...SYNC_READ_ONLY];
            const why = skipReason(c, check, device, backend.capabilities.dtypes, rules);
            if (why !== undefined) it.skip(`${name} — ${why}`, () => {});
            else it(name, () => runCheck(c, check, device));
          }
        }
      });
    }
  });
}

/** Runs one check of one case; throws with a message naming what differs. */
export async function runCheck(c: Case, check: Check, device: string): Promise<void> {
  await torch.init(device);
  switch (check) {
    case 'error':
      return checkError(c, device);
    case 'values':
      return checkValues(c, device);
    case 'grad':
      return checkGrad(c, device);
    case 'interpret':
      return checkInterpret(c, device);
  }
}

// ---------------------------------------------------------------------------------------------
// building inputs and calling the op

function nest(flat: readonly number[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) => nest(flat.slice(i * inner, (i + 1) * inner), shape.slice(1)));
}

/** A tensor on `device` holding `d`'s values, its dtype always given (JS cannot tell 1.0 from 1). */
function makeTensor(d: TensorData & { readonly data: TensorInput['data'] }, device: string, requiresGrad = false): Tensor {
  const opts = { dtype: d.dtype, device, requiresGrad };
  if (d.shape.includes(0)) return torch.zeros(d.shape, opts);
  return torch.tensor(nest(decodeAll(d.data), d.shape) as torch.NestedData, opts);
}

interface Built {
  /** Per input, the leaf tensor (null for scalars). */
  readonly leaves: (Tensor | null)[];
  /** What the op receives: the leaf, a view of it, or a scalar. */
  readonly operands: Operand[];
}

function buildInputs(c: Case, device: string, requiresGrad: boolean): Built {
  const leaves: (Tensor | null)[] = [];
  const operands: Operand[] = [];
  for (const s of c.inputs) {
    if (isScalar(s)) {
      leaves.push(null);
      operands.push(s.scalar);
      continue;
    }
    const leaf = makeTensor(s, device, requiresGrad && isFloat(s.dtype));
    leaves.push(leaf);
    operands.push(s.view === 'T' ? leaf.transpose(-2, -1) : s.view === 'step' ? leaf.index('...', '::2') : leaf);
  }
  return { leaves, operands };
}

function callOp(c: Case, operands: readonly Operand[], device: string): Tensor[] {
  const f = opFor(c.op);
  if (!f) throw new Error(`no entry for op '${c.op}' in OPS (src/ops.ts), nor a function torch.${c.op}`);
  const out = f(operands, decodeArgs(c.args) as OpArgs, { device });
  return Array.isArray(out) ? out : [out];
}

// ---------------------------------------------------------------------------------------------
// comparisons

function checkMeta(what: string, t: Tensor, e: { readonly dtype: DType; readonly shape: readonly number[] }): void {
  if (t.dtype !== e.dtype) throw new Error(`${what}: dtype ${t.dtype}, expected ${e.dtype}`);
  if (t.shape.join() !== e.shape.join()) throw new Error(`${what}: shape [${t.shape.join(', ')}], expected [${e.shape.join(', ')}]`);
}

function compare(what: string, tol: Tolerance, actual: ArrayLike<number>, expected: ArrayLike<number>, shape: readonly number[], signedZero: boolean): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  const m = firstMismatch(actual, expected, tol, signedZero);
  if (m) throw new Error(`${what} ${describeMismatch(m, shape, tol)}`);
}

function expectedOutputs(c: Case): readonly TensorData[] {
  if (!c.outputs) throw new Error(`case ${c.id} has neither outputs nor an error`);
  return c.outputs;
}

function checkCount(outs: readonly Tensor[], expected: readonly TensorData[]): void {
  if (outs.length !== expected.length) throw new Error(`${outs.length} outputs, expected ${expected.length}`);
}

async function checkValues(c: Case, device: string): Promise<void> {
  const { operands } = buildInputs(c, device, false);
  const outs = callOp(c, operands, device);
  const expected = expectedOutputs(c);
  checkCount(outs, expected);
  for (const [i, e] of expected.entries()) {
    const o = outs[i]!;
    checkMeta(`output ${i}`, o, e);
    if (e.data === undefined) continue; // PyTorch leaves the values unspecified
    const got = await readTensor(o);
    compare(`output ${i}`, toleranceFor(c.op, e.dtype), got, decodeAll(e.data), e.shape, true);
  }
}

async function checkGrad(c: Case, device: string): Promise<void> {
  const g = c.grad!;
  const { leaves, operands } = buildInputs(c, device, true);
  const outs = callOp(c, operands, device);
  checkCount(outs, expectedOutputs(c));
  let loss: Tensor | undefined;
  for (const [i, w] of g.w.entries()) {
    if (w === null || w.data === undefined) continue;
    const term = outs[i]!.mul(makeTensor({ ...w, data: w.data }, device)).sum();
    loss = loss ? loss.add(term) : term;
  }
  if (!loss) throw new Error(`case ${c.id} records gradients but no weights`);
  if (!loss.requiresGrad) throw new Error('the output does not require grad, but PyTorch computed gradients through it');
  loss.backward();
  const tol = gradToleranceFor(c.op, [...dtypesOf(c)].filter(isFloat));
  for (const [k, e] of g.inputs.entries()) {
    const leaf = leaves[k];
    if (!leaf || !isFloat(leaf.dtype)) continue;
    const grad = leaf.grad;
    if (e === null || e.data === undefined) {
      // PyTorch gives no gradient: fusor may give none or zeros
      if (grad && (await readTensor(grad)).some((v) => v !== 0)) throw new Error(`input ${k}: a non-zero gradient where PyTorch gives none`);
      continue;
    }
    if (!grad) throw new Error(`input ${k}: no gradient, expected one of shape [${e.shape.join(', ')}]`);
    checkMeta(`grad of input ${k}`, grad, e);
    compare(`grad of input ${k}`, tol, await readTensor(grad), decodeAll(e.data), e.shape, false);
  }
}

async function checkInterpret(c: Case, device: string): Promise<void> {
  const { operands } = buildInputs(c, device, false);
  const outs = callOp(c, operands, device);
  // the graph as built, before reading replaces a tensor's history by its buffer
  const nodes = outs.map((o) => o.node);
  const leaves = await readLeaves(nodes);
  for (const [i, o] of outs.entries()) {
    const compiled = await readTensor(o);
    const reference = interpretNode(nodes[i]!, leaves);
    compare(`output ${i} (compiled vs interpreted)`, graphToleranceFor(c.op, nodes[i]!), compiled, reference, o.shape, true);
  }
}

async function checkError(c: Case, device: string): Promise<void> {
  const { operands } = buildInputs(c, device, false);
  let outs: Tensor[];
  try {
    outs = callOp(c, operands, device);
    // a backend with asynchronous reads raises an index error at the next read, not at the call
    for (const o of outs) await o.data();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (!msg.includes(c.error!)) throw new Error(`error message ${JSON.stringify(msg)} does not contain PyTorch's ${JSON.stringify(c.error)}`);
    return;
  }
  throw new Error(`no error (got ${outs.length} output(s) of shape [${outs[0]?.shape.join(', ')}]); PyTorch raises ${JSON.stringify(c.error)}`);
}

// ---------------------------------------------------------------------------------------------
// diagnosis of a failing case (for runs on hardware that cannot be debugged interactively)

/**
 * A report on one case, for a device where it failed: the kernels its fused graph compiles (with
 * their rendered source), then every node of the graph realized on its own on the device and read
 * back against the reference interpreter, naming the first node whose value differs. A fused
 * result that is wrong while every node alone is right points at fusion or at the runtime
 * (buffers, launches); a node wrong alone points at the kernel that computes it.
 */
export async function diagnoseCase(c: Case, device: string): Promise<string> {
  await torch.init(device);
  const backend = getBackend(device);
  const lines: string[] = [`diagnosis of ${c.id} on ${device}`];
  const kernels: string[] = [];
  const stop = observeKernels((k, b) => {
    const src = b.render(k).source;
    // text: the kernel itself, after any prelude; a binary: its size
    kernels.push(typeof src === 'string' ? src.slice(Math.max(0, src.lastIndexOf(`// ${k.name}:`))) : `${k.name}: ${src.length} bytes`);
  });
  const fmt = (v: ArrayLike<number>): string => `[${Array.from(v).slice(0, 16).join(', ')}${v.length > 16 ? ', …' : ''}]`;
  try {
    const { operands } = buildInputs(c, device, false);
    const outs = callOp(c, operands, device);
    const roots = outs.map((o) => o.node);
    const leaves = await readLeaves(roots);
    for (const [n, v] of leaves) lines.push(`leaf ${n.dtype}[${n.shape.join(', ')}]: ${fmt(v)}`);
    for (const [i, o] of outs.entries()) {
      const fused = await readTensor(o);
      lines.push(`output ${i} fused: ${fmt(fused)}; interpreted: ${fmt(interpretNode(roots[i]!, leaves))}`);
    }
    lines.push(`kernels of the fused graph (${kernels.length}):`, ...kernels);
    // the same graph rebuilt, every node realized alone, first to last
    const again = callOp(c, buildInputs(c, device, false).operands, device).map((o) => o.node);
    const leaves2 = await readLeaves(again);
    let bad = 0;
    let checked = 0;
    for (const n of toposort(again)) {
      if (n.op === 'BUFFER' || n.size === 0) continue;
      checked++;
      realize([n]);
      const b = getBuffer(n);
      if (!b) continue;
      await backend.synchronize();
      const got = hostToNumbers(await b.backend.read(b.handle), n.dtype);
      const want = interpretNode(n, leaves2);
      const m = firstMismatch(got, want, { rtol: 1e-5, atol: 1e-6 }, false);
      if (m) {
        bad++;
        lines.push(`${bad === 1 ? 'first wrong node' : 'then'}: ${n.op}${n.arg === undefined ? '' : ` ${JSON.stringify(n.arg)}`} ${n.dtype}[${n.shape.join(', ')}] alone: got ${fmt(got)}, interpreted ${fmt(want)}`);
        if (bad >= 5) break;
      }
    }
    lines.push(bad ? `${bad} node(s) wrong when realized alone` : `each of ${checked} nodes is right when realized alone`);
  } catch (e) {
    lines.push(`diagnosis stopped: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    stop();
  }
  return lines.join('\n');
}
