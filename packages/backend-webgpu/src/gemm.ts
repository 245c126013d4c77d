/**
 * The webgpu backend's GEMM routine: a tiled matrix product in WGSL, for the products the
 * compiler recognises (contraction.ts) instead of the generated one-dot-product-per-invocation
 * reduction kernel.
 *
 * A workgroup of TX × TY invocations computes a BM × BN tile of C, each invocation a 4 × 4
 * register block (rows ty·4…ty·4+3, columns tx·4…tx·4+3, so its reads of the shared tiles are
 * one vec4 of A and one of B per step of k). A and B move through workgroup memory in steps of
 * BK along k, both stored k-major ([k][m], [k][n]) whatever their orientation in memory, so the
 * inner loop is 4 vec4 FMAs per k with no bounds checks: the tile loads zero what lies past an
 * edge (a select, not a branch) and clamp the index they read.
 *
 * Variants fix, at render time, which dim of each operand is contiguous (k, or m for A / n for
 * B) and whether each of A, B, C is read or written as vec4 (stride 1 along that dim, extent,
 * offsets and strides multiples of 4); the sizes, offsets and strides are uniforms. Two batch
 * dims ride the grid's z (the rest are launches). Tile sizes come from the device's limits.
 *
 * float16 products (where the adapter has `shader-f16`) read and write f16 (vec4<f16>, 8 bytes per
 * load) and accumulate in f32 in workgroup memory and registers, as cuBLAS does by default.
 *
 * Epilogues (a bias, an activation, a scale: the elementwise chain that consumed the product,
 * compiler epilogue.ts) are applied at the store: the chain, rendered by the WGSL renderer as
 * `fusor_epilogue(gid, acc)`, turns each sum into the value stored, reading its extra operands
 * from bindings 3… (the uniform follows them). C is then written once, and no second kernel
 * reads it back.
 */
import { epilogueHash, epilogueOperands, forEachBatch, type GemmEpilogue, type GemmRoutine, type GemmShape } from '@fusor/compiler';
import { renderEpilogue } from './render-wgsl.js';

/** A workgroup's shape: TX × TY invocations of TM × TN each, a BM × BN tile of C, steps of BK along k. */
export interface GemmTiling {
  readonly tx: number;
  readonly ty: number;
  readonly tm: number;
  readonly tn: number;
  readonly bm: number;
  readonly bn: number;
  readonly bk: number;
}

export interface GemmVariant {
  /** Element type of A, B and C in memory (the sums are f32 either way). */
  readonly dtype: 'float32' | 'float16';
  /** A's contiguous dim: k (row-major A) or m (A stored transposed). */
  readonly aMajor: 'k' | 'm';
  /** B's contiguous dim: n (row-major B) or k (B stored transposed). */
  readonly bMajor: 'k' | 'n';
  readonly aVector: boolean;
  readonly bVector: boolean;
  readonly cVector: boolean;
  readonly tiling: GemmTiling;
  /** The elementwise chain applied at the store, if one was fused. */
  readonly epilogue?: GemmEpilogue;
}

/** The device limits a tiling must fit. */
export type GemmLimits = Pick<GPUSupportedLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupSizeY' | 'maxComputeWorkgroupStorageSize'>;

type Prefs = readonly [tx: number, ty: number, tm: number, tn: number, bk: number];

/**
 * Tilings in order of preference. Measured on SwiftShader (2 cores, matmul 256–1024): 8 × 8
 * invocations of 8 × 8 (a 64 × 64 tile) ran 2.0–2.2 GFLOP/s at 1024, against 1.0 for 16 × 16
 * invocations of 4 × 4 and 1.5 for 16 × 8 of 4 × 8: fewer invocations per barrier and more
 * multiply-adds per workgroup-memory read. BK 32 halves the barriers where 16 KiB of workgroup
 * memory is there (WebGPU's default limit).
 */
