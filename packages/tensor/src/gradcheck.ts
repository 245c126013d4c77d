/**
 * torch.autograd.gradcheck: compares the analytical Jacobian (from autograd) with a numerical one
 * (central finite differences) in float64. It lives with the frontend because it must run whole
 * user functions; the gradient rules it checks are @fusor/autograd's.
 */
import { grad, noGrad } from './autograd.js';
import { fromHost } from './transfer.js';
import { AutogradError } from './errors.js';
import { Tensor } from './tensor.js';

export interface GradcheckOptions {
  readonly eps?: number;
  readonly atol?: number;
  readonly rtol?: number;
  /** Throw with the mismatch (default) instead of returning false. */
  readonly raiseException?: boolean;
}

export class GradcheckError extends AutogradError {
  override name = 'GradcheckError';
}

const asList = (o: Tensor | readonly Tensor[]): Tensor[] => (o instanceof Tensor ? [o] : [...o]);
const values = (t: Tensor): number[] => Array.from(t.dataSync(), Number);

export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  opts: GradcheckOptions = {},
): boolean {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const diff = inputs.filter((t) => t.requiresGrad);
  if (diff.length === 0) throw new GradcheckError('gradcheck expects at least one input tensor to require gradient');
  for (const t of diff) {
    if (t.dtype !== 'float64') {
      throw new GradcheckError(`gradcheck expects float64 inputs that require grad (got ${t.dtype}): finite differences in float32 are too coarse`);
    }
  }
  const outputs = asList(fn(...inputs));
  const fail = (msg: string): boolean => {
    if (opts.raiseException === false) return false;
    throw new GradcheckError(msg);
  };

  // numerical Jacobian: one column per input element, by central differences
  const numerical = diff.map((t) => {
    const base = values(t);
    return base.map((_, k) => {
      const evalAt = (delta: number): number[][] => {
        const data = base.slice();
        data[k] = data[k]! + delta;
        const moved = Tensor._fromNode(fromHost(data, t.shape, 'float64', t.device));
        const args = inputs.map((x) => (x === t ? moved : x.detach()));
        return noGrad(() => asList(fn(...args)).map(values));
      };
      const plus = evalAt(eps);
      const minus = evalAt(-eps);
      return plus.map((o, j) => o.map((v, m) => (v - minus[j]![m]!) / (2 * eps)));
    });
  });

  // analytical Jacobian: one row per output element, by a backward pass with a one-hot gradient
  for (let j = 0; j < outputs.length; j++) {
    const out = outputs[j]!;
    const n = out.numel();
    for (let m = 0; m < n; m++) {
      const onehot = new Array<number>(n).fill(0);
      onehot[m] = 1;
      const gradOut = Tensor._fromNode(fromHost(onehot, out.shape, out.dtype, out.device));
      const gradOutputs = outputs.map((o, i) => (i === j ? gradOut : Tensor._fromNode(fromHost(new Array<number>(o.numel()).fill(0), o.shape, o.dtype, o.device))));
      const rows = grad(outputs, diff, { gradOutputs, retainGraph: true, allowUnused: true });
      for (let i = 0; i < diff.length; i++) {
        const a = rows[i] ? values(rows[i]!) : new Array<number>(diff[i]!.numel()).fill(0);
        for (let k = 0; k < a.length; k++) {
          const num = numerical[i]![k]![j]![m]!;
          if (!(Math.abs(a[k]! - num) <= atol + rtol * Math.abs(num)) && !(Number.isNaN(a[k]!) && Number.isNaN(num))) {
            return fail(
              `Jacobian mismatch for output ${j} with respect to input ${i},\nnumerical:${num}\nanalytical:${a[k]}\n(at output element ${m}, input element ${k})`,
            );
          }
        }
      }
    }
  }
  return true;
}
