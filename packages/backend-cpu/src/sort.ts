/**
 * The cpu backend's sort routine (SORT nodes: the positions that order each row). Each element
 * becomes an unsigned 32-bit key whose integer order is the sort order (float bits with the
 * negatives flipped, -0 as 0, every NaN the largest; integers with the sign bit flipped;
 * descending: every bit flipped), then:
 * - a whole row is ordered by an LSD radix sort of (key, position) pairs: stable, so equal values
 *   keep their original order as PyTorch's stable sort does; O(n) per pass, 3 or 4 passes, and a
 *   pass whose digit is the same for every key is skipped;
 * - the first k < n of a row (topk, kthvalue) are found by a radix select: a histogram of the top
 *   digit tells which elements are certainly in (a smaller digit) and which are candidates (the
 *   boundary digit); the candidates are refined by the next digit, and the chosen k radix-sorted;
 *   a small k of a long row is selected in one pass against a threshold that falls as it goes.
 * float64 and int64 (held in float64) have no 32-bit key: their rows are sorted by comparison.
 */
import type { DType } from '@fusor/ir';
import type { SortRoutine, SortShape } from '@fusor/compiler';
import type { CpuBuffer, Storage } from './buffer.js';

/** Rows this short are insertion-sorted: a radix pass clears and scans its whole histogram. */
const INSERTION_MAX = 32;

/** The sign bit as an int32. */
const SIGN = 0x80000000 | 0;

/** Writes the keys of `n` elements from `at` into `keys`, xor `flip` (-1: every bit, for descending). */
type RowKeys = (at: number, n: number, keys: Int32Array, flip: number) => void;

/**
 * The key writer of a buffer's storage, per dtype (made once per call: a typed-array view made
 * per chunk cost more than the chunk's keys). Absent: no 32-bit key (float64, int64).
 */
const KEYS: Partial<Record<DType, (x: Storage) => RowKeys>> = {
  float32: (x) => {
    const bits = new Int32Array(x.buffer, x.byteOffset, x.length);
    return (at, n, keys, flip) => {
      for (let i = 0; i < n; i++) {
        const b = bits[at + i]!;
        // NaN: the largest; -0 as 0 (both 0x80000000); negatives flipped, positives above them
        const key = (b & 0x7fffffff) > 0x7f800000 ? -1 : b === SIGN ? SIGN : b < 0 ? ~b : b ^ SIGN;
        keys[i] = key ^ flip;
      }
    };
  },
  int32: (x) => signedKeys(x),
  int16: (x) => signedKeys(x),
  int8: (x) => signedKeys(x),
  uint8: (x) => (at, n, keys, flip) => {
    for (let i = 0; i < n; i++) keys[i] = x[at + i]! ^ flip;
  },
  bool: (x) => (at, n, keys, flip) => {
    for (let i = 0; i < n; i++) keys[i] = x[at + i]! ^ flip;
  },
};

function signedKeys(x: Storage): RowKeys {
  return (at, n, keys, flip) => {
    for (let i = 0; i < n; i++) keys[i] = x[at + i]! ^ SIGN ^ flip;
  };
}

/** Scratch for one call (reused by its rows): keys and positions, and a second set to sort into. */
interface Scratch {
  readonly keys: Int32Array;
  readonly idx: Int32Array;
  readonly keys2: Int32Array;
  readonly idx2: Int32Array;
}

/** A select's scratch: the chosen k (and a second set to sort them), the keys of a chunk, a histogram. */
interface SelectScratch extends Scratch {
  readonly chunk: Int32Array;
  readonly hist: Int32Array;
}

const scratchFor = (n: number): Scratch => ({ keys: new Int32Array(n), idx: new Int32Array(n), keys2: new Int32Array(n), idx2: new Int32Array(n) });

