// Tensor printing, a line-for-line port of torch 1.13's torch/_tensor_str.py so that
// `String(t)` in fusor reads exactly like `str(t)` in PyTorch. Pure: no fusor imports,
// it sees only flat row-major values, a shape and a dtype name.

export type FormatDType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int32'
  | 'int64'
  | 'int8'
  | 'uint8'
  | 'bool';

export interface PrintOptions {
  precision: number;
  threshold: number;
  edgeitems: number;
  linewidth: number;
  sciMode: boolean | null;
}

export type PrintProfile = 'default' | 'short' | 'full';

const PROFILES: Record<PrintProfile, Omit<PrintOptions, 'sciMode'>> = {
  default: { precision: 4, threshold: 1000, edgeitems: 3, linewidth: 80 },
  short: { precision: 2, threshold: 1000, edgeitems: 2, linewidth: 80 },
  full: { precision: 4, threshold: Infinity, edgeitems: 3, linewidth: 80 },
};

const opts: PrintOptions = { ...PROFILES.default, sciMode: null };

/**
 * torch.set_printoptions: a profile first, then any explicit field. As in PyTorch, every
 * call resets `sciMode` to its given value (null when omitted).
 */
export function setPrintOptions(options: Partial<PrintOptions> & { profile?: PrintProfile }): void {
  if (options.profile !== undefined) Object.assign(opts, PROFILES[options.profile]);
  if (options.precision !== undefined) opts.precision = options.precision;
  if (options.threshold !== undefined) opts.threshold = options.threshold;
  if (options.edgeitems !== undefined) opts.edgeitems = options.edgeitems;
  if (options.linewidth !== undefined) opts.linewidth = options.linewidth;
  opts.sciMode = options.sciMode ?? null;
}

export function getPrintOptions(): PrintOptions {
  return { ...opts };
}

type Scalar = number | bigint | boolean;

const FLOATING: ReadonlySet<FormatDType> = new Set(['float32', 'float64', 'float16', 'bfloat16']);
// Dtypes PyTorch does not name in a non-empty tensor's repr: they are what `torch.tensor`
// infers from Python floats, ints and bools.
const INFERRED: ReadonlySet<FormatDType> = new Set(['float32', 'int64', 'bool']);
const DEFAULT_DTYPE: FormatDType = 'float32';

/**
 * PyTorch's `str(t)` / `repr(t)`. `suffixes` are the items PyTorch appends after the data
 * that this function cannot know (device, grad_fn, requires_grad); size and dtype items
 * are derived here and placed where PyTorch puts them (after device, before grad).
 */
export function formatTensor(
  values: ArrayLike<Scalar>,
  shape: readonly number[],
  dtype: FormatDType,
  suffixes: readonly string[] = [],
): string {
  const prefix = 'tensor(';
  const indent = prefix.length;
  const numel = shape.reduce((a, b) => a * b, 1);

  const device = suffixes.filter((s) => s.startsWith('device='));
  const derived: string[] = [];
  let body: string;
  if (numel === 0) {
    // No elements to infer the dtype or shape from, so PyTorch shows them explicitly.
    if (shape.length !== 1) derived.push(`size=${pyTuple(shape)}`);
    if (dtype !== DEFAULT_DTYPE) derived.push(`dtype=torch.${dtype}`);
    body = '[]';
  } else {
    if (!INFERRED.has(dtype)) derived.push(`dtype=torch.${dtype}`);
    body = tensorStr(values, shape, dtype, indent);
  }
  const rest = suffixes.filter((s) => !s.startsWith('device='));
  return addSuffixes(prefix + body, [...device, ...derived, ...rest], indent);
}

function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function addSuffixes(tensorStr: string, suffixes: readonly string[], indent: number): string {
  // PyTorch's count (one past the true last-line length) is kept as is: it decides wrapping.
  let lastLineLen = tensorStr.length - tensorStr.lastIndexOf('\n') + 1;
  let out = tensorStr;
  for (const suffix of suffixes) {
    if (lastLineLen + suffix.length + 2 > opts.linewidth) {
      out += `,\n${' '.repeat(indent)}${suffix}`;
      lastLineLen = indent + suffix.length;
    } else {
      out += `, ${suffix}`;
      lastLineLen += suffix.length + 2;
    }
  }
  return `${out})`;
}

