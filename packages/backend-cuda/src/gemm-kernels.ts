/**
 * The cuda backend's own GEMM routine: hand-written tiled kernels, rendered per variant and
 * compiled by NVRTC like every other kernel, for when no vendor BLAS is used.
 *
 * - float32 / float64: a shared-memory tiled SIMT GEMM. A block of 256 threads computes a 128×128
 *   tile of C; each thread holds an 8×8 register tile (rows ty·4+i and 64+ty·4+i, columns
 *   likewise, so its shared-memory reads are two 16-byte vectors per operand). A and B move in
 *   steps of 8 along k through double-buffered shared memory (one barrier per step), staged in
 *   registers so the next step's global loads fly while this one computes; both operands sit in
 *   shared memory k-major ([k][m], [k][n]) whatever their orientation in memory. Products are
 *   explicit fmaf/fma, so they fuse under NVRTC's --fmad=false; each output accumulates in its
 *   own dtype, in order of k (no split-k), to cuBLAS's accuracy.
 * - float16 / bfloat16: tensor cores through `mma.sync.aligned.m16n8k16` with float32
 *   accumulators, rounded to the output dtype once. A block of 8 warps computes a 128×256 tile
 *   (each warp 64×64: 4×8 mma tiles per k16 step); operands stream in k-steps of 32 through a
 *   two-stage cp.async pipeline (48 KiB, the static shared-memory limit) in their own orientation,
 *   16-byte chunks XOR-swizzled so that both the copies and `ldmatrix` (`.trans` for an
 *   m-major A or n-major B) are free of bank conflicts.
 *
 * Every kernel takes any strides (a transposed operand is just the other orientation), offsets,
 * up to three batch dims in its grid (more are looped on the host), and guards every edge. What a
 * variant fixes at render time is the dtype, which dim of each operand is contiguous ("major":
 * k, or m for A / n for B) and whether that operand can be read in aligned 16-byte vectors; the
 * rest is kernel parameters. Without `__CUDA_ARCH__` (the emulator) the PTX instructions fall
 * back to C++ that follows the PTX ISA's fragment layouts, exchanging a warp's registers between
 * two `__syncwarp()`s, so the emulator checks the fragment indexing.
 */
import { epilogueHash, epilogueOperands, forEachBatch, type GemmEpilogue, type GemmRoutine, type GemmShape } from '@fusor/compiler';
import { CUDA_PRELUDE, renderCudaEpilogue, STORAGE_TYPE } from './render-cuda.js';
import { kernelParam, type CudaRuntime, type DeviceBuffer, type Module } from './runtime.js';

export type GemmDtype = 'float32' | 'float64' | 'float16' | 'bfloat16';

/** One compiled kernel: everything else about a product is a launch parameter. */
export interface GemmVariant {
  readonly dtype: GemmDtype;
  /** A's contiguous dim: k (row-major A) or m (A stored transposed). */
  readonly aMajor: 'k' | 'm';
  /** B's contiguous dim: n (row-major B) or k (B stored transposed). */
  readonly bMajor: 'k' | 'n';
  /** Whether A / B tiles are read in aligned 16-byte vectors (else element by element). */
  readonly aVector: boolean;
  readonly bVector: boolean;
  /** The elementwise chain applied at the store, if one was fused (float32 and float64 only). */
  readonly epilogue?: GemmEpilogue;
}

interface Tiling {
  /** Threads per block. */
  readonly threads: number;
  /** cp.async stages (tensor-core kernels; the SIMT ones double-buffer through registers). */
  readonly stages: number;
  readonly bm: number;
  readonly bn: number;
  readonly bk: number;
  /** Elements per 16-byte vector. */
  readonly vector: number;
  /** Elements per vector store of C in the epilogue. */
  readonly cVector: number;
}

const SIMT = (vector: number): Tiling => ({ threads: 256, stages: 2, bm: 128, bn: 128, bk: 8, vector, cVector: vector });
/** Tensor-core tiling: one warp per 64 × 64 of the block tile; stages × (bm + bn) × bk halves must fit 48 KiB of static shared memory. */
const mma = (bm: number, bn: number, stages: number): Tiling => ({ threads: (bm / 64) * (bn / 64) * 32, stages, bm, bn, bk: 32, vector: 8, cVector: 2 });
/** 128 × 256 (8 warps, one block per SM at ~240 registers a thread): 85 flop per byte brought into shared memory, two stages. */
const MMA = mma(128, 256, 2);

const TILING: Readonly<Record<GemmDtype, Tiling>> = {
  float32: SIMT(4),
  float64: SIMT(2),
  float16: MMA,
  bfloat16: MMA,
};

const ITEMSIZE: Readonly<Record<GemmDtype, number>> = { float32: 4, float64: 8, float16: 2, bfloat16: 2 };
const SHORT: Readonly<Record<GemmDtype, string>> = { float32: 'f32', float64: 'f64', float16: 'f16', bfloat16: 'bf16' };

/** Tile rows per group in the block order: blocks that run together share A rows and B columns in L2. */
const GROUP_M = 8;

// ------------------------------------------------------------------------------ CUDA C