const PREFERENCES: readonly Prefs[] = [
  [8, 8, 8, 8, 32],
  [8, 8, 8, 8, 16],
  [8, 8, 4, 4, 16],
];

/** The first tiling of a preference list that the device's limits allow. */
export function chooseTiling(limits: GemmLimits): GemmTiling {
  for (const [tx, ty, tm, tn, bk] of PREFERENCES) {
    const bm = ty * tm;
    const bn = tx * tn;
    // every invocation loads whole vec4s of both blocks
    const whole = ((bm * bk) / 4) % (tx * ty) === 0 && ((bn * bk) / 4) % (tx * ty) === 0;
    if (whole && tx * ty <= limits.maxComputeInvocationsPerWorkgroup && tx <= limits.maxComputeWorkgroupSizeX && ty <= limits.maxComputeWorkgroupSizeY && (bm + bn) * bk * 4 <= limits.maxComputeWorkgroupStorageSize) {
      return { tx, ty, tm, tn, bm, bn, bk };
    }
  }
  throw new Error('internal: this webgpu device cannot hold an 8 × 8 workgroup with 4 KiB of workgroup memory, which WebGPU guarantees');
}

/** The uniform's fields, in order (all i32). */
const PARAMS = ['M', 'N', 'K', 'oa', 'am', 'ak', 'ob', 'bk', 'bn', 'oc', 'cm', 'cn', 'z1', 'za0', 'za1', 'zb0', 'zb1', 'zc0', 'zc1'] as const;

export function gemmName(v: GemmVariant): string {
  const t = v.tiling;
  const e = v.epilogue ? `_e${epilogueHash(v.epilogue.key)}` : '';
  return `gemm_${v.dtype === 'float16' ? 'f16' : 'f32'}_${v.aMajor}${v.bMajor}_${v.aVector ? 'v' : 's'}${v.bVector ? 'v' : 's'}${v.cVector ? 'v' : 's'}_${t.bm}x${t.bn}x${t.bk}_${t.tx}x${t.ty}${e}`;
}



/**
 * The statements that load one operand's BK × (BM or BN) block into workgroup memory `S`
 * (k-major: S[k · tile + r]). `x` is 'a' or 'b'; `r0` the block's origin along m (or n).
 */
function loader(x: 'a' | 'b', kMajor: boolean, vector: boolean, tile: number, v: GemmVariant): string {
  const t = v.tiling;
  const threads = t.tx * t.ty;
  const X = x.toUpperCase();
  const [r0, ext, sR, sK] = x === 'a' ? ['m0', 'p.M', 'p.am', 'p.ak'] : ['n0', 'p.N', 'p.bn', 'p.bk'];
  const w = vector ? 4 : 1;
  const slots = (t.bk * tile) / (threads * w);
  // along the contiguous dim: `ce` items (vec4s or scalars) per line of the block
  const ce = (kMajor ? t.bk : tile) / w;
  // a loop, not unrolled: SwiftShader's compile time grows steeply with the shader's length
  const [kk, rr] = kMajor ? [`${x}c`, `${x}o`] : [`${x}o`, `${x}c`];
  const idx = `select(0, o${x} + (${r0} + ${rr}) * ${sR} + (k0 + ${kk}) * ${sK}, ${x}ok)`;
  const lines = [
    `    for (var ${x}i = 0; ${x}i < ${slots}; ${x}i++) {`,
    `      let ${x}q = t + ${x}i * ${threads};`,
    // c: position along the contiguous dim (element), o: along the other
    `      let ${x}c = (${x}q % ${ce}) * ${w};`,
    `      let ${x}o = ${x}q / ${ce};`,
    `      let ${x}ok = ${r0} + ${rr} < ${ext} && k0 + ${kk} < p.K;`,
  ];
  // f16 operands are widened as they enter workgroup memory
  const widen = (e: string, vec: boolean): string => (v.dtype === 'float16' ? `${vec ? 'vec4<f32>' : 'f32'}(${e})` : e);
  if (vector) {
    lines.push(`      let ${x}v = select(vec4<f32>(0.0), ${widen(`${X}[${idx} / 4]`, true)}, ${x}ok);`);
    for (let e = 0; e < 4; e++) {
      // element e lies e further along the contiguous dim
      const [ke, re] = kMajor ? [`${kk} + ${e}`, rr] : [kk, `${rr} + ${e}`];
      lines.push(`      ${X}s[(${ke}) * ${tile} + ${re}] = ${x}v[${e}];`);
    }
  } else {
    lines.push(`      ${X}s[${kk} * ${tile} + ${rr}] = select(0.0, ${widen(`${X}[${idx}]`, false)}, ${x}ok);`);
  }
  lines.push('    }');
  return lines.join('\n');
}

