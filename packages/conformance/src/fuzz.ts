/**
 * A differential fuzzer: random graphs mixing elementwise ops, reductions, movement ops and
 * matmuls, built through the public API, realized (scheduled, fused, compiled) on a device and
 * compared with the reference interpreter run on the same IR. Graph i of a run with seed s is
 * generated from seed s + i alone, so `fuzz(device, { seed: s + i, count: 1 })` replays it.
 */
import { getBackend, realizeAsync } from '@fusor/runtime';
import { printGraph, type DType } from '@fusor/ir';
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { interpretNode, readLeaves, readTensor } from './read.js';
import { describeMismatch, firstMismatch, graphToleranceFor } from './tolerance.js';

export interface FuzzOptions {
  /** Seed of the first graph (default 1). */
  readonly seed?: number;
  /** Number of graphs (default 100). */
  readonly count?: number;
  /** Most ops per graph (default 10). */
  readonly maxOps?: number;
  /**
   * Give some starting tensors one long dim of 128 to `long` elements, log-uniformly (default 0:
   * every dim is 1–5),
   * so reductions and products run long enough for a GPU backend's cooperative kernels (a block
   * of threads per output, loops split across blocks) and elementwise work spans many vectors.
   */
  readonly long?: number;
}

export interface FuzzFailure {
  /** Replays this graph alone: fuzz(device, { seed, count: 1 }). */
  readonly seed: number;
  /** The program, one public-API call per line. */
  readonly program: string;
  /** The IR of the output, as printGraph writes it. */
  readonly graph: string;
  readonly message: string;
}

export interface FuzzReport {
  readonly device: string;
  readonly graphs: number;
  readonly ops: number;
  readonly failures: FuzzFailure[];
}

/** mulberry32: a small seeded generator, so graphs replay exactly. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The largest tensor a graph may build (keeps a run fast). */
const MAX_NUMEL = 2048;

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

interface Var {
  readonly t: Tensor;
  readonly name: string;
}

/** One graph under construction: a pool of tensors, the program text, a random source. */
class Builder {
  /** A dtype from `options` that the device can hold (on cpu: any of them, so seeds replay identically). */
  pickDtype(options: readonly DType[]): DType {
    const supported = getBackend(this.device).capabilities.dtypes;
    return this.pick(options.filter((d) => supported.includes(d)));
  }