/** Helpers shared by every variant: the backend's prelude plus the GEMM's PTX wrappers and their host fallbacks. */
export const GEMM_PRELUDE = `${CUDA_PRELUDE}
// ---------------------------------------------------------------- gemm helpers
struct alignas(16) fu_f32x4 { float x, y, z, w; };
struct alignas(16) fu_f64x2 { double x, y; };

#ifdef __CUDA_ARCH__
FU_D unsigned fu_smem(const void *p) {
  unsigned s;
  asm("{ .reg .u64 p; cvta.to.shared.u64 p, %1; cvt.u32.u64 %0, p; }" : "=r"(s) : "l"(p));
  return s;
}
#else
// The emulator runs a warp's lanes as fibers: warp-wide instructions exchange their operands here,
// between two __syncwarp()s, and every lane computes its part as the PTX ISA lays it out.
static unsigned fu_mma_lane[32][32][6];
static const unsigned short *fu_ldsm_lane[32][32];

/** ldmatrix .m8n8.x4.b16: lanes 8q..8q+7 give the rows of matrix q; lane l gets row l/4, columns 2(l%4), 2(l%4)+1 (transposed: the reverse). */
static void fu_ldsm_host(unsigned r[4], const unsigned short *p, bool trans) {
  const unsigned w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  fu_ldsm_lane[w][lane] = p;
  __syncwarp();
  for (unsigned q = 0; q < 4; q++) {
    unsigned lo, hi;
    if (trans) {
      lo = fu_ldsm_lane[w][q * 8 + (lane & 3) * 2][lane >> 2];
      hi = fu_ldsm_lane[w][q * 8 + (lane & 3) * 2 + 1][lane >> 2];
    } else {
      const unsigned short *row = fu_ldsm_lane[w][q * 8 + (lane >> 2)];
      lo = row[(lane & 3) * 2];
      hi = row[(lane & 3) * 2 + 1];
    }
    r[q] = lo | hi << 16;
  }
  __syncwarp();
}

/**
 * mma.m16n8k16.row.col with float32 accumulators, per the PTX ISA's fragment layouts (g = lane/4,
 * t = lane%4): A register j holds row g + 8(j&1), columns 2t + 8(j>>1) and +1 (low half first);
 * B register j holds rows 2t + 8j and +1 of column g; D element i is row g + 8(i>>1), column 2t + (i&1).
 */
static void fu_mma_host(float d[4], const unsigned a[4], const unsigned b[2], float (*value)(unsigned short)) {
  const unsigned w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  unsigned *mine = fu_mma_lane[w][lane];
  for (int j = 0; j < 4; j++) mine[j] = a[j];
  mine[4] = b[0];
  mine[5] = b[1];
  __syncwarp();
  float out[4];
  for (unsigned i = 0; i < 4; i++) {
    const unsigned row = (lane >> 2) + 8 * (i >> 1), col = (lane & 3) * 2 + (i & 1);
    float s = d[i];
    for (unsigned k = 0; k < 16; k++) {
      const unsigned wa = fu_mma_lane[w][(row & 7) * 4 + ((k & 7) >> 1)][(row >> 3) + 2 * (k >> 3)];
      const unsigned wb = fu_mma_lane[w][col * 4 + ((k & 7) >> 1)][4 + (k >> 3)];
      s = fmaf(value((unsigned short)(k & 1 ? wa >> 16 : wa)), value((unsigned short)(k & 1 ? wb >> 16 : wb)), s);
    }
    out[i] = s;
  }
  __syncwarp();
  for (int i = 0; i < 4; i++) d[i] = out[i];
}
#endif

/** cp.async of 16 bytes into shared memory; bytes = 0 writes zeros (an element past the edge). */
FU_D void fu_cp16(unsigned short *dst, const unsigned short *src, int bytes) {
#ifdef __CUDA_ARCH__
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(fu_smem(dst)), "l"(src), "r"(bytes) : "memory");
#else
  if (bytes) memcpy(dst, src, 16); else memset(dst, 0, 16);
#endif
}
FU_D void fu_cp_commit() {
#ifdef __CUDA_ARCH__
  asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}
template <int N> FU_D void fu_cp_wait() {
#ifdef __CUDA_ARCH__
  asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory");
#endif
}
FU_D void fu_ldsm(unsigned r[4], const unsigned short *p) {
#ifdef __CUDA_ARCH__
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(fu_smem(p)));
#else
  fu_ldsm_host(r, p, false);
#endif
}
FU_D void fu_ldsm_t(unsigned r[4], const unsigned short *p) {
#ifdef __CUDA_ARCH__
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(fu_smem(p)));
#else
  fu_ldsm_host(r, p, true);
#endif
}
FU_D void fu_mma_f16(float d[4], const unsigned a[4], const unsigned b[2]) {
#ifdef __CUDA_ARCH__
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  fu_mma_host(d, a, b, fu_h2f);
#endif
}
FU_D void fu_mma_bf16(float d[4], const unsigned a[4], const unsigned b[2]) {
#ifdef __CUDA_ARCH__
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  fu_mma_host(d, a, b, fu_b2f);
#endif
}
`;