/** Stable insertion sort of the first `m` (key, position) pairs by key. */
function insertionSort(keys: Int32Array, idx: Int32Array, m: number): void {
  for (let i = 1; i < m; i++) {
    const k = keys[i]!;
    const ks = k ^ SIGN; // keys are unsigned: compared signed with the sign bit flipped
    const p = idx[i]!;
    let j = i - 1;
    while (j >= 0 && (keys[j]! ^ SIGN) > ks) {
      keys[j + 1] = keys[j]!;
      idx[j + 1] = idx[j]!;
      j--;
    }
    keys[j + 1] = k;
    idx[j + 1] = p;
  }
}

/**
 * Stable LSD radix sort of the first `m` pairs (keys, idx) by key, using (keys2, idx2) as the other
 * buffer; returns the positions array that holds the result (idx or idx2).
 */
function radixSort(keys: Int32Array, idx: Int32Array, keys2: Int32Array, idx2: Int32Array, m: number): Int32Array {
  if (m <= INSERTION_MAX) {
    insertionSort(keys, idx, m);
    return idx;
  }
  const bits = m < 4096 ? 8 : 11;
  const radix = 1 << bits;
  const mask = radix - 1;
  const passes = Math.ceil(32 / bits);
  const counts = new Int32Array(passes * radix);
  for (let i = 0; i < m; i++) {
    const k = keys[i]!;
    for (let p = 0; p < passes; p++) counts[p * radix + ((k >>> (p * bits)) & mask)]!++;
  }
  let [sk, si, dk, di] = [keys, idx, keys2, idx2];
  for (let p = 0; p < passes; p++) {
    const shift = p * bits;
    const base = p * radix;
    // a digit every key shares orders nothing
    if (counts[base + ((sk[0]! >>> shift) & mask)] === m) continue;
    let sum = 0;
    for (let d = 0; d < radix; d++) {
      const c = counts[base + d]!;
      counts[base + d] = sum;
      sum += c;
    }
    for (let i = 0; i < m; i++) {
      const k = sk[i]!;
      const at = counts[base + ((k >>> shift) & mask)]!++;
      dk[at] = k;
      di[at] = si[i]!;
    }
    [sk, si, dk, di] = [dk, di, sk, si];
  }
  return si;
}

/** The digits a select refines by, most significant first: [shift, width]. */
const SELECT_DIGITS: readonly (readonly [number, number])[] = [
  [21, 11],
  [10, 11],
  [0, 10],
];

/** One pass of a select over some candidates: where each goes (chosen, refined next, or out). */
interface Filter {
  readonly shift: number;
  readonly mask: number;
  /** The boundary digit: smaller ones are chosen, larger ones out. */
  readonly t: number;
  /** How many more of digit t are chosen (in position order). */
  takeT: number;
  /** Whether the rest of digit t are candidates for the next digit. */
  readonly refine: boolean;
  chosen: number;
  m2: number;
  readonly keys: Int32Array;
  readonly idx: Int32Array;
  readonly nk: Int32Array;
  readonly ni: Int32Array;
}

/** Filters `len` keys at positions `base` + j (a chunk of the row). */
function filterRow(f: Filter, keys: Int32Array, base: number, len: number): void {
  const { shift, mask, t } = f;
  for (let j = 0; j < len; j++) {
    const key = keys[j]!;
    const d = (key >>> shift) & mask;
    if (d <= t) place(f, key, d, base + j);
  }
}

/** Filters `len` candidates (keys at positions `pos`). */
function filterCandidates(f: Filter, keys: Int32Array, pos: Int32Array, len: number): void {
  const { shift, mask, t } = f;
  for (let j = 0; j < len; j++) {
    const key = keys[j]!;
    const d = (key >>> shift) & mask;
    if (d <= t) place(f, key, d, pos[j]!);
  }
}

/** Where a key of digit `d` ≤ t goes: chosen, or a candidate for the next digit, or (digit t, enough taken) out. */
function place(f: Filter, key: number, d: number, p: number): void {
  if (d < f.t || f.takeT-- > 0) {
    f.keys[f.chosen] = key;
    f.idx[f.chosen++] = p;
  } else if (f.refine) {
    f.nk[f.m2] = key;
    f.ni[f.m2++] = p;
  }
}