// ---- layout ---------------------------------------------------------------------------

/** The indices of one dimension that get printed: all, or the edges around a `...`. */
function shownIndices(size: number, summarize: boolean): { head: number[]; tail: number[]; cut: boolean } {
  const edge = opts.edgeitems;
  if (!(summarize && size > 2 * edge)) return { head: range(0, size), tail: [], cut: false };
  // Python's `self[-0:]` is the whole dimension; mirrored so edgeitems=0 prints like PyTorch.
  const tailStart = edge === 0 ? 0 : size - edge;
  return { head: range(0, edge), tail: range(tailStart, size), cut: true };
}

function range(start: number, end: number): number[] {
  const r: number[] = [];
  for (let i = start; i < end; i++) r.push(i);
  return r;
}

function tensorStr(values: ArrayLike<Scalar>, shape: readonly number[], dtype: FormatDType, indent: number): string {
  const summarize = shape.reduce((a, b) => a * b, 1) > opts.threshold;
  const strides: number[] = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = acc;
    acc *= shape[d]!;
  }

  // The formatter sees only the elements that will be printed (get_summarized_data).
  const shown: Scalar[] = [];
  const collect = (dim: number, offset: number): void => {
    if (dim === shape.length) {
      shown.push(values[offset]!);
      return;
    }
    const { head, tail } = shownIndices(shape[dim]!, summarize);
    for (const i of [...head, ...tail]) collect(dim + 1, offset + i * strides[dim]!);
  };
  collect(0, 0);
  const fmt = new Formatter(shown, dtype);

  const render = (dim: number, offset: number, ind: number): string => {
    const rank = shape.length - dim;
    if (rank === 0) return fmt.format(values[offset]!);
    const { head, tail, cut } = shownIndices(shape[dim]!, summarize);
    if (rank === 1) {
      const cell = (i: number): string => fmt.format(values[offset + i * strides[dim]!]!);
      const data = cut ? [...head.map(cell), ' ...', ...tail.map(cell)] : head.map(cell);
      const perLine = Math.max(1, Math.floor((opts.linewidth - ind) / (fmt.maxWidth + 2)));
      const lines: string[] = [];
      for (let i = 0; i < data.length; i += perLine) lines.push(data.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(ind + 1)}`)}]`;
    }
    const sub = (i: number): string => render(dim + 1, offset + i * strides[dim]!, ind + 1);
    const slices = cut ? [...head.map(sub), '...', ...tail.map(sub)] : head.map(sub);
    return `[${slices.join(`,${'\n'.repeat(rank - 1)}${' '.repeat(ind + 1)}`)}]`;
  };
  return render(0, 0, indent);
}

// ---- element formatting (torch's _Formatter) --------------------------------------------

class Formatter {
  readonly floating: boolean;
  readonly dtype: FormatDType;
  intMode = true;
  sciMode = false;
  maxWidth = 1;

  constructor(shown: readonly Scalar[], dtype: FormatDType) {
    this.dtype = dtype;
    this.floating = FLOATING.has(dtype);
    if (!this.floating) {
      for (const v of shown) this.maxWidth = Math.max(this.maxWidth, formatIntegral(v, dtype).length);
      return;
    }
    const nz = shown.map(Number).filter((v) => Number.isFinite(v) && v !== 0);
    // PyTorch returns before applying a forced sci_mode when nothing is nonzero and finite.
    if (nz.length === 0) return;
    let min = Infinity;
    let max = 0;
    for (const v of nz) {
      const a = Math.abs(v);
      if (a < min) min = a;
      if (a > max) max = a;
    }
    this.intMode = nz.every((v) => v === Math.ceil(v));
    const p = opts.precision;
    const widen = (len: number): void => {
      this.maxWidth = Math.max(this.maxWidth, len);
    };
    if (this.intMode) {
      if (max / min > 1000 || max > 1e8) {
        this.sciMode = true;
        for (const v of nz) widen(pyExp(v, p).length);
      } else {
        // +1 for the '.' that marks integral floats.
        for (const v of nz) widen(pyFixed(v, 0).length + 1);
      }
    } else if (max / min > 1000 || max > 1e8 || min < 1e-4) {
      this.sciMode = true;
      for (const v of nz) widen(pyExp(v, p).length);
    } else {
      for (const v of nz) widen(pyFixed(v, p).length);
    }
    if (opts.sciMode !== null) this.sciMode = opts.sciMode;
  }