/** The kernel's name: one per variant. */
export function gemmSymbol(v: GemmVariant): string {
  const e = v.epilogue ? `_e${epilogueHash(v.epilogue.key)}` : '';
  return `fu_gemm_${SHORT[v.dtype]}_${v.aMajor}${v.bMajor}_${v.aVector ? 'v' : 's'}${v.bVector ? 'v' : 's'}${e}`;
}



const STORAGE: Readonly<Record<GemmDtype, string>> = { float32: 'float', float64: 'double', float16: 'unsigned short', bfloat16: 'unsigned short' };

/**
 * Parameters, in launch order: C, A, B; each operand's offset and strides (A: m, k; B: k, n; C: m,
 * n); the sizes and tile counts; the two inner batch sizes (the outer one is what the grid leaves);
 * each operand's stride for the three batch dims; whether C takes vector stores.
 */
function signature(v: GemmVariant, bounds: string): string {
  const t = STORAGE[v.dtype];
  const params = [
    `${t}* c`, `const ${t}* a`, `const ${t}* b`,
    'long long oa', 'long long am', 'long long ak',
    'long long ob', 'long long bk', 'long long bn',
    'long long oc', 'long long cm', 'long long cn',
    'int M', 'int N', 'int K', 'int tilesM', 'int tilesN', 'int z1', 'int z2',
    'long long za0', 'long long za1', 'long long za2',
    'long long zb0', 'long long zb1', 'long long zb2',
    'long long zc0', 'long long zc1', 'long long zc2',
    'int cvec',
    // an epilogue's extra operands (a bias…), read by fu_epilogue at the store
    ...(v.epilogue ? v.epilogue.kernel.buffers.slice(1).map((b, i) => `const ${STORAGE_TYPE[b.dtype]}* fu_e${i + 1}`) : []),
  ];
  return `extern "C" __global__ void __launch_bounds__(${bounds}) ${gemmSymbol(v)}(${params.join(', ')})`;
}

/** The block's tile (grouped order: GROUP_M tile rows sweep the tile columns together) and batch index; moves a, b, c there. */
function blockOrigin(t: Tiling, epilogue = false): string {
  return `  const int tiles = tilesM * tilesN;
  const int bid = (int)blockIdx.x;
  const int tile = bid % tiles;
  int z = bid / tiles;
  const int span = ${GROUP_M} * tilesN;
  const int first = tile / span * ${GROUP_M};
  const int rows = tilesM - first < ${GROUP_M} ? tilesM - first : ${GROUP_M};
  const int m0 = (first + tile % span % rows) * ${t.bm};
  const int n0 = (tile % span / rows) * ${t.bn};
  const int i2 = z % z2;
  z /= z2;
  const int i1 = z % z1, i0 = z / z1;
  a += oa + i0 * za0 + i1 * za1 + i2 * za2;
  b += ob + i0 * zb0 + i1 * zb1 + i2 * zb2;${
    epilogue
      ? `
  // C's offset of this batch index: an epilogue's gid is C's offset of the element
  const long long fu_coff = oc + i0 * zc0 + i1 * zc1 + i2 * zc2;
  c += fu_coff;`
      : `
  c += oc + i0 * zc0 + i1 * zc1 + i2 * zc2;`
  }`;
}

/** One operand as its loader sees it: `x` is 'a' or 'b'; its outer dim (m or n) and strides. */
interface Operand {
  readonly x: 'a' | 'b';
  /** Outer-dim origin, extent, tile size, stride; k stride. */
  readonly r0: string;
  readonly extent: string;
  readonly tile: number;
  readonly sR: string;
  readonly sK: string;
  readonly kMajor: boolean;
  readonly vector: boolean;
}

const operands = (v: GemmVariant, t: Tiling): [Operand, Operand] => [
  { x: 'a', r0: 'm0', extent: 'M', tile: t.bm, sR: 'am', sK: 'ak', kMajor: v.aMajor === 'k', vector: v.aVector },
  { x: 'b', r0: 'n0', extent: 'N', tile: t.bn, sR: 'bn', sK: 'bk', kMajor: v.bMajor === 'k', vector: v.bVector },
];

// ------------------------------------------------------------------ float32 / float64 (SIMT)

/**
 * SIMT loader of one operand: thread t reads `slots` vectors of `w` elements (1 when not
 * vectorized) of the operand's bk × tile block, consecutive threads along its contiguous dim; the
 * slots are `step` apart along the other dim. Registers `x_r` carry them to shared memory `Xs`.
 */