/**
 * Adds the digits of `len` keys to `hist`. The select's loops are small functions of their own: one
 * function holding them all was deoptimized as its candidates changed type between digits.
 */
function count(hist: Int32Array, keys: Int32Array, len: number, shift: number, mask: number): void {
  for (let j = 0; j < len; j++) hist[(keys[j]! >>> shift) & mask]!++;
}

/** Keys computed at a time by a select's first pass (they stay in cache for its second). */
const CHUNK = 4096;

/**
 * The positions of the `k` (0 < k < n) smallest keys of the row of `n` elements of `x` from `at`,
 * the earlier position first among equal keys, sorted, written to `out` from `outAt`. The first
 * digit is counted and filtered from keys made a chunk at a time (the row's keys are never stored).
 */
function selectRow(fill: RowKeys, at: number, n: number, flip: number, k: number, s: SelectScratch, out: Int32Array, outAt: number): void {
  const chunk = s.chunk;
  const hist = s.hist;
  // chosen pairs go to (keys, idx); candidates are (ck, ci), in position order
  let chosen = 0;
  let ck: Int32Array | null = null; // null: the whole row (keys made from x)
  let ci: Int32Array | null = null;
  let m = n;
  for (let level = 0; level < SELECT_DIGITS.length; level++) {
    const [shift, width] = SELECT_DIGITS[level]!;
    const mask = (1 << width) - 1;
    hist.fill(0);
    if (ck) count(hist, ck, m, shift, mask);
    else {
      for (let c = 0; c < n; c += CHUNK) {
        const len = Math.min(CHUNK, n - c);
        fill(at + c, len, chunk, flip);
        count(hist, chunk, len, shift, mask);
      }
    }
    const needed = k - chosen;
    let t = 0;
    let below = 0;
    while (below + hist[t]! < needed) below += hist[t++]!;
    // how many of digit t are taken now: all when its bucket ends exactly at k; at the last digit
    // (equal keys: equal values) the earliest positions; otherwise none, they are refined next
    const last = level === SELECT_DIGITS.length - 1;
    const takeT = below + hist[t]! === needed || last ? needed - below : 0;
    const refine = takeT === 0;
    const nk = refine ? new Int32Array(hist[t]!) : s.keys;
    const ni = refine ? new Int32Array(hist[t]!) : s.idx;
    const f: Filter = { shift, mask, t, takeT, refine, chosen, m2: 0, keys: s.keys, idx: s.idx, nk, ni };
    if (ck) filterCandidates(f, ck, ci!, m);
    else {
      for (let c = 0; c < n; c += CHUNK) {
        const len = Math.min(CHUNK, n - c);
        fill(at + c, len, chunk, flip);
        filterRow(f, chunk, c, len);
      }
    }
    chosen = f.chosen;
    const m2 = f.m2;
    if (!refine) break;
    ck = nk;
    ci = ni;
    m = m2;
  }
  const sorted = radixSort(s.keys, s.idx, s.keys2, s.idx2, k);
  out.set(sorted.subarray(0, k), outAt);
}

/** Small k of long rows take the one-pass threshold select: below this k, and rows at least this many times k. */
const THRESHOLD_MAX_K = 1024;
const THRESHOLD_MIN_RATIO = 16;

/**
 * The same selection as selectRow in one pass over the row, for small k: candidates collect in a
 * buffer while their key is below the k-th smallest kept so far; a full buffer is radix-sorted and
 * cut to k, which lowers that threshold. Positions arrive in order, so a later key equal to the
 * threshold ranks after every kept one and is skipped.
 */