/** The WGSL of a variant (entry point `main`). */
export function renderGemm(v: GemmVariant): string {
  const t = v.tiling;
  const f16 = v.dtype === 'float16';
  const scalar = f16 ? 'f16' : 'f32';
  const elem = (vec: boolean): string => (vec ? `vec4<${scalar}>` : scalar);
  // C narrowed back to f16 at the store
  const narrow = (e: string, vec: boolean): string => (f16 ? `${elem(vec)}(${e})` : e);
  // one element's stored value: the sum, through the epilogue where there is one (`g`: its offset in C)
  const value = (g: string, e: string): string => (v.epilogue ? `fusor_epilogue(${g}, ${narrow(e, false)})` : narrow(e, false));
  const nv = t.tn / 4; // vec4s of C per row of the register block
  const store: string[] = [];
  for (let i = 0; i < t.tm; i++) {
    store.push(`  let row${i} = m0 + ty * ${t.tm} + ${i};`);
    for (let q = 0; q < nv; q++) {
      const col = `col + ${q * 4}`;
      const a = `acc[${i * nv + q}]`;
      if (v.cVector && v.epilogue) {
        const g = `oc + row${i} * p.cm + ${col}`;
        const vals = [0, 1, 2, 3].map((j) => value(`${g} + ${j}`, `${a}[${j}]`));
        store.push(`  if (row${i} < p.M && ${col} < p.N) { C[(${g}) / 4] = ${elem(true)}(${vals.join(', ')}); }`);
      } else if (v.cVector) {
        store.push(`  if (row${i} < p.M && ${col} < p.N) { C[(oc + row${i} * p.cm + ${col}) / 4] = ${narrow(a, true)}; }`);
      } else {
        for (let j = 0; j < 4; j++) {
          const g = `oc + row${i} * p.cm + (${col} + ${j}) * p.cn`;
          store.push(`  if (row${i} < p.M && ${col} + ${j} < p.N) { C[${g}] = ${value(g, `${a}[${j}]`)}; }`);
        }
      }
    }
  }
  const inner: string[] = [];
  inner.push(`      let ai = k * ${t.bm} + ty * ${t.tm};`);
  inner.push(`      let bi = k * ${t.bn} + tx * ${t.tn};`);
  for (let q = 0; q < nv; q++) inner.push(`      let bv${q} = vec4<f32>(Bs[bi + ${q * 4}], Bs[bi + ${q * 4 + 1}], Bs[bi + ${q * 4 + 2}], Bs[bi + ${q * 4 + 3}]);`);
  for (let i = 0; i < t.tm; i++) {
    inner.push(`      let av${i} = vec4<f32>(As[ai + ${i}]);`);
    for (let q = 0; q < nv; q++) inner.push(`      acc[${i * nv + q}] = fma(av${i}, bv${q}, acc[${i * nv + q}]);`);
  }
  const extra = epilogueOperands(v.epilogue);
  // the epilogue's operands take bindings 3…, the uniform the one after them
  const epi = v.epilogue && renderEpilogue(v.epilogue.kernel, { workgroupSize: t.tx * t.ty, f16 }, 3);
  return `// ${gemmName(v)}: C[M×N] = A[M×K] · B[K×N], ${t.bm}×${t.bn} tiles in steps of ${t.bk} along k, ${t.tx}×${t.ty} invocations of ${t.tm}×${t.tn}${f16 ? ', f16 in memory, f32 sums' : ''}${epi ? ', epilogue at the store' : ''}
${f16 ? 'enable f16;\n' : ''}struct Params { ${PARAMS.map((f) => `${f}: i32,`).join(' ')} }
@group(0) @binding(0) var<storage, read_write> C: array<${elem(v.cVector)}>;
@group(0) @binding(1) var<storage, read> A: array<${elem(v.aVector)}>;
@group(0) @binding(2) var<storage, read> B: array<${elem(v.bVector)}>;
@group(0) @binding(${3 + extra}) var<uniform> p: Params;
${epi ? `${epi.declarations}\n${epi.fn}\n` : ''}var<workgroup> As: array<f32, ${t.bk * t.bm}>;
var<workgroup> Bs: array<f32, ${t.bk * t.bn}>;

@compute @workgroup_size(${t.tx}, ${t.ty})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = i32(wid.z);
  let i0 = z / p.z1;
  let i1 = z % p.z1;
  let oa = p.oa + i0 * p.za0 + i1 * p.za1;
  let ob = p.ob + i0 * p.zb0 + i1 * p.zb1;
  let oc = p.oc + i0 * p.zc0 + i1 * p.zc1;
  let m0 = i32(wid.y) * ${t.bm};
  let n0 = i32(wid.x) * ${t.bn};
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  let t = ty * ${t.tx} + tx;
  var acc: array<vec4<f32>, ${(t.tm * t.tn) / 4}>;
  for (var k0 = 0; k0 < p.K; k0 += ${t.bk}) {
${loader('a', v.aMajor === 'k', v.aVector, t.bm, v)}
${loader('b', v.bMajor === 'k', v.bVector, t.bn, v)}
    workgroupBarrier();
    for (var k = 0; k < ${t.bk}; k++) {
${inner.join('\n')}
    }
    workgroupBarrier();
  }
  let col = n0 + tx * ${t.tn};
${store.join('\n')}
}
`;
}