function simtLoader(o: Operand, t: Tiling, type: string): { setup: string; load: string; store: (s: string) => string; advance: string } {
  const w = o.vector ? t.vector : 1;
  const ce = (o.kMajor ? t.bk : o.tile) / w; // vectors along the contiguous dim
  const slots = (t.bk * o.tile) / (t.threads * w);
  const step = t.threads / ce;
  const { x } = o;
  const X = x.toUpperCase();
  // k-major: the contiguous position is along k, the slot dim is the outer one; mn-major the reverse
  const [kk, rr] = o.kMajor ? [`${x}_c`, `${x}_o`] : [`${x}_o`, `${x}_c`];
  const setup = `  const int ${x}_c = (t % ${ce}) * ${w}, ${x}_o = t / ${ce};
  const ${type}* ${x}_p = ${x} + (long long)(${o.r0} + ${rr}) * ${o.sR} + (long long)${kk} * ${o.sK};
  const long long ${x}_step = ${step}LL * ${o.kMajor ? o.sR : o.sK};
  ${type} ${x}_r[${slots}][${w}];`;
  const ok = (i: number): string =>
    o.kMajor
      ? `${o.r0} + ${x}_o + ${i * step} < ${o.extent} && k0 + ${x}_c < K`
      : `${o.r0} + ${x}_c < ${o.extent} && k0 + ${x}_o + ${i * step} < K`;
  const load = Array.from({ length: slots }, (_, i) => {
    const src = `${x}_p + ${i} * ${x}_step`;
    const body = o.vector
      ? type === 'float'
        ? `const fu_f32x4 v = *(const fu_f32x4*)(${src}); ${x}_r[${i}][0] = v.x; ${x}_r[${i}][1] = v.y; ${x}_r[${i}][2] = v.z; ${x}_r[${i}][3] = v.w;`
        : `const fu_f64x2 v = *(const fu_f64x2*)(${src}); ${x}_r[${i}][0] = v.x; ${x}_r[${i}][1] = v.y;`
      : `${x}_r[${i}][0] = *(${src});`;
    const zero = Array.from({ length: w }, (_, e) => `${x}_r[${i}][${e}] = 0;`).join(' ');
    return `    if (${ok(i)}) { ${body} } else { ${zero} }`;
  }).join('\n');
  const store = (s: string): string =>
    Array.from({ length: slots }, (_, i) => {
      if (o.kMajor) {
        return Array.from({ length: w }, (_, e) => `    ${X}s[${s}][${x}_c + ${e}][${x}_o + ${i * step}] = ${x}_r[${i}][${e}];`).join('\n');
      }
      if (!o.vector) return `    ${X}s[${s}][${x}_o + ${i * step}][${x}_c] = ${x}_r[${i}][0];`;
      return type === 'float'
        ? `    *(fu_f32x4*)&${X}s[${s}][${x}_o + ${i * step}][${x}_c] = fu_f32x4{${x}_r[${i}][0], ${x}_r[${i}][1], ${x}_r[${i}][2], ${x}_r[${i}][3]};`
        : `    *(fu_f64x2*)&${X}s[${s}][${x}_o + ${i * step}][${x}_c] = fu_f64x2{${x}_r[${i}][0], ${x}_r[${i}][1]};`;
    }).join('\n');
  return { setup, load, store, advance: `${x}_p += ${t.bk}LL * ${o.sK};` };
}

function renderSimt(v: GemmVariant): string {
  const t = TILING[v.dtype];
  const T = STORAGE[v.dtype];
  const dbl = T === 'double';
  // rows of 128 + pad: the transposing stores of k-major operands hit distinct banks; rows stay 16-byte aligned
  const pad = dbl ? 2 : 4;
  const fma = dbl ? 'fma' : 'fmaf';
  const [A, B] = operands(v, t).map((o) => simtLoader(o, t, T)) as [ReturnType<typeof simtLoader>, ReturnType<typeof simtLoader>];
  const four = (dst: string, src: string): string =>
    dbl
      ? `{ const fu_f64x2 u = *(const fu_f64x2*)&${src}, w = *(const fu_f64x2*)(&${src} + 2); ${dst}[0] = u.x; ${dst}[1] = u.y; ${dst}[2] = w.x; ${dst}[3] = w.y; }`
      : `{ const fu_f32x4 u = *(const fu_f32x4*)&${src}; ${dst}[0] = u.x; ${dst}[1] = u.y; ${dst}[2] = u.z; ${dst}[3] = u.w; }`;
  // each stored value: the sum, or its epilogue at C's offset (`fu_crow` + the column's offset)
  const extra = Array.from({ length: epilogueOperands(v.epilogue) }, (_, i) => `, fu_e${i + 1}`).join('');
  const val = (sum: string, colOffset: string): string => (v.epilogue ? `fu_epilogue(fu_crow + ${colOffset}, ${sum}${extra})` : sum);
  const vals = [0, 1, 2, 3].map((e) => val(`acc[i][j${e ? ` + ${e}` : ''}]`, `col + ${e}`));
  const vstore = dbl
    ? `*(fu_f64x2*)p = fu_f64x2{${vals[0]}, ${vals[1]}}; *(fu_f64x2*)(p + 2) = fu_f64x2{${vals[2]}, ${vals[3]}};`
    : `*(fu_f32x4*)p = fu_f32x4{${vals.join(', ')}};`;
  return `${GEMM_PRELUDE}
${v.epilogue ? `${renderCudaEpilogue(v.epilogue.kernel, 'fu_epilogue')}\n` : ''}${signature(v, dbl ? '256, 1' : '256, 2')} {
  alignas(16) __shared__ ${T} As[2][${t.bk}][${t.bm + pad}];
  alignas(16) __shared__ ${T} Bs[2][${t.bk}][${t.bn + pad}];
${blockOrigin(t, v.epilogue !== undefined)}
  const int t = threadIdx.x, tx = t & 15, ty = t >> 4;
${A.setup}
${B.setup}
  ${T} acc[8][8];
  #pragma unroll
  for (int i = 0; i < 8; i++) {
    #pragma unroll
    for (int j = 0; j < 8; j++) acc[i][j] = 0;
  }
  const int KT = (K + ${t.bk - 1}) / ${t.bk};
  {
    const int k0 = 0;
${A.load}
${B.load}
${A.store('0')}
${B.store('0')}
  }
  __syncthreads();
  for (int kt = 0; kt < KT; kt++) {
    const int s = kt & 1;
    const bool more = kt + 1 < KT;
    if (more) {
      const int k0 = (kt + 1) * ${t.bk};
      ${A.advance}
      ${B.advance}
${A.load}
${B.load}
    }
    #pragma unroll
    for (int kk = 0; kk < ${t.bk}; kk++) {
      ${T} ar[8], br[8];
      ${four('ar', `As[s][kk][ty * 4]`)}
      ${four('(ar + 4)', `As[s][kk][64 + ty * 4]`)}
      ${four('br', `Bs[s][kk][tx * 4]`)}
      ${four('(br + 4)', `Bs[s][kk][64 + tx * 4]`)}
      #pragma unroll
      for (int i = 0; i < 8; i++) {
        #pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = ${fma}(ar[i], br[j], acc[i][j]);
      }
    }
    if (more) {
${A.store('s ^ 1')}
${B.store('s ^ 1')}
    }
    __syncthreads();
  }
  #pragma unroll
  for (int i = 0; i < 8; i++) {
    const int row = m0 + (i >> 2) * 64 + ty * 4 + (i & 3);
    if (row >= M) continue;
    ${T}* crow = c + (long long)row * cm;${v.epilogue ? '\n    const long long fu_crow = fu_coff + (long long)row * cm;' : ''}
    #pragma unroll
    for (int j = 0; j < 8; j += 4) {
      const int col = n0 + (j >> 2) * 64 + tx * 4;
      if (cvec && col + 3 < N) {
        ${T}* p = crow + col;
        ${vstore}
      } else {
        #pragma unroll
        for (int e = 0; e < 4; e++) if (col + e < N) crow[(long long)(col + e) * cn] = ${val('acc[i][j + e]', '(long long)(col + e) * cn')};
      }
    }
  }
}
`;
}