  readonly pool: Var[] = [];
  /** Tensors some later op read: the others are the graph's outputs. */
  readonly used = new Set<Var>();
  readonly lines: string[] = [];
  private next = 0;
  /** The largest tensor an op may build (keeps a run fast). */
  readonly maxNumel: number;
  constructor(
    readonly rand: () => number,
    readonly device: string,
    readonly long = 0,
  ) {
    this.maxNumel = long ? Math.max(MAX_NUMEL, 32 * long) : MAX_NUMEL;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  add(t: Tensor, code: string, ...inputs: Var[]): Var {
    for (const i of inputs) this.used.add(i);
    const v = { t, name: `t${this.next++}` };
    this.lines.push(`const ${v.name} = ${code};`);
    this.pool.push(v);
    return v;
  }

  /** A fresh leaf of `shape` with small values (integers for integer dtypes). */
  leaf(shape: readonly number[], dtype: DType): Var {
    const n = numel(shape);
    const values = Array.from({ length: n }, () =>
      dtype === 'float32' || dtype === 'float64' ? Math.round((this.rand() * 4 - 2) * 1000) / 1000 : this.int(-5, 5),
    );
    const t = torch.tensor(values, { dtype, device: this.device }).reshape(shape);
    return this.add(t, `torch.tensor([${values.join(', ')}], { dtype: '${dtype}' }).reshape([${shape.join(', ')}])`);
  }

  randomShape(): number[] {
    const rank = this.int(0, 4);
    if (this.long && rank > 0 && this.chance(0.6)) {
      // one long dim; the others small, so the tensor stays within maxNumel
      const at = this.int(0, rank - 1);
      // log-uniform over 128 … long: as many dims near 128 as near `long`
      const n = Math.round(128 * (this.long / 128) ** this.rand());
      return Array.from({ length: rank }, (_, i) => (i === at ? n : this.int(1, 3)));
    }
    return Array.from({ length: rank }, () => this.int(1, 5));
  }

  /** A shape that broadcasts against `shape`: some dims 1, maybe fewer leading dims. */
  broadcastable(shape: readonly number[]): number[] {
    const drop = shape.length && this.chance(0.3) ? this.int(1, shape.length) : 0;
    return shape.slice(drop).map((d) => (this.chance(0.35) ? 1 : d));
  }
}

type Gen = (b: Builder, x: Var) => Var | undefined;

const isFloatT = (t: Tensor): boolean => t.dtype === 'float32' || t.dtype === 'float64';
const dimOf = (b: Builder, t: Tensor): number => b.int(-t.ndim, Math.max(t.ndim - 1, 0));

/** Unary ops that keep values in a tame range (so float32 rounding cannot be amplified into noise). */
const UNARY: readonly [string, (t: Tensor) => Tensor, boolean][] = [
  ['t.tanh()', (t) => t.tanh(), true],
  ['t.sigmoid()', (t) => t.sigmoid(), true],
  ['t.sin()', (t) => t.sin(), true],
  ['t.cos()', (t) => t.cos(), true],
  ['t.tanh().exp()', (t) => t.tanh().exp(), true],
  ['t.abs().add(1).log()', (t) => t.abs().add(1).log(), true],
  ['t.abs().sqrt()', (t) => t.abs().sqrt(), true],
  ['t.abs().add(0.5).reciprocal()', (t) => t.abs().add(0.5).reciprocal(), true],
  ['t.abs().add(0.5).rsqrt()', (t) => t.abs().add(0.5).rsqrt(), true],
  ['t.neg()', (t) => t.neg(), false],
  ['t.abs()', (t) => t.abs(), false],
  ['t.relu()', (t) => t.relu(), false],
  ['t.floor()', (t) => t.floor(), true],
  ['t.round()', (t) => t.round(), true],
  ['t.sign()', (t) => t.sign(), false],
  ['t.clamp(-1, 1)', (t) => t.clamp(-1, 1), false],
  ['t.square().clamp(null, 4)', (t) => t.square().clamp(null, 4), false],
];

const BINARY: readonly [string, (a: Tensor, b: Tensor) => Tensor, boolean][] = [
  ['a.add(b)', (a, b) => a.add(b), false],
  ['a.sub(b)', (a, b) => a.sub(b), false],
  ['a.mul(b).clamp(-4, 4)', (a, b) => a.mul(b).clamp(-4, 4), false],
  ['a.div(b.abs().add(0.5))', (a, b) => a.div(b.abs().add(0.5)), true],
  ['torch.maximum(a, b)', (a, b) => torch.maximum(a, b), false],
  ['torch.minimum(a, b)', (a, b) => torch.minimum(a, b), false],
  ['torch.where(a.gt(b), a, b.neg())', (a, b) => torch.where(a.gt(b), a, b.neg()), false],
  ['a.remainder(b.abs().add(1))', (a, b) => a.remainder(b.abs().add(1)), false],
  ['a.abs().add(0.1).pow(b.clamp(-2, 2))', (a, b) => a.abs().add(0.1).pow(b.clamp(-2, 2)), true],
  ["a.div(b.abs().add(1), { roundingMode: 'floor' })", (a, b) => a.div(b.abs().add(1), { roundingMode: 'floor' }), false],
  ["a.div(b.abs().add(1), { roundingMode: 'trunc' })", (a, b) => a.div(b.abs().add(1), { roundingMode: 'trunc' }), false],
  ['a.fmod(b.abs().add(1))', (a, b) => a.fmod(b.abs().add(1)), false],
  ['a.eq(b).logicalOr(a.lt(b)).to(a.dtype)', (a, b) => a.eq(b).logicalOr(a.lt(b)).to(a.dtype), false],
];

/** Bitwise ops, for integer graphs only. */
const BITWISE: readonly [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['a.bitwiseAnd(b)', (a, b) => a.bitwiseAnd(b)],
  ['a.bitwiseOr(b)', (a, b) => a.bitwiseOr(b)],
  ['a.bitwiseXor(b)', (a, b) => a.bitwiseXor(b)],
];

const GENS: readonly [number, Gen][] = [
  // elementwise
  [
    4,
    (b, x) => {
      const ops = UNARY.filter(([, , floatOnly]) => !floatOnly || isFloatT(x.t));
      const [code, f] = b.pick(ops);
      return b.add(f(x.t), code.replace(/^t\./, `${x.name}.`), x);
    },
  ],
  [
    4,
    (b, x) => {
      const ops = [...BINARY.filter(([, , floatOnly]) => !floatOnly || isFloatT(x.t)), ...(isFloatT(x.t) ? [] : BITWISE.map(([c, f]) => [c, f, false] as const))];
      const [code, f] = b.pick(ops);
      const partners = b.pool.filter((p) => p !== x && p.t.dtype === x.t.dtype && broadcasts(p.t.shape, x.t.shape));
      const y = partners.length && b.chance(0.6) ? b.pick(partners) : b.leaf(b.broadcastable(x.t.shape), x.t.dtype);
      const [l, r] = b.chance(0.5) ? [x, y] : [y, x];
      const out = f(l.t, r.t);
      if (numel(out.shape) > b.maxNumel) return undefined;
      return b.add(out, code.replace(/\ba\b/g, l.name).replace(/\bb\b/g, r.name), l, r);
    },
  ],
  // reductions
  [
    3,
    (b, x) => {
      if (x.t.ndim === 0) return b.add(x.t.sum(), `${x.name}.sum()`, x);
      const d = dimOf(b, x.t);
      const k = b.chance(0.5);
      const floatOps: [string, () => Tensor][] = [
        [`${x.name}.mean(${d}, ${k})`, () => x.t.mean(d, k)],
        [`${x.name}.softmax(${d})`, () => x.t.softmax(d)],
        [`${x.name}.logSoftmax(${d})`, () => x.t.logSoftmax(d)],
        [`${x.name}.logsumexp(${d}, ${k})`, () => x.t.logsumexp(d, k)],
        [`${x.name}.var(${d}, true, ${k})`, () => x.t.var(d, true, k)],
        [`${x.name}.clamp(-1.5, 1.5).prod(${d}, ${k})`, () => x.t.clamp(-1.5, 1.5).prod(d, k)],
      ];
      const ops: [string, () => Tensor][] = [
        [`${x.name}.sum(${d}, ${k})`, () => x.t.sum(d, k)],
        [`${x.name}.amax(${d}, ${k})`, () => x.t.amax(d, k)],
        [`${x.name}.amin(${d}, ${k})`, () => x.t.amin(d, k)],
        [`${x.name}.max(${d}, ${k}).values`, () => x.t.max(d, k).values],
        [`${x.name}.argmax(${d}, ${k}).to('${x.t.dtype}')`, () => x.t.argmax(d, k).to(x.t.dtype)],
        [`${x.name}.min(${d}, ${k}).indices.to('${x.t.dtype}')`, () => x.t.min(d, k).indices.to(x.t.dtype)],
        [`${x.name}.sum()`, () => x.t.sum()],
        ...(isFloatT(x.t) ? floatOps : []),
      ];
      const [code, f] = b.pick(ops);
      return b.add(f(), code, x);
    },
  ],
  // movement
  [
    5,
    (b, x) => {
      const t = x.t;
      const n = x.name;
      const nd = t.ndim;
      const ops: [string, () => Tensor][] = [];
      if (nd >= 2) {
        const perm = b.shuffle([...t.shape.keys()]);
        ops.push([`${n}.permute([${perm.join(', ')}])`, () => t.permute(perm)]);
        ops.push([`${n}.mT`, () => t.mT]);
        ops.push([`${n}.flatten(0, 1)`, () => t.flatten(0, 1)]);
      }
      if (nd >= 1) {
        const d = b.int(0, nd - 1);
        const size = t.shape[d]!;
        const start = b.int(0, size - 1);
        const len = b.int(1, size - start);
        ops.push([`${n}.narrow(${d}, ${start}, ${len})`, () => t.narrow(d, start, len)]);
        ops.push([`${n}.flip([${d}])`, () => t.flip([d])]);
        const step = b.int(2, 3);
        const spec = [...new Array<string>(d).fill(':'), `${start}::${step}`];
        ops.push([`${n}.index(${spec.map((s) => `'${s}'`).join(', ')})`, () => t.index(...spec)]);
        ops.push([`${n}.reshape([-1])`, () => t.reshape([-1])]);
        ops.push([`torch.cat([${n}, ${n}.flip([${d}])], ${d})`, () => torch.cat([t, t.flip([d])], d)]);
        ops.push([`${n}.repeat([${[...new Array<number>(nd - 1).fill(1), 2].join(', ')}])`, () => t.repeat([...new Array<number>(nd - 1).fill(1), 2])]);
        if (t.shape.includes(1)) ops.push([`${n}.squeeze()`, () => t.squeeze()]);
      }
      if (nd >= 1) {
        // gathers: a random index tensor (its values checked on the host, as PyTorch does)
        const d = b.int(0, nd - 1);
        const size = t.shape[d]!;
        const k = b.int(1, 4);
        const idx = Array.from({ length: k }, () => b.int(0, size - 1));
        const it = torch.tensor(idx, { dtype: 'int64', device: b.device });
        ops.push([`${n}.indexSelect(${d}, torch.tensor([${idx.join(', ')}]))`, () => t.indexSelect(d, it)]);
        const gshape = t.shape.map((s, i) => (i === d ? k : b.int(1, s)));
        const gidx = Array.from({ length: numel(gshape) }, () => b.int(0, size - 1));
        const gt = torch.tensor(gidx, { dtype: 'int64', device: b.device }).reshape(gshape);
        ops.push([`${n}.gather(${d}, torch.tensor([${gidx.join(', ')}]).reshape([${gshape.join(', ')}]))`, () => t.gather(d, gt)]);
        // advanced indexing: two index tensors paired element-wise (negative entries count from the end)
        if (nd >= 2) {
          const s0 = t.shape[0]!;
          const s1 = t.shape[1]!;
          const i0 = Array.from({ length: k }, () => b.int(-s0, s0 - 1));
          const i1 = Array.from({ length: k }, () => b.int(-s1, s1 - 1));
          const a0 = torch.tensor(i0, { dtype: 'int64', device: b.device });
          const a1 = torch.tensor(i1, { dtype: 'int64', device: b.device });
          ops.push([`${n}.index(torch.tensor([${i0.join(', ')}]), torch.tensor([${i1.join(', ')}]))`, () => t.index(a0, a1)]);
        }
        // scatter-add of the gathered rows back into the input (repeated positions sum in order)
        const gcode = `torch.tensor([${gidx.join(', ')}]).reshape([${gshape.join(', ')}])`;
        ops.push([`${n}.scatterAdd(${d}, ${gcode}, ${n}.gather(${d}, ${gcode}))`, () => t.scatterAdd(d, gt, t.gather(d, gt))]);
        ops.push([`${n}.cumsum(${d})`, () => t.cumsum(d)]);
      }
      const u = b.int(0, nd);
      const e = b.int(2, 3);
      ops.push([`${n}.unsqueeze(${u}).expand([${[...t.shape.slice(0, u), e, ...t.shape.slice(u)].join(', ')}])`, () => t.unsqueeze(u).expand([...t.shape.slice(0, u), e, ...t.shape.slice(u)])]);
      ops.push([`torch.stack([${n}, ${n}.neg()], ${u})`, () => torch.stack([t, t.neg()], u)]);
      const [code, f] = b.pick(ops);
      const out = f();
      if (numel(out.shape) > b.maxNumel) return undefined;
      return b.add(out, code, x);
    },
  ],
  // contractions
  [
    2,
    (b, x) => {
      const t = x.t;
      if (t.ndim === 0) return undefined;
      const k = t.shape[t.ndim - 1]!;
      const m = b.int(1, 4);
      const shape = t.ndim === 1 ? [k] : b.chance(0.5) ? [k, m] : [...b.broadcastable(t.shape.slice(0, -2)), k, m];
      const w = b.leaf(shape, t.dtype);
      const out = t.matmul(w.t);
      if (numel(out.shape) > b.maxNumel) return undefined;
      return b.add(out, `${x.name}.matmul(${w.name})`, x, w);
    },
  ],
  // dtype changes
  [
    1,
    (b, x) => {
      const to = b.pickDtype(['float32', 'float64', 'int32', 'int64']);
      if (to === x.t.dtype) return undefined;
      // float → int only for values that convert exactly (truncation of huge values is not the point)
      const src = isFloatT(x.t) && !to.startsWith('float') ? x.t.clamp(-100, 100) : x.t;
      const pre = src === x.t ? x.name : `${x.name}.clamp(-100, 100)`;
      return b.add(src.to(to), `${pre}.to('${to}')`, x);
    },
  ],
];

function broadcasts(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 1; i <= Math.min(a.length, b.length); i++) {
    const x = a[a.length - i]!;
    const y = b[b.length - i]!;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  // keep the result no larger than the bigger operand
  return a.length <= b.length && a.every((d, i) => d === 1 || d === b[b.length - a.length + i]);
}

/** Grows a random graph in `b`; its outputs are the tensors no later op read. */
function grow(b: Builder, maxOps: number): { outs: Var[]; ops: number } {
  const dtype = b.pickDtype(['float32', 'float32', 'float32', 'float64', 'int32', 'int64']);
  b.leaf(b.randomShape(), dtype);
  if (b.chance(0.5)) b.leaf(b.randomShape(), dtype);
  const total = b.int(2, maxOps);
  const weights = GENS.reduce((s, [w]) => s + w, 0);
  let ops = 0;
  for (let tries = 0; ops < total && tries < total * 4; tries++) {
    // mostly extend the newest tensor, sometimes branch from an older one (shared producers)
    const x = b.chance(0.7) ? b.pool[b.pool.length - 1]! : b.pick(b.pool);
    let r = b.rand() * weights;
    const gen = GENS.find(([w]) => (r -= w) < 0)![1];
    if (gen(b, x)) ops++;
  }
  return { outs: b.pool.filter((v) => !b.used.has(v)), ops };
}

/** Builds, realizes and interprets `count` random graphs; resolves to the ones that disagree. */
export async function fuzz(device: string, opts: FuzzOptions = {}): Promise<FuzzReport> {
  await torch.init(device);
  const first = opts.seed ?? 1;
  const count = opts.count ?? 100;
  const failures: FuzzFailure[] = [];
  let totalOps = 0;
  for (let seed = first; seed < first + count; seed++) {
    const b = new Builder(generator(seed), device, opts.long ?? 0);
    let graph = '';
    try {
      const { outs, ops } = grow(b, opts.maxOps ?? 10);
      totalOps += ops;
      // every output (tensor no later op read) realized together: shared producers, several roots
      const nodes = outs.map((o) => o.t.node);
      graph = printGraph(nodes);
      const leaves = await readLeaves(nodes);
      await realizeAsync(nodes);
      for (const [i, o] of outs.entries()) {
        const compiled = await readTensor(o.t);
        const reference = interpretNode(nodes[i]!, leaves);
        const tol = graphToleranceFor('', nodes[i]!);
        const m = firstMismatch(compiled, reference, tol, false);
        if (m) {
          failures.push({ seed, program: b.lines.join('\n'), graph, message: `${o.name} (compiled vs interpreted) ${describeMismatch(m, o.t.shape, tol)}` });
          break;
        }
      }
    } catch (e) {
      failures.push({ seed, program: b.lines.join('\n'), graph, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
  }
  return { device, graphs: count, ops: totalOps, failures };
}