/** What a product needs from the device: pipelines per variant, and launches. */
export interface GemmDevice<B> {
  readonly limits: GPUSupportedLimits;
  /** Whether the device has `shader-f16` (float16 products are taken only then). */
  readonly f16: boolean;
  /**
   * Pipeline of the WGSL (cached by the caller per name), laid out for C, A, B, `extra` epilogue
   * operands and the uniform, at bindings 0….
   */
  pipeline(name: string, code: string, extra: number): GPUComputePipeline;
  /** Records a dispatch of `pipeline` over [c, a, b, …epilogue operands] and the uniform words. */
  dispatch(name: string, pipeline: GPUComputePipeline, buffers: readonly B[], params: readonly number[], groups: readonly [number, number, number]): void;
}

export interface GemmPlan {
  readonly variant: GemmVariant;
  readonly groups: readonly [number, number, number];
  /** Uniform words of each launch (one per index of the batch dims beyond the grid's two). */
  readonly params: readonly (readonly number[])[];
}

/**
 * Whether one operand is contiguous along k, and whether it can be read as vec4s: stride 1 along
 * its contiguous dim, that dim's extent, the other stride, the offset and batch strides multiples
 * of 4. Strides of dims of size 1 do not count.
 */
function orient(outer: number, sOuter: number, k: number, sK: number, offset: number, batch: readonly number[]): { kMajor: boolean; vector: boolean } {
  const eOuter = outer > 1 ? Math.abs(sOuter) : Infinity;
  const eK = k > 1 ? Math.abs(sK) : Infinity;
  const kMajor = eK <= eOuter;
  const [extent, unit, other, otherExtent] = kMajor ? [k, sK, sOuter, outer] : [outer, sOuter, sK, k];
  const vector = (unit === 1 || extent === 1) && extent % 4 === 0 && (otherExtent === 1 || other % 4 === 0) && offset % 4 === 0 && batch.every((s) => s % 4 === 0);
  return { kMajor, vector };
}

