/**
 * Kernel IR → JavaScript. The readable path: one function per kernel, a loop over the output,
 * float32 results rounded after every op (Math.fround) so the numbers match a float32 machine,
 * integers wrapped to their width. int64 values live in float64 storage (exact within ±2^53).
 */
import { isFloat, type DType } from '@fusor/ir';
import { C_LIKE, cLike, fitsInt32, opTable, spells, withFallbacks, type AluOp, type Expr, type Kernel, type Stmt } from '@fusor/compiler';

const num = (v: number): string => (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : String(v));

/** Wraps an integer-valued JS expression to a dtype's width. */
const WRAP: Readonly<Partial<Record<DType, (s: string) => string>>> = {
  int32: (s) => `((${s}) | 0)`,
  int16: (s) => `((${s}) << 16 >> 16)`,
  int8: (s) => `((${s}) << 24 >> 24)`,
  uint8: (s) => `((${s}) & 255)`,
  bool: (s) => `((${s}) !== 0 ? 1 : 0)`,
};

/** Rounds a float result to its dtype. */
const ROUND: Readonly<Partial<Record<DType, (s: string) => string>>> = {
  float32: (s) => `Math.fround(${s})`,
};

const fix = (dtype: DType, s: string): string => (isFloat(dtype) ? (ROUND[dtype] ?? ((x: string) => x))(s) : (WRAP[dtype] ?? ((x: string) => x))(s));

type Render = (a: readonly string[], dtype: DType, srcDtype: DType) => string;

/** JavaScript's math functions live on Math. */
const JS = cLike((fn) => `Math.${fn}`);

/** Where JavaScript differs from C: these ops' operands become JavaScript here, before rounding/wrapping. */
const OWN: Readonly<Partial<Record<AluOp, Render>>> = {
  EXP2: ([a]) => `(2 ** ${a})`,
  MUL: (a, d) => (d === 'int32' ? `Math.imul(${a[0]}, ${a[1]})` : JS.MUL(a)),
  IDIV: ([a, b]) => `idiv(${a}, ${b})`,
  MOD: (a, d) => (isFloat(d) ? JS.MOD(a) : `imod(${a[0]}, ${a[1]})`),
  CMPLT: ([a, b]) => `(${a} < ${b} ? 1 : 0)`,
  CMPEQ: ([a, b]) => `(${a} === ${b} ? 1 : 0)`,
  // int64 lives in float64 storage: bitwise ops through BigInt, shifts as multiplication
  AND: (a, d) => (d === 'int64' ? `big(${a[0]}, ${a[1]}, 0)` : JS.AND(a)),
  OR: (a, d) => (d === 'int64' ? `big(${a[0]}, ${a[1]}, 1)` : JS.OR(a)),
  XOR: (a, d) => (d === 'int64' ? `big(${a[0]}, ${a[1]}, 2)` : JS.XOR(a)),
  SHL: (a, d) => (d === 'int64' ? `(${a[0]} * 2 ** ${a[1]})` : JS.SHL(a)),
  SHR: (a, d) => (d === 'int64' ? `Math.floor(${a[0]} / 2 ** ${a[1]})` : JS.SHR(a)),
};
/** Every ALU op: C-like where JavaScript is. */
const ALU: Readonly<Record<AluOp, Render>> = opTable<Render>(OWN, (base) => (a) => base(a), JS);
/** A math function JavaScript lacks (Math has no erf) is rendered by the op's fallback. */
const NATIVE = spells(OWN, (fn) => typeof (Math as unknown as Record<string, unknown>)[fn] === 'function');

/** Ops whose JavaScript result is already exact for the dtype (no rounding or wrapping needed). */
const EXACT: ReadonlySet<AluOp> = new Set(['CMPLT', 'CMPEQ', 'WHERE', 'MAX', 'TRUNC', 'AND', 'OR', 'XOR', 'IDIV']);

function castTo(from: DType, to: DType, s: string): string {
  if (to === 'bool') return `(${s} !== 0 ? 1 : 0)`;
  if (isFloat(to)) return fix(to, s);
  if (isFloat(from)) {
    // float → int truncates toward zero; NaN becomes 0
    const t = to === 'int64' ? `ftoi(${s})` : `(${s} | 0)`;
    return to === 'int64' || to === 'int32' ? t : fix(to, t);
  }
  return fix(to, s);
}

const BITCAST: Readonly<Record<string, string>> = {
  'float32>int32': 'f32toi32',
  'int32>float32': 'i32tof32',
  'float64>int64': 'f64toi64',
  'int64>float64': 'i64tof64',
};

/** Helpers every kernel may call; defined once per compiled function. */
export const PRELUDE = `
const idiv = (a, b) => (b === 0 ? 0 : Math.trunc(a / b));
const imod = (a, b) => (b === 0 ? 0 : a % b);
const ftoi = (x) => (x !== x ? 0 : Math.trunc(x));
const big = (a, b, op) => { const x = BigInt(a), y = BigInt(b); return Number(BigInt.asIntN(64, op === 0 ? x & y : op === 1 ? x | y : x ^ y)); };
const dv = new DataView(new ArrayBuffer(8));
const f32toi32 = (x) => (dv.setFloat32(0, x, true), dv.getInt32(0, true));
const i32tof32 = (x) => (dv.setInt32(0, x, true), dv.getFloat32(0, true));
const f64toi64 = (x) => (dv.setFloat64(0, x, true), Number(dv.getBigInt64(0, true)));
const i64tof64 = (x) => (dv.setBigInt64(0, BigInt(x), true), dv.getFloat64(0, true));
const pcg = (v) => { const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0; const w = Math.imul(((s >>> (((s >>> 28) + 4) >>> 0)) ^ s) >>> 0, 277803737) >>> 0; return ((w >>> 22) ^ w) >>> 0; };
const uniform = (seed, counter) => (pcg((pcg(counter >>> 0) ^ (seed >>> 0)) >>> 0) >>> 8) * 5.960464477539063e-8;
`;

