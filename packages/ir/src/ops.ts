/**
 * The primitive op set. Every frontend op (sub, div, exp, softmax, matmul…) decomposes into
 * these; backends and autograd only ever see this table.
 */

export type SourceOp = 'BUFFER' | 'CONST' | 'RAND' | 'ARANGE';
export type UnaryOp = 'NEG' | 'EXP2' | 'LOG2' | 'SIN' | 'SQRT' | 'RECIP' | 'TRUNC';
export type BinaryOp =
  | 'ADD'
  | 'MUL'
  | 'IDIV'
  | 'MOD'
  | 'MAX'
  | 'CMPLT'
  | 'CMPEQ'
  | 'AND'
  | 'OR'
  | 'XOR'
  | 'SHL'
  | 'SHR';
export type TernaryOp = 'WHERE';
export type CastOp = 'CAST' | 'BITCAST';
export type ReduceOp = 'REDUCE';
export type MovementOp = 'RESHAPE' | 'PERMUTE' | 'EXPAND' | 'PAD' | 'SHRINK' | 'FLIP';
export type EffectOp = 'CONTIGUOUS' | 'COPY' | 'ASSIGN' | 'DETACH' | 'DATA';
/**
 * Indexed memory access. GATHER is a load at a computed index (fuses into its consumer like an
 * elementwise op); SCATTER and SCAN each make a kernel of their own that walks one fiber (all
 * elements along the op's axis) per thread, in order, so their sums are deterministic.
 */
export type IndexOp = 'GATHER' | 'SCATTER' | 'SCAN';

export type Op = SourceOp | UnaryOp | BinaryOp | TernaryOp | CastOp | ReduceOp | MovementOp | EffectOp | IndexOp;

export type OpKind = 'source' | 'unary' | 'binary' | 'ternary' | 'cast' | 'reduce' | 'movement' | 'effect' | 'index';

export type ReduceKind = 'add' | 'mul' | 'max';
/** How SCATTER combines a written value with what is there: 'none' overwrites. */
export type ScatterReduce = 'none' | 'add' | 'mul';

export interface OpInfo {
  readonly kind: OpKind;
  /** Number of sources. */
  readonly arity: number;
  /** Result is bool regardless of the input dtype. */
  readonly boolResult?: boolean;
  /** Accepts only integer/bool inputs. */
  readonly intOnly?: boolean;
  /** Accepts only floating inputs. */
  readonly floatOnly?: boolean;
}

export const OPS: Readonly<Record<Op, OpInfo>> = {
  BUFFER: { kind: 'source', arity: 0 },
  CONST: { kind: 'source', arity: 0 },
  RAND: { kind: 'source', arity: 0 },
  ARANGE: { kind: 'source', arity: 0 },
  NEG: { kind: 'unary', arity: 1 },
  EXP2: { kind: 'unary', arity: 1, floatOnly: true },
  LOG2: { kind: 'unary', arity: 1, floatOnly: true },
  SIN: { kind: 'unary', arity: 1, floatOnly: true },
  SQRT: { kind: 'unary', arity: 1, floatOnly: true },
  RECIP: { kind: 'unary', arity: 1, floatOnly: true },
  TRUNC: { kind: 'unary', arity: 1, floatOnly: true },
  ADD: { kind: 'binary', arity: 2 },
  MUL: { kind: 'binary', arity: 2 },
  IDIV: { kind: 'binary', arity: 2, intOnly: true },
  MOD: { kind: 'binary', arity: 2 },
  MAX: { kind: 'binary', arity: 2 },
  CMPLT: { kind: 'binary', arity: 2, boolResult: true },
  CMPEQ: { kind: 'binary', arity: 2, boolResult: true },
  AND: { kind: 'binary', arity: 2, intOnly: true },
  OR: { kind: 'binary', arity: 2, intOnly: true },
  XOR: { kind: 'binary', arity: 2, intOnly: true },
  SHL: { kind: 'binary', arity: 2, intOnly: true },
  SHR: { kind: 'binary', arity: 2, intOnly: true },
  WHERE: { kind: 'ternary', arity: 3 },
  CAST: { kind: 'cast', arity: 1 },
  BITCAST: { kind: 'cast', arity: 1 },
  REDUCE: { kind: 'reduce', arity: 1 },
  RESHAPE: { kind: 'movement', arity: 1 },
  PERMUTE: { kind: 'movement', arity: 1 },
  EXPAND: { kind: 'movement', arity: 1 },
  PAD: { kind: 'movement', arity: 1 },
  SHRINK: { kind: 'movement', arity: 1 },
  FLIP: { kind: 'movement', arity: 1 },
  CONTIGUOUS: { kind: 'effect', arity: 1 },
  COPY: { kind: 'effect', arity: 1 },
  ASSIGN: { kind: 'effect', arity: 2 },
  DETACH: { kind: 'effect', arity: 1 },
  GATHER: { kind: 'index', arity: 2 },
  SCATTER: { kind: 'index', arity: 3 },
  SCAN: { kind: 'index', arity: 1 },
  /** The value of src[0], the gradient of src[1]: contents changed outside autograd (through `.data` or a detached alias). */
  DATA: { kind: 'effect', arity: 2 },
};

export const opKind = (op: Op): OpKind => OPS[op].kind;
export const isElementwise = (op: Op): boolean => {
  const k = OPS[op].kind;
  return k === 'unary' || k === 'binary' || k === 'ternary' || k === 'cast';
};
export const isMovement = (op: Op): boolean => OPS[op].kind === 'movement';

/** The identity element each reduction starts from. */
export const REDUCE_IDENTITY: Readonly<Record<ReduceKind, number>> = {
  add: 0,
  mul: 1,
  max: -Infinity,
};
