/**
 * The webgpu backend's sort routine: a bitonic sort of (key, position) pairs whose short passes run
 * in workgroup memory. Rows are padded to P (a power of two) in a workspace of u32 keys (float bits
 * made monotonic, -0 as 0, NaN the largest; descending flips them; padding the largest key and
 * position) and positions. One dispatch sorts every tile of 512 in workgroup memory; then each
 * stage k > 512 runs its passes of distance ≥ 512 in global memory, one dispatch each, and the rest
 * in one workgroup-memory dispatch: for 1M elements about 80 dispatches, where the network the
 * compiler writes out of IR (sort-network.ts) takes 420. Ordering by (key, position) makes it
 * stable. float32 and int32; other dtypes go to that network.
 */
import type { DType } from '@fusor/ir';
import type { BackendBuffer, SortRoutine, SortShape } from '@fusor/compiler';

/** Elements one workgroup sorts in its memory (two per invocation). */
const TILE = 512;
const GROUP = TILE / 2;

/** What the routine needs of the device: pipelines on one layout (three storage buffers, a uniform), workspace, dispatches. */
export interface SortDevice<B> {
  readonly limits: GPUSupportedLimits;
  /** Pipeline of the WGSL (cached by name) for bindings 0–2 read-write storage, 3 a uniform of i32 words. */
  pipeline(name: string, code: string): GPUComputePipeline;
  /** A workspace buffer of `size` u32 words (freed after the dispatches that use it are submitted). */
  alloc(size: number): B;
  free(b: B): void;
  dispatch(name: string, pipeline: GPUComputePipeline, buffers: readonly B[], params: readonly number[], groups: readonly [number, number, number]): void;
}

const KEY_OF: Partial<Record<DType, { readonly elem: string; readonly key: string }>> = {
  float32: {
    elem: 'f32',
    // NaN the largest, -0 as 0, negatives flipped below the positives
    key: `let b = bitcast<u32>(v);
    var key = select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
    if (b == 0x80000000u) { key = 0x80000000u; }
    if ((b & 0x7fffffffu) > 0x7f800000u) { key = 0xffffffffu; }`,
  },
  int32: { elem: 'i32', key: 'let key = bitcast<u32>(v) ^ 0x80000000u;' },
};

const PARAMS = 'struct P { n: u32, p: u32, total: u32, k: u32, j: u32, flip: u32, kout: u32, rows: u32 }';
const BIND = (io: string): string => `${PARAMS}
@group(0) @binding(0) var<storage, read_write> keys: array<u32>;
@group(0) @binding(1) var<storage, read_write> idx: array<u32>;
@group(0) @binding(2) var<storage, read_write> io: array<${io}>;
@group(0) @binding(3) var<uniform> prm: P;`;

/** The flat index of an invocation over a 2-D grid of workgroups of GROUP. */
const FLAT = '(wg.x + wg.y * nw.x) * ' + GROUP + 'u + t';
const ENTRY = `@compute @workgroup_size(${GROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) t: u32)`;

/** Whether the pair (a, b) is out of order for an ascending block: the later (key, position) first. */
const AFTER = 'fn after(ka: u32, ia: u32, kb: u32, ib: u32) -> bool { return ka > kb || (ka == kb && ia > ib); }';

const initSource = (dtype: DType): string => {
  const k = KEY_OF[dtype]!;
  return `${BIND(k.elem)}
${ENTRY} {
  let g = ${FLAT};
  if (g >= prm.total) { return; }
  let row = g / prm.p;
  let i = g % prm.p;
  if (i < prm.n) {
    let v = io[row * prm.n + i];
    ${k.key}
    keys[g] = key ^ prm.flip;
  } else {
    keys[g] = 0xffffffffu;
  }
  idx[g] = i;
}`;
};