// ------------------------------------------------------------------ float16 / bfloat16 (mma.sync)

/**
 * Shared-memory tile of an operand in its own orientation, in 16-byte chunks of 8 elements:
 * k-major: `tile` rows of bk (4 chunks); mn-major: bk rows of `tile` (tile/8 chunks). The chunk
 * index is XORed with bits of the row so that 8 consecutive rows at one logical chunk, which is
 * what one ldmatrix matrix reads, land in 8 different bank groups.
 */
function swizzled(kMajor: boolean, row: string, chunk: string, tile: number): string {
  return kMajor ? `(${row}) * 32 + ((((${chunk}) ^ ((${row}) >> 1)) & 3) << 3)` : `(${row}) * ${tile} + (((${chunk}) ^ ((${row}) & 7)) << 3)`;
}

/**
 * Loader of one operand's 32 × tile block into stage `s`: thread t copies `slots` chunks of 8
 * elements, consecutive threads along the contiguous dim; by cp.async when the operand is
 * vectorized, else element by element (any strides), zero past the edges either way.
 */
function mmaLoader(o: Operand, t: Tiling): { setup: string; load: string } {
  const { x } = o;
  const X = x.toUpperCase();
  const chunksPerRow = o.kMajor ? t.bk / 8 : o.tile / 8;
  const slots = (t.bk * o.tile) / 8 / t.threads;
  const step = t.threads / chunksPerRow;
  const [kk, rr] = o.kMajor ? [`${x}_c * 8`, `${x}_o`] : [`${x}_o`, `${x}_c * 8`];
  const setup = `  const int ${x}_c = t % ${chunksPerRow}, ${x}_o = t / ${chunksPerRow};
  const unsigned short* ${x}_p = ${x} + (long long)(${o.r0} + ${rr}) * ${o.sR} + (long long)(${kk}) * ${o.sK};
  const long long ${x}_step = ${step}LL * ${o.kMajor ? o.sR : o.sK};`;
  const rowOk = (i: number): string => (o.kMajor ? `${o.r0} + ${x}_o + ${i * step} < ${o.extent}` : `${o.r0} + ${x}_c * 8 < ${o.extent}`);
  const kOk = (i: number): string => (o.kMajor ? `k0 + ${x}_c * 8 < K` : `k0 + ${x}_o + ${i * step} < K`);
  const lines = Array.from({ length: slots }, (_, i) => {
    const dst = `&${X}s[s][${o.kMajor ? swizzled(true, `${x}_o + ${i * step}`, `${x}_c`, o.tile) : swizzled(false, `${x}_o + ${i * step}`, `${x}_c`, o.tile)}]`;
    const src = `${x}_p + ${i} * ${x}_step`;
    if (o.vector) {
      return `      { const bool ok = ${rowOk(i)} && ${kOk(i)}; fu_cp16(${dst}, ok ? ${src} : ${x}, ok ? 16 : 0); }`;
    }
    // element e of the chunk runs along the contiguous dim: k for k-major, the outer dim otherwise
    const eOk = o.kMajor ? `${rowOk(i)} && k0 + ${x}_c * 8 + e < K` : `${o.r0} + ${x}_c * 8 + e < ${o.extent} && ${kOk(i)}`;
    return `      { unsigned short* d = ${dst}; const unsigned short* q = ${src};
        #pragma unroll
        for (int e = 0; e < 8; e++) d[e] = (${eOk}) ? q[e * ${o.kMajor ? o.sK : o.sR}] : (unsigned short)0; }`;
  });
  return { setup, load: lines.join('\n') };
}