/** The variant, grid and uniforms that compute `g` (null when there is nothing to write). */
export function planGemm(g: GemmShape, tiling: GemmTiling, maxPerDim: number): GemmPlan | null {
  const batch = g.batch.filter((d) => d.size !== 1);
  if (g.m === 0 || g.n === 0 || batch.some((d) => d.size === 0)) return null;
  const one = (x: number, s: number): number => (x > 1 ? s : 0);
  const ao = orient(g.m, one(g.m, g.a.rowStride), g.k, one(g.k, g.a.colStride), g.a.offset, batch.map((d) => d.a));
  const bo = orient(g.n, one(g.n, g.b.colStride), g.k, one(g.k, g.b.rowStride), g.b.offset, batch.map((d) => d.b));
  const cVector = (g.n === 1 ? false : g.c.colStride === 1) && g.n % 4 === 0 && (g.m === 1 || g.c.rowStride % 4 === 0) && g.c.offset % 4 === 0 && batch.every((d) => d.c % 4 === 0);
  const variant: GemmVariant = {
    dtype: g.dtype === 'float16' ? 'float16' : 'float32',
    aMajor: ao.kMajor ? 'k' : 'm',
    bMajor: bo.kMajor ? 'k' : 'n',
    aVector: ao.vector,
    bVector: bo.vector,
    cVector,
    tiling,
    ...(g.epilogue ? { epilogue: g.epilogue } : {}),
  };
  // the grid's z holds the innermost two batch dims, as far as the device's grid allows; the rest are launches
  let inner = batch.slice(-2);
  while (inner.length && inner.reduce((p, d) => p * d.size, 1) > maxPerDim) inner = inner.slice(1);
  const outer = batch.slice(0, batch.length - inner.length);
  while (inner.length < 2) inner.unshift({ size: 1, a: 0, b: 0, c: 0 });
  const [d0, d1] = inner as [GemmShape['batch'][number], GemmShape['batch'][number]];
  const groups: [number, number, number] = [Math.ceil(g.n / tiling.bn), Math.ceil(g.m / tiling.bm), d0.size * d1.size];
  const params: number[][] = [];
  forEachBatch(outer, { a: g.a.offset, b: g.b.offset, c: g.c.offset }, (oa, ob, oc) => {
    params.push([
      g.m, g.n, g.k,
      oa, one(g.m, g.a.rowStride), one(g.k, g.a.colStride),
      ob, one(g.k, g.b.rowStride), one(g.n, g.b.colStride),
      oc, one(g.m, g.c.rowStride), one(g.n, g.c.colStride),
      d1.size, d0.a, d1.a, d0.b, d1.b, d0.c, d1.c,
    ]);
  });
  return { variant, groups, params };
}

/** A tiling's launch, in words (explain()). */
export function describeGemm(p: GemmPlan): string {
  const t = p.variant.tiling;
  const v = p.variant;
  const io = `A ${v.aMajor}-major${v.aVector ? ' vec4' : ''}, B ${v.bMajor}-major${v.bVector ? ' vec4' : ''}, C${v.cVector ? ' vec4' : ''}`;
  const n = epilogueOperands(v.epilogue);
  const epi = v.epilogue ? `; epilogue fused at the store${n ? ` (${n} more buffer${n === 1 ? '' : 's'})` : ''}` : '';
  return `${gemmName(v)}: workgroup ${t.tx}×${t.ty}, tile ${t.bm}×${t.bn}×${t.bk}, ${t.tm}×${t.tn} per invocation, ${io}${epi}; grid ${p.groups.join('×')}${p.params.length > 1 ? ` × ${p.params.length} launches` : ''}`;
}