/** Index arithmetic whose range is known to fit in int32 needs no wrapping: render it plainly. */
const INDEX_OPS: ReadonlySet<AluOp> = new Set(['ADD', 'MUL', 'MOD']);

function indexMath(e: Extract<Expr, { k: 'alu' }>): string | undefined {
  if (!fitsInt32(e) || !e.src.every(fitsInt32)) return undefined;
  const args = e.src.map(renderExpr);
  if (e.op === 'IDIV' && e.src[0]!.min >= 0 && e.src[1]!.min > 0) return `Math.floor(${args[0]} / ${args[1]})`;
  return INDEX_OPS.has(e.op) ? C_LIKE[e.op](args) : undefined;
}

export function renderExpr(e: Expr): string {
  switch (e.k) {
    case 'const':
      return num(e.value);
    case 'gid':
      return 'gid';
    case 'ridx':
      return `r${e.i}`;
    case 'var':
      return `v[${e.i}]`;
    case 'local':
      return e.name;
    case 'load': {
      const l = `b${e.buf}[${renderExpr(e.idx)}]`;
      return e.valid ? `(${renderExpr(e.valid)} ? ${l} : 0)` : l;
    }
    case 'rand':
      return fix(e.dtype, `uniform(${renderExpr(e.seed)}, ${renderExpr(e.counter)})`);
    case 'cast': {
      if (e.bitcast) {
        const fn = BITCAST[`${e.src.dtype}>${e.dtype}`];
        if (!fn) throw new Error(`bitcast ${e.src.dtype} → ${e.dtype} is not supported by the cpu backend`);
        return `${fn}(${renderExpr(e.src)})`;
      }
      return castTo(e.src.dtype, e.dtype, renderExpr(e.src));
    }
    case 'alu': {
      const plain = indexMath(e);
      if (plain) return plain;
      const srcDtype = e.src[e.op === 'WHERE' ? 1 : 0]!.dtype;
      const js = ALU[e.op](e.src.map(renderExpr), e.dtype, srcDtype);
      return EXACT.has(e.op) ? js : fix(e.dtype, js);
    }
  }
}

function renderStmts(stmts: readonly Stmt[], ind: string, out: string[]): void {
  // accumulators declared in this block whose loop has not closed yet
  let open: Extract<Stmt, { k: 'acc' }>[] = [];
  for (const s of stmts) {
    switch (s.k) {
      case 'let':
        out.push(`${ind}const ${s.name} = ${renderExpr(s.expr)};`);
        break;
      case 'acc':
        out.push(`${ind}let ${s.name} = ${num(s.init)};`);
        open.push(s);
        break;
      case 'loop':
        out.push(`${ind}for (let r${s.ridx} = 0; r${s.ridx} < ${s.n}; r${s.ridx}++) {`);
        renderStmts(s.body, `${ind}  `, out);
        out.push(`${ind}}`);
        // a float accumulator ran in float64 inside its loop: its value is the rounded sum
        for (const a of open) {
          const round = ROUND[a.dtype];
          if (round) out.push(`${ind}${a.name} = ${round(a.name)};`);
        }
        open = [];
        break;
      case 'update': {
        const v = renderExpr(s.expr);
        // float accumulators run in float64 and are rounded once their loop ends
        const wrap = (x: string): string => (isFloat(s.expr.dtype) ? x : fix(s.expr.dtype, x));
        const upd =
          s.op === 'add'
            ? wrap(`${s.name} + ${v}`)
            : s.op === 'mul'
              ? s.expr.dtype === 'int32'
                ? `Math.imul(${s.name}, ${v})`
                : wrap(`${s.name} * ${v}`)
              : `Math.max(${s.name}, ${v})`;
        out.push(`${ind}${s.name} = ${upd};`);
        break;
      }
      case 'store':
        out.push(`${ind}b${s.buf}[${renderExpr(s.idx)}] = ${renderExpr(s.expr)};`);
        break;
    }
  }
}

/** The kernel as the body of `function (b0, b1, …, v)`. */
export function renderJs(k: Kernel): string {
  const kernel = withFallbacks(k, NATIVE);
  const out: string[] = [`// ${kernel.name}`, `for (let gid = 0; gid < ${kernel.size}; gid++) {`];
  renderStmts(kernel.body, '  ', out);
  out.push('}');
  return out.join('\n');
}

/**
 * A GEMM epilogue (compiler backend.ts `GemmEpilogue`) as the body of
 * `function (b0, oc, m, n, rs, cs, b1, …)`: each element of the m × n block of C (`b0`) at `oc`
 * (row stride `rs`, column stride `cs`) replaced by the epilogue of its value, in place.
 */
export function renderJsEpilogue(epilogue: Kernel): string {
  const k = withFallbacks(epilogue, NATIVE);
  const store = k.body[k.body.length - 1];
  if (store?.k !== 'store' || k.body.slice(0, -1).some((s) => s.k !== 'let'))
    throw new Error('internal: a gemm epilogue is a list of lets and one store');
  const out = [
    'for (let fusor_i = 0; fusor_i < m; fusor_i++) {',
    '  for (let fusor_j = 0, gid = oc + fusor_i * rs; fusor_j < n; fusor_j++, gid += cs) {',
    '    const acc = b0[gid];',
  ];
  renderStmts(k.body.slice(0, -1), '    ', out);
  out.push(`    b0[gid] = ${renderExpr(store.expr)};`, '  }', '}');
  return out.join('\n');
}
