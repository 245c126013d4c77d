/**
 * Named skips. Nothing is skipped silently: a check is skipped only by a rule that says why —
 * a dtype the backend's capabilities lack, a backend's own rule, or a known bug below (each
 * with the reproduction it was reported with).
 */
import type { DType } from '@fusor/ir';
import type { Case } from './fixtures.js';

/** What one case checks, each registered as its own test. */
export type Check =
  /** Outputs against PyTorch: values, shapes, dtypes. */
  | 'values'
  /** Gradients of loss = Σ (out · w).sum() against PyTorch's. */
  | 'grad'
  /** The compiled (fused) result against the reference interpreter on the same IR node. */
  | 'interpret'
  /** PyTorch's error message for bad input. */
  | 'error';

export interface SkipRule {
  /** A case id, a RegExp tested against ids, or a predicate. */
  readonly match: string | RegExp | ((c: Case) => boolean);
  /** The checks it skips (default: every check of the case). */
  readonly checks?: readonly Check[];
  /** Shown in the skipped test's name. */
  readonly reason: string;
  /** Devices it applies to (default: all). */
  readonly devices?: readonly string[];
}

function matches(rule: SkipRule, c: Case, check: Check, device: string): boolean {
  if (rule.devices && !rule.devices.includes(device.split(':')[0]!)) return false;
  if (rule.checks && !rule.checks.includes(check)) return false;
  const m = rule.match;
  return typeof m === 'string' ? m === c.id : m instanceof RegExp ? m.test(c.id) : m(c);
}

/** Every dtype a case builds or expects. */
export function dtypesOf(c: Case): Set<DType> {
  const out = new Set<DType>();
  for (const s of c.inputs) if ('dtype' in s) out.add(s.dtype);
  for (const o of c.outputs ?? []) out.add(o.dtype);
  const d = c.args?.['dtype'];
  if (typeof d === 'string') out.add(d as DType);
  return out;
}

/**
 * Bugs found by this suite outside the frontend (compiler, backends, IR), skipped by name until
 * fixed. Each reason starts with "known bug:" and says where the bug is.
 */
export const KNOWN_BUGS: readonly SkipRule[] = [
  {
    // e.g. x = tensor([0.]) requiring grad: x.pow(1/3) gives grad 0 where PyTorch gives ∞
    match: (c) => ['pow/f32^-0.5', 'pow/f32^1/3', 'pow/neg_base^tensor', 'pow/f64^f64_edge'].includes(c.id),
    checks: ['grad'],
    reason:
      'known bug: the gradient of pow at x = ±0 with y < 1 and at x = ±∞ (an infinite or 0·∞ slope) differs from PyTorch: the frontend decomposes pow into exp2(y·log2|x|) and needs a POW primitive with its own gradient rule (@fusor/ir, @fusor/autograd)',
  },
];

/**
 * Ops whose result size depends on the data (nonzero, boolean-mask indexing, one_hot that
 * infers its class count) have a sync form only where reads are synchronous; elsewhere their
 * async forms (`nonzeroAsync`, `indexAsync`) are tested by packages/tensor/test/indexing.test.ts.
 */
export const SYNC_READ_ONLY: readonly SkipRule[] = [
  {
    match: (c) =>
      c.op === 'nonzero' ||
      (c.op === 'oneHot' && c.args?.['n'] === undefined) ||
      ((c.op === 'indexT' || c.op === 'set') && c.inputs.some((s) => 'dtype' in s && s.dtype === 'bool')),
    reason: 'data-dependent shape: the sync form needs synchronous reads (the async form is tested in @fusor/tensor)',
  },
];

/** Why this check of this case is skipped on `device`, or undefined to run it. */
export function skipReason(
  c: Case,
  check: Check,
  device: string,
  supported: readonly DType[],
  rules: readonly SkipRule[],
): string | undefined {
  const backendName = device.split(':')[0]!;
  const missing = [...dtypesOf(c)].filter((d) => !supported.includes(d));
  if (missing.length) return `${missing.join(', ')} not supported by ${backendName}`;
  for (const r of [...rules, ...KNOWN_BUGS]) if (matches(r, c, check, device)) return r.reason;
  return undefined;
}