  format(value: Scalar): string {
    let ret: string;
    if (this.floating) {
      const v = Number(value);
      if (this.sciMode) ret = pyExp(v, opts.precision);
      else if (this.intMode) ret = pyFixed(v, 0) + (Number.isFinite(v) ? '.' : '');
      else ret = pyFixed(v, opts.precision);
    } else {
      ret = formatIntegral(value, this.dtype);
    }
    return ret.padStart(this.maxWidth, ' ');
  }
}

/** Python's `'{}'.format(item)` for an integer or bool element. */
function formatIntegral(value: Scalar, dtype: FormatDType): string {
  if (dtype === 'bool' || typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return value.toString();
  // BigInt keeps large integral doubles out of JS's exponent notation.
  return Number.isInteger(value) ? BigInt(value).toString() : String(Math.trunc(value));
}

// ---- Python float formatting -------------------------------------------------------------
// JS's toFixed/toExponential round ties away from zero and switch notation above 1e21;
// Python rounds the exact binary value half-to-even and never switches. Both are done here
// exactly with BigInt arithmetic on the double's mantissa and exponent.

const f64 = new DataView(new ArrayBuffer(8));

/** |x| = mant * 2^exp exactly, for finite x. */
function decompose(x: number): { mant: bigint; exp: number } {
  f64.setFloat64(0, x);
  const hi = f64.getUint32(0);
  const lo = f64.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return { mant: frac, exp: -1074 };
  return { mant: frac | (1n << 52n), exp: biased - 1075 };
}

/** Round num/den to the nearest integer, ties to even. */
function roundHalfEven(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function nonFinite(x: number): string | null {
  if (Number.isNaN(x)) return 'nan'; // Python drops the sign of a NaN
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return null;
}

function signOf(x: number): string {
  return x < 0 || Object.is(x, -0) ? '-' : '';
}

/** Python's `'{:.<p>f}'.format(x)`. */
function pyFixed(x: number, p: number): string {
  const special = nonFinite(x);
  if (special !== null) return special;
  const { mant, exp } = decompose(x);
  const scale = 10n ** BigInt(p);
  const n = exp >= 0 ? (mant << BigInt(exp)) * scale : roundHalfEven(mant * scale, 1n << BigInt(-exp));
  const digits = n.toString().padStart(p + 1, '0');
  const body = p > 0 ? `${digits.slice(0, -p)}.${digits.slice(-p)}` : digits;
  return signOf(x) + body;
}

/** Python's `'{:.<p>e}'.format(x)`. */
function pyExp(x: number, p: number): string {
  const special = nonFinite(x);
  if (special !== null) return special;
  let digits: string;
  let e10: number;
  if (x === 0) {
    digits = '0'.repeat(p + 1);
    e10 = 0;
  } else {
    const { mant, exp } = decompose(x);
    const num = exp >= 0 ? mant << BigInt(exp) : mant;
    const den = exp >= 0 ? 1n : 1n << BigInt(-exp);
    // Estimate the decimal exponent, then correct it so 10^e10 <= |x| < 10^(e10+1).
    e10 = Math.floor(Math.log10(Math.abs(x)));
    const below = (e: number): boolean => (e >= 0 ? num < den * 10n ** BigInt(e) : num * 10n ** BigInt(-e) < den);
    while (below(e10)) e10--;
    while (!below(e10 + 1)) e10++;
    const shift = p - e10;
    let n = shift >= 0 ? roundHalfEven(num * 10n ** BigInt(shift), den) : roundHalfEven(num, den * 10n ** BigInt(-shift));
    if (n >= 10n ** BigInt(p + 1)) {
      n /= 10n; // rounded up to the next power of ten; the dropped digit is 0
      e10++;
    }
    digits = n.toString();
  }
  const mantissa = p > 0 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const expText = `${e10 < 0 ? '-' : '+'}${String(Math.abs(e10)).padStart(2, '0')}`;
  return `${signOf(x)}${mantissa}e${expText}`;
}
