/** Element types, their storage, and PyTorch's type-promotion rules. */

export type DType =
  | 'bool'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'bfloat16'
  | 'float32'
  | 'float64';

export type DTypeCategory = 'bool' | 'int' | 'float';

export interface DTypeInfo {
  readonly name: DType;
  readonly category: DTypeCategory;
  readonly itemsize: number;
  /** Name as PyTorch prints it after `torch.`. */
  readonly torchName: string;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  bool: { name: 'bool', category: 'bool', itemsize: 1, torchName: 'bool' },
  uint8: { name: 'uint8', category: 'int', itemsize: 1, torchName: 'uint8' },
  int8: { name: 'int8', category: 'int', itemsize: 1, torchName: 'int8' },
  int16: { name: 'int16', category: 'int', itemsize: 2, torchName: 'int16' },
  int32: { name: 'int32', category: 'int', itemsize: 4, torchName: 'int32' },
  int64: { name: 'int64', category: 'int', itemsize: 8, torchName: 'int64' },
  float16: { name: 'float16', category: 'float', itemsize: 2, torchName: 'float16' },
  bfloat16: { name: 'bfloat16', category: 'float', itemsize: 2, torchName: 'bfloat16' },
  float32: { name: 'float32', category: 'float', itemsize: 4, torchName: 'float32' },
  float64: { name: 'float64', category: 'float', itemsize: 8, torchName: 'float64' },
};

/** Aliases PyTorch users type: `torch.long`, `torch.float`, `'torch.int32'`. */
const ALIASES: Readonly<Record<string, DType>> = {
  float: 'float32',
  double: 'float64',
  half: 'float16',
  long: 'int64',
  int: 'int32',
  short: 'int16',
  byte: 'uint8',
  char: 'int8',
};

export class DTypeError extends TypeError {
  override name = 'DTypeError';
}

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, x);
}

/** Accepts a dtype name, an alias (`'long'`) or a `'torch.'`-prefixed name; throws on anything else. */
export function parseDType(x: unknown): DType {
  if (typeof x === 'string') {
    const s = x.startsWith('torch.') ? x.slice(6) : x;
    if (isDType(s)) return s;
    if (Object.prototype.hasOwnProperty.call(ALIASES, s)) return ALIASES[s]!;
  }
  throw new DTypeError(
    `unknown dtype ${JSON.stringify(x)}; expected one of ${Object.keys(DTYPES).join(', ')} (or an alias: ${Object.keys(ALIASES).join(', ')})`,
  );
}

export const isFloat = (d: DType): boolean => DTYPES[d].category === 'float';
export const isInt = (d: DType): boolean => DTYPES[d].category === 'int';
export const isBool = (d: DType): boolean => d === 'bool';
export const itemsize = (d: DType): number => DTYPES[d].itemsize;

const CATEGORY_RANK: Readonly<Record<DTypeCategory, number>> = { bool: 0, int: 1, float: 2 };

/** torch.promote_types: the smallest dtype both a and b convert to safely. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const ca = DTYPES[a].category;
  const cb = DTYPES[b].category;
  if (ca !== cb) return CATEGORY_RANK[ca] > CATEGORY_RANK[cb] ? a : b;
  if (ca === 'float') {
    if ((a === 'float16' && b === 'bfloat16') || (a === 'bfloat16' && b === 'float16')) return 'float32';
    return DTYPES[a].itemsize >= DTYPES[b].itemsize ? a : b;
  }
  // integers: uint8 mixes with signed types by widening to the next signed type.
  if (a === 'uint8' || b === 'uint8') {
    const other = a === 'uint8' ? b : a;
    return other === 'int8' ? 'int16' : other;
  }
  return DTYPES[a].itemsize >= DTYPES[b].itemsize ? a : b;
}

/** One operand of an op, as torch.result_type sees it. */
export type Operand =
  | { kind: 'tensor'; dtype: DType; dim: number }
  | { kind: 'scalar'; value: number | boolean | bigint };

export const defaultFloat: DType = 'float32';

function scalarDType(v: number | boolean | bigint): DType {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int64';
  return Number.isInteger(v) ? 'int64' : defaultFloat;
}

/**
 * torch.result_type: dimensioned tensors decide first; zero-dim tensors, then Python scalars,
 * only win when their category (bool < int < float) is higher.
 */
export function resultType(...operands: readonly Operand[]): DType {
  let dimmed: DType | undefined;
  let zeroDim: DType | undefined;
  let scalar: DType | undefined;
  for (const op of operands) {
    if (op.kind === 'scalar') {
      const d = scalarDType(op.value);
      scalar = scalar === undefined ? d : promoteTypes(scalar, d);
    } else if (op.dim === 0) {
      zeroDim = zeroDim === undefined ? op.dtype : promoteTypes(zeroDim, op.dtype);
    } else {
      dimmed = dimmed === undefined ? op.dtype : promoteTypes(dimmed, op.dtype);
    }
  }
  let result = dimmed;
  for (const next of [zeroDim, scalar]) {
    if (next === undefined) continue;
    if (result === undefined) {
      result = next;
    } else if (CATEGORY_RANK[DTYPES[next].category] > CATEGORY_RANK[DTYPES[result].category]) {
      // a scalar of a higher category takes the default dtype of that category
      result = next === scalar && DTYPES[next].category === 'float' ? defaultFloat : next;
    }
  }
  if (result === undefined) throw new DTypeError('resultType needs at least one operand');
  return result;
}

/** The JavaScript typed array that holds a dtype on the host. int64 uses BigInt64Array. */
export type HostArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Float32Array
  | Float64Array;

export function hostArray(dtype: DType, length: number): HostArray {
  switch (dtype) {
    case 'bool':
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(length);
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
  }
}