function renderMma(v: GemmVariant): string {
  const t = TILING[v.dtype];
  const [oa, ob] = operands(v, t);
  const A = mmaLoader(oa, t);
  const B = mmaLoader(ob, t);
  const wn = t.bn / 64; // warps along n (each warp: 64 × 64)
  const op = v.dtype === 'bfloat16' ? 'fu_mma_bf16' : 'fu_mma_f16';
  const round = v.dtype === 'bfloat16' ? 'fu_f2b' : 'fu_f2h';
  // per lane: q = which 8×8 matrix of an ldmatrix.x4 it addresses, j = the row within it
  // A fragment (16 × 16 at rows mi·16): matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
  const aAddr = oa.kMajor
    ? `&As[s][${swizzled(true, 'wm * 64 + mi * 16 + (q & 1) * 8 + j', 'ks * 2 + (q >> 1)', t.bm)}]`
    : `&As[s][${swizzled(false, 'ks * 16 + (q >> 1) * 8 + j', 'wm * 8 + mi * 2 + (q & 1)', t.bm)}]`;
  // B fragments of two n8 tiles (16 n at nj·16): matrices (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15)
  const bAddr = ob.kMajor
    ? `&Bs[s][${swizzled(true, 'wn * 64 + nj * 16 + (q >> 1) * 8 + j', 'ks * 2 + (q & 1)', t.bn)}]`
    : `&Bs[s][${swizzled(false, 'ks * 16 + (q & 1) * 8 + j', 'wn * 8 + nj * 2 + (q >> 1)', t.bn)}]`;
  return `${GEMM_PRELUDE}
${signature(v, `${t.threads}, 1`)} {
  alignas(128) __shared__ unsigned short As[${t.stages}][${t.bm * t.bk}];
  alignas(128) __shared__ unsigned short Bs[${t.stages}][${t.bn * t.bk}];
${blockOrigin(t)}
  const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
  const int wm = warp / ${wn}, wn = warp % ${wn};
  const int q = lane >> 3, j = lane & 7;
${A.setup}
${B.setup}
  float acc[4][8][4];
  #pragma unroll
  for (int mi = 0; mi < 4; mi++) {
    #pragma unroll
    for (int ni = 0; ni < 8; ni++) {
      #pragma unroll
      for (int e = 0; e < 4; e++) acc[mi][ni][e] = 0.0f;
    }
  }
  const int KT = (K + ${t.bk - 1}) / ${t.bk};
  // tiles are issued in order: \`next\` is the first one not yet issued
  int next = 0;
  #pragma unroll
  for (int p = 0; p < ${t.stages - 1}; p++) {
    if (next < KT) {
      const int s = next % ${t.stages}, k0 = next * ${t.bk};
${A.load}
${B.load}
      a_p += ${t.bk}LL * ak;
      b_p += ${t.bk}LL * bk;
      next++;
    }
    fu_cp_commit();
  }
  for (int kt = 0; kt < KT; kt++) {
    fu_cp_wait<${t.stages - 2}>();
    __syncthreads();
    if (next < KT) {
      const int s = next % ${t.stages}, k0 = next * ${t.bk};
${A.load}
${B.load}
      a_p += ${t.bk}LL * ak;
      b_p += ${t.bk}LL * bk;
      next++;
    }
    fu_cp_commit();
    const int s = kt % ${t.stages};
    #pragma unroll
    for (int ks = 0; ks < ${t.bk / 16}; ks++) {
      unsigned af[4][4], bf[8][2];
      #pragma unroll
      for (int mi = 0; mi < 4; mi++) ${oa.kMajor ? 'fu_ldsm' : 'fu_ldsm_t'}(af[mi], ${aAddr});
      #pragma unroll
      for (int nj = 0; nj < 4; nj++) {
        unsigned r[4];
        ${ob.kMajor ? 'fu_ldsm' : 'fu_ldsm_t'}(r, ${bAddr});
        bf[2 * nj][0] = r[0];
        bf[2 * nj][1] = r[1];
        bf[2 * nj + 1][0] = r[2];
        bf[2 * nj + 1][1] = r[3];
      }
      #pragma unroll
      for (int mi = 0; mi < 4; mi++) {
        #pragma unroll
        for (int ni = 0; ni < 8; ni++) ${op}(acc[mi][ni], af[mi], bf[ni]);
      }
    }
  }
  // D fragment: element e of tile (mi, ni) is row g + 8(e>>1), column 2t + (e&1)
  const int g = lane >> 2, tq = lane & 3;
  #pragma unroll
  for (int mi = 0; mi < 4; mi++) {
    #pragma unroll
    for (int h = 0; h < 2; h++) {
      const int row = m0 + wm * 64 + mi * 16 + h * 8 + g;
      if (row >= M) continue;
      unsigned short* crow = c + (long long)row * cm;
      #pragma unroll
      for (int ni = 0; ni < 8; ni++) {
        const int col = n0 + wn * 64 + ni * 8 + tq * 2;
        const unsigned short lo = ${round}(acc[mi][ni][2 * h]), hi = ${round}(acc[mi][ni][2 * h + 1]);
        if (cvec && col + 1 < N) {
          *(unsigned*)(crow + col) = (unsigned)lo | (unsigned)hi << 16;
        } else {
          if (col < N) crow[(long long)col * cn] = lo;
          if (col + 1 < N) crow[(long long)(col + 1) * cn] = hi;
        }
      }
    }
  }
}
`;
}