/** Sorts each tile (prm.k == 0: stages 2…min(TILE, P)) or finishes stage prm.k's passes below TILE. */
const LOCAL_SOURCE = `${BIND('u32')}
var<workgroup> sk: array<u32, ${TILE}>;
var<workgroup> si: array<u32, ${TILE}>;
${AFTER}
${ENTRY} {
  let base = (wg.x + wg.y * nw.x) * ${TILE}u;
  if (base >= prm.total) { return; }
  for (var h = 0u; h < 2u; h++) {
    let at = base + t + h * ${GROUP}u;
    sk[t + h * ${GROUP}u] = select(0xffffffffu, keys[min(at, prm.total - 1u)], at < prm.total);
    si[t + h * ${GROUP}u] = select(0xffffffffu, idx[min(at, prm.total - 1u)], at < prm.total);
  }
  workgroupBarrier();
  var k0 = 2u;
  var k1 = min(${TILE}u, prm.p);
  if (prm.k != 0u) { k0 = prm.k; k1 = prm.k; }
  for (var k = k0; k <= k1; k = k << 1u) {
    for (var j = min(k >> 1u, ${GROUP}u); j > 0u; j = j >> 1u) {
      let lo = ((t & ~(j - 1u)) << 1u) | (t & (j - 1u));
      let hi = lo + j;
      let asc = (((base + lo) & (prm.p - 1u)) & k) == 0u;
      let ka = sk[lo]; let ia = si[lo]; let kb = sk[hi]; let ib = si[hi];
      if (after(ka, ia, kb, ib) == asc) {
        sk[lo] = kb; si[lo] = ib; sk[hi] = ka; si[hi] = ia;
      }
      workgroupBarrier();
    }
  }
  for (var h = 0u; h < 2u; h++) {
    let at = base + t + h * ${GROUP}u;
    if (at < prm.total) { keys[at] = sk[t + h * ${GROUP}u]; idx[at] = si[t + h * ${GROUP}u]; }
  }
}`;

/** One pass of stage prm.k at distance prm.j ≥ TILE: one invocation per pair. */
const GLOBAL_SOURCE = `${BIND('u32')}
${AFTER}
${ENTRY} {
  let q = ${FLAT};
  if (q >= prm.total / 2u) { return; }
  let j = prm.j;
  let lo = ((q & ~(j - 1u)) << 1u) | (q & (j - 1u));
  let hi = lo + j;
  let asc = ((lo & (prm.p - 1u)) & prm.k) == 0u;
  let ka = keys[lo]; let ia = idx[lo]; let kb = keys[hi]; let ib = idx[hi];
  if (after(ka, ia, kb, ib) == asc) {
    keys[lo] = kb; idx[lo] = ib; keys[hi] = ka; idx[hi] = ia;
  }
}`;

/** The first prm.kout positions of each row. */
const WRITE_SOURCE = `${BIND('u32')}
${ENTRY} {
  let g = ${FLAT};
  if (g >= prm.rows * prm.kout) { return; }
  let row = g / prm.kout;
  io[g] = idx[row * prm.p + g % prm.kout];
}`;

const pow2 = (n: number): number => {
  let p = 1;
  while (p < n) p *= 2;
  return p;
};

/** Workgroups for `threads` invocations on a 2-D grid within the per-dimension limit. */
function grid(threads: number, max: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / GROUP));
  const x = Math.min(groups, max);
  return [x, Math.ceil(groups / x), 1];
}

export function webgpuSort<B extends BackendBuffer>(device: () => SortDevice<B>): SortRoutine<B> {
  const fits = (sh: SortShape): boolean => {
    const total = sh.rows * pow2(sh.n);
    const limits = device().limits;
    return total * 4 <= limits.maxStorageBufferBindingSize && total < 2 ** 31 && Math.ceil(total / GROUP) <= limits.maxComputeWorkgroupsPerDimension ** 2;
  };
  return {
    supports: (sh) => KEY_OF[sh.dtype] !== undefined && sh.rows > 0 && sh.n > 0 && fits(sh),
    run(sh, x, out) {
      if (sh.k === 0) return;
      const dev = device();
      const max = dev.limits.maxComputeWorkgroupsPerDimension;
      const p = pow2(sh.n);
      const total = sh.rows * p;
      const keys = dev.alloc(total);
      const idx = dev.alloc(total);
      const params = (k: number, j: number): number[] => [sh.n, p, total, k, j, sh.descending ? -1 : 0, sh.k, sh.rows];
      const run = (name: string, code: string, io: B, prm: number[], threads: number): void =>
        dev.dispatch(name, dev.pipeline(name, code), [keys, idx, io], prm, grid(threads, max));
      run(`sort_init_${sh.dtype}`, initSource(sh.dtype), x, params(0, 0), total);
      run('sort_local', LOCAL_SOURCE, out, params(0, 0), total / 2);
      for (let k = 2 * TILE; k <= p; k *= 2) {
        for (let j = k / 2; j >= TILE; j /= 2) run('sort_global', GLOBAL_SOURCE, out, params(k, j), total / 2);
        run('sort_local', LOCAL_SOURCE, out, params(k, 0), total / 2);
      }
      run('sort_write', WRITE_SOURCE, out, params(0, 0), sh.rows * sh.k);
      dev.free(keys);
      dev.free(idx);
    },
    describe: (sh) => `bitonic sort of ${sh.rows} rows of ${sh.n} (padded to ${pow2(sh.n)}), tiles of ${TILE} in workgroup memory`,
  };
}