function thresholdRow(fill: RowKeys, at: number, n: number, flip: number, k: number, s: SelectScratch, out: Int32Array, outAt: number): void {
  const chunk = s.chunk;
  const cap = s.keys.length;
  let m = 0;
  // the threshold with its sign bit flipped (signed comparison of unsigned keys); none until the first cut
  let limit = 0x7fffffff;
  let cut = false;
  for (let c = 0; c < n; c += CHUNK) {
    const len = Math.min(CHUNK, n - c);
    fill(at + c, len, chunk, flip);
    for (let j = 0; j < len; j++) {
      const key = chunk[j]!;
      if (cut && (key ^ SIGN) >= limit) continue;
      s.keys[m] = key;
      s.idx[m++] = c + j;
      if (m === cap) {
        m = keepSmallest(s, m, k);
        limit = s.keys[k - 1]! ^ SIGN;
        cut = true;
      }
    }
  }
  m = keepSmallest(s, m, k);
  out.set(s.idx.subarray(0, k), outAt);
}

/** Sorts the first m candidates by (key, position) and keeps the first k in (keys, idx); returns min(m, k). */
function keepSmallest(s: Scratch, m: number, k: number): number {
  const sorted = radixSort(s.keys, s.idx, s.keys2, s.idx2, m);
  const kept = Math.min(m, k);
  if (sorted !== s.idx) {
    s.keys.set(s.keys2.subarray(0, kept));
    s.idx.set(s.idx2.subarray(0, kept));
  }
  return kept;
}

/** Rows of float64 or int64 (held in float64): sorted by comparison, NaN the largest, equal values by position. */
function compareRows(sh: SortShape, x: Storage, out: Int32Array): void {
  const { rows, n, k, descending } = sh;
  const order: number[] = new Array<number>(n);
  const sign = descending ? -1 : 1;
  for (let r = 0; r < rows; r++) {
    const at = r * n;
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => {
      const va = x[at + a]!;
      const vb = x[at + b]!;
      if (va === vb) return a - b;
      const na = Number.isNaN(va);
      const nb = Number.isNaN(vb);
      if (na || nb) return na && nb ? a - b : (na ? 1 : -1) * sign;
      return (va < vb ? -1 : 1) * sign;
    });
    for (let i = 0; i < k; i++) out[r * k + i] = order[i]!;
  }
}

const SORTABLE: ReadonlySet<DType> = new Set(['float32', 'float64', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']);

export const cpuSort: SortRoutine<CpuBuffer> = {
  supports: (sh) => SORTABLE.has(sh.dtype),
  run(sh, xb, outb) {
    const { rows, n, k, descending } = sh;
    const x = xb.data;
    const out = outb.data as Int32Array;
    if (rows === 0 || k === 0) return;
    const keysOf = KEYS[sh.dtype];
    if (!keysOf) return compareRows(sh, x, out);
    const fill = keysOf(x);
    const flip = descending ? -1 : 0;
    if (k < n) {
      const threshold = k <= THRESHOLD_MAX_K && n >= THRESHOLD_MIN_RATIO * k;
      // the threshold select's buffer holds k kept and as many again (at least a chunk) before a cut
      const s: SelectScratch = { ...scratchFor(threshold ? k + Math.max(k, CHUNK) : k), chunk: new Int32Array(Math.min(n, CHUNK)), hist: new Int32Array(1 << 11) };
      const select = threshold ? thresholdRow : selectRow;
      for (let r = 0; r < rows; r++) select(fill, r * n, n, flip, k, s, out, r * k);
      return;
    }
    const s = scratchFor(n);
    for (let r = 0; r < rows; r++) {
      fill(r * n, n, s.keys, flip);
      for (let i = 0; i < n; i++) s.idx[i] = i;
      const sorted = radixSort(s.keys, s.idx, s.keys2, s.idx2, n);
      out.set(sorted.subarray(0, n), r * n);
    }
  },
  describe: (sh) => (sh.k < sh.n ? `radix select of ${sh.k} in ${sh.rows} rows of ${sh.n}` : `radix sort of ${sh.rows} rows of ${sh.n}`),
};