/** The full NVRTC unit of a variant (GEMM_PRELUDE + its kernel). */
export function renderGemm(v: GemmVariant): string {
  if (v.epilogue && v.dtype !== 'float32' && v.dtype !== 'float64') throw new Error(`internal: the ${v.dtype} gemm kernels take no epilogue`);
  return v.dtype === 'float16' || v.dtype === 'bfloat16' ? renderMma(v) : renderSimt(v);
}

/** Every variant there is: 4 dtypes × 2 orientations of A × 2 of B × vector or not for each. */
export function gemmVariants(): GemmVariant[] {
  const out: GemmVariant[] = [];
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
    for (const aMajor of ['k', 'm'] as const) {
      for (const bMajor of ['n', 'k'] as const) {
        for (const aVector of [true, false]) for (const bVector of [true, false]) out.push({ dtype, aMajor, bMajor, aVector, bVector });
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ planning a product

const isGemmDtype = (d: string): d is GemmDtype => d in TILING;

/**
 * One operand's orientation and whether it can be read in vectors: `outer`/`sOuter` are its m (or
 * n) extent and stride, `k`/`sK` its k extent and stride; strides of dims of size 1 do not count.
 */
function orient(
  outer: number,
  sOuter: number,
  k: number,
  sK: number,
  offset: number,
  batch: readonly number[],
  ptr: bigint,
  itemsize: number,
  w: number,
): { kMajor: boolean; vector: boolean } {
  const eOuter = outer > 1 ? Math.abs(sOuter) : Infinity;
  const eK = k > 1 ? Math.abs(sK) : Infinity;
  const kMajor = eK <= eOuter;
  const [extent, unit, other, otherExtent] = kMajor ? [k, sK, sOuter, outer] : [outer, sOuter, sK, k];
  const vector =
    unit === 1 &&
    extent % w === 0 &&
    (otherExtent === 1 || other % w === 0) &&
    offset % w === 0 &&
    batch.every((s) => s % w === 0) &&
    (ptr + BigInt(offset * itemsize)) % 16n === 0n;
  return { kMajor, vector };
}

export interface GemmLaunch {
  readonly variant: GemmVariant;
  /** Whether C takes vector stores (row-contiguous and aligned). */
  readonly cVector: boolean;
  readonly grid: number;
  readonly block: number;
  /** Launches: the kernel parameters of each (one per index of the batch dims beyond the grid's three). */
  readonly params: readonly Buffer[][];
}

const i64 = (v: number | bigint): Buffer => kernelParam(v, 'int64');
const i32 = (v: number): Buffer => kernelParam(v, 'int32');

/** The variant, grid and parameters that compute `g` (null when there is nothing to write). */
export function planGemm(g: GemmShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer, extra: readonly DeviceBuffer[] = []): GemmLaunch | null {
  if (!isGemmDtype(g.dtype)) throw new Error(`internal: the cuda gemm kernels do not take ${g.dtype}`);
  const t = TILING[g.dtype];
  const size = ITEMSIZE[g.dtype];
  const batch = g.batch.filter((d) => d.size !== 1);
  if (g.m === 0 || g.n === 0 || batch.some((d) => d.size === 0)) return null;
  const ao = orient(g.m, g.a.rowStride, g.k, g.a.colStride, g.a.offset, batch.map((d) => d.a), a.ptr, size, t.vector);
  const bo = orient(g.n, g.b.colStride, g.k, g.b.rowStride, g.b.offset, batch.map((d) => d.b), b.ptr, size, t.vector);
  const w = t.cVector;
  const cvec =
    (g.n === 1 || g.c.colStride === 1) &&
    (g.m === 1 || g.c.rowStride % w === 0) &&
    g.c.offset % w === 0 &&
    batch.every((d) => d.c % w === 0) &&
    (c.ptr + BigInt(g.c.offset * size)) % BigInt(w * size) === 0n;
  const variant: GemmVariant = {
    dtype: g.dtype,
    aMajor: ao.kMajor ? 'k' : 'm',
    bMajor: bo.kMajor ? 'k' : 'n',
    aVector: ao.vector,
    bVector: bo.vector,
    ...(g.epilogue ? { epilogue: g.epilogue } : {}),
  };
  if (extra.length !== epilogueOperands(g.epilogue)) throw new Error(`internal: the gemm epilogue reads ${epilogueOperands(g.epilogue)} buffers, ${extra.length} were given`);
  // the grid holds the innermost three batch dims; the rest are launches
  const inner = batch.slice(-3);
  const outer = batch.slice(0, -3);
  while (inner.length < 3) inner.unshift({ size: 1, a: 0, b: 0, c: 0 });
  const tilesM = Math.ceil(g.m / t.bm);
  const tilesN = Math.ceil(g.n / t.bn);
  const grid = tilesM * tilesN * inner[0]!.size * inner[1]!.size * inner[2]!.size;
  const one = (x: number, s: number): number => (x > 1 ? s : 0);
  const params: Buffer[][] = [];
  forEachBatch(outer, { a: g.a.offset, b: g.b.offset, c: g.c.offset }, (offA, offB, offC) => {
    params.push([
      i64(c.ptr), i64(a.ptr), i64(b.ptr),
      i64(offA), i64(one(g.m, g.a.rowStride)), i64(one(g.k, g.a.colStride)),
      i64(offB), i64(one(g.k, g.b.rowStride)), i64(one(g.n, g.b.colStride)),
      i64(offC), i64(one(g.m, g.c.rowStride)), i64(one(g.n, g.c.colStride)),
      i32(g.m), i32(g.n), i32(g.k), i32(tilesM), i32(tilesN), i32(inner[1]!.size), i32(inner[2]!.size),
      ...inner.map((d) => i64(d.a)), ...inner.map((d) => i64(d.b)), ...inner.map((d) => i64(d.c)),
      i32(cvec ? 1 : 0),
      ...extra.map((e) => i64(e.ptr)),
    ]);
  });
  return { variant, cVector: cvec, grid, block: t.threads, params };
}

// ------------------------------------------------------------------ the routine

export interface GeneratedGemmOptions {
  /** Smallest product (m·n·k times the batch) worth a GEMM kernel (default 128³): below it the generated kernel is as fast and fuses. */
  readonly minMultiplyAdds?: number;
  /** Smallest m and n (default 16): thinner products are matrix-vector-like, bound by memory, which generated code reads as well. */
  readonly minDim?: number;
  /** Smallest k (default 16): shorter sums are elementwise-like products (an outer product at k = 1). */
  readonly minK?: number;
}

const DEFAULTS: Required<GeneratedGemmOptions> = { minMultiplyAdds: 128 ** 3, minDim: 16, minK: 16 };

/**
 * The GEMM routine on generated tiled kernels, launched through `runtime()` on the device of the
 * buffers. Kernels compile once per variant (NVRTC, then the runtime's memory and disk caches).
 */
export function generatedGemm(runtime: () => CudaRuntime, opts: GeneratedGemmOptions = {}): GemmRoutine<DeviceBuffer> {
  const o = { ...DEFAULTS, ...opts };
  const modules = new Map<string, Module>();
  const module = (v: GemmVariant): Module => {
    const symbol = gemmSymbol(v);
    let m = modules.get(symbol);
    if (!m) {
      m = { symbol, source: renderGemm(v), images: new Map(), functions: new Map() };
      modules.set(symbol, m);
    }
    return m;
  };
  return {
    supports(g) {
      if (!isGemmDtype(g.dtype)) return false;
      if (g.m < o.minDim || g.n < o.minDim || g.k < o.minK) return false;
      const count = g.batch.reduce((p, d) => p * d.size, 1);
      if (g.m * g.n * g.k * count < o.minMultiplyAdds) return false;
      const t = TILING[g.dtype];
      // sizes are int parameters; the grid is one dimension of blocks
      if (Math.max(g.m, g.n, g.k) >= 2 ** 31 || Math.ceil(g.m / t.bm) * Math.ceil(g.n / t.bn) * count >= 2 ** 31) return false;
      if (g.dtype === 'float16' || g.dtype === 'bfloat16') {
        // mma.sync on bfloat16, ldmatrix and cp.async need compute capability 8.0
        try {
          return runtime().devices.every((d) => d.major >= 8);
        } catch {
          return false;
        }
      }
      return true;
    },
    supportsEpilogue(g) {
      // the tensor-core kernels (float16, bfloat16) store fragments of their own: no epilogue there yet
      if (g.dtype !== 'float32' && g.dtype !== 'float64') return false;
      const k = g.epilogue.kernel;
      const store = k.body[k.body.length - 1];
      // C holds the product's dtype; the epilogue's index math is int32 (gid)
      return store?.k === 'store' && store.expr.dtype === g.dtype && k.size < 2 ** 31;
    },
    run(g, a, b, c, extra = []) {
      const device = c.device;
      if (a.device !== device || b.device !== device) {
        throw new Error(`internal: a gemm on cuda:${device} was given operands on cuda:${a.device} and cuda:${b.device}`);
      }
      for (const e of extra) if (e.device !== device) throw new Error(`internal: a gemm on cuda:${device} was given an epilogue operand on cuda:${e.device}`);
      const launch = planGemm(g, a, b, c, extra);
      if (!launch) return;
      const r = runtime();
      const fn = r.function(module(launch.variant), device);
      for (const params of launch.params) r.launch(device, fn, launch.grid, launch.block, params, gemmSymbol(launch.variant));
    },
  };
}