export interface WebGPUGemmOptions {
  /** Smallest product (m·n·k times the batch) worth the routine (default 64³): below it the generated kernel is as fast and fuses. */
  readonly minMultiplyAdds?: number;
  /** Smallest m and n (default 16): thinner products are matrix-vector-like, which the generated kernel reads as well. */
  readonly minDim?: number;
  /** Smallest k (default 16): shorter sums are elementwise-like products. */
  readonly minK?: number;
}

/** Most launches one product may take (batch dims beyond the grid's z). */
const MAX_LAUNCHES = 8;

const DEFAULTS: Required<WebGPUGemmOptions> = { minMultiplyAdds: 64 ** 3, minDim: 16, minK: 16 };

/** The routine over a device: float32 products (float16 too with `shader-f16`), every layout, any batch. */
export function webgpuGemm<B>(device: () => GemmDevice<B>, opts: WebGPUGemmOptions = {}): GemmRoutine<B & { dtype: GemmShape['dtype']; size: number }> & { plan(g: GemmShape): GemmPlan | null } {
  const o = { ...DEFAULTS, ...opts };
  const plan = (g: GemmShape): GemmPlan | null => {
    const d = device();
    return planGemm(g, chooseTiling(d.limits), d.limits.maxComputeWorkgroupsPerDimension);
  };
  return {
    plan,
    describe(g) {
      let p: GemmPlan | null;
      try {
        p = plan(g);
      } catch {
        return 'tiling chosen from the device limits at init (webgpu is not initialized)';
      }
      return p ? describeGemm(p) : 'nothing to compute (an empty product)';
    },
    supports(g) {
      if (g.dtype !== 'float32' && !(g.dtype === 'float16' && device().f16)) return false;
      if (g.m < o.minDim || g.n < o.minDim || g.k < o.minK) return false;
      const count = g.batch.reduce((p, d) => p * d.size, 1);
      if (g.m * g.n * g.k * count < o.minMultiplyAdds) return false;
      // batch dims beyond the grid's two are one launch each (a uniform and a bind group apiece):
      // past a few, the generated kernel's single launch wins (a convolution's contraction)
      const batch = g.batch.filter((d) => d.size !== 1);
      const launches = batch.slice(0, -2).reduce((p, d) => p * d.size, 1);
      if (launches > MAX_LAUNCHES) return false;
      // indices are i32 in the shader
      return Math.max(g.m, g.n, g.k) < 2 ** 31 / 4;
    },
    supportsEpilogue(g) {
      const k = g.epilogue.kernel;
      const store = k.body[k.body.length - 1];
      // C holds the epilogue's result in the product's dtype; each operand is one more storage binding
      if (store?.k !== 'store' || store.expr.dtype !== g.dtype) return false;
      let storage: number;
      try {
        storage = device().limits.maxStorageBuffersPerShaderStage;
      } catch {
        return false; // not initialized: nothing runs here yet
      }
      if (3 + epilogueOperands(g.epilogue) > storage) return false;
      // int64 needs the overflow flag's binding; f16 operands of an f32 product need `enable f16`
      return !k.key.includes('int64') && !k.key.includes('float64') && (g.dtype === 'float16' || !k.key.includes('float16'));
    },
    run(g, a, b, c, epilogue = []) {
      const p = plan(g);
      if (!p) return;
      const d = device();
      const name = gemmName(p.variant);
      const extra = epilogueOperands(g.epilogue);
      if (epilogue.length !== extra) throw new Error(`internal: the gemm epilogue reads ${extra} buffers, ${epilogue.length} were given`);
      const pipeline = d.pipeline(name, renderGemm(p.variant), extra);
      for (const words of p.params) d.dispatch(name, pipeline, [c, a, b, ...epilogue], words, p.groups);
    },
  };
}
