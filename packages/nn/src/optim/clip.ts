/**
 * Gradient clipping, PyTorch's `nn.utils.clip_grad_norm_` / `clip_grad_value_`. They live with
 * the optimizers (they act on `.grad` before a step); `nn.utils` re-exports them.
 */
import { noGrad, stack, Tensor, tensor } from '@fusor/tensor';
import { bindArgs } from './options.js';

const gradsOf = (parameters: Tensor | Iterable<Tensor>): Tensor[] =>
  [...(parameters instanceof Tensor ? [parameters] : parameters)].map((p) => p.grad).filter((g): g is Tensor => g !== null);

function norm(x: Tensor, p: number): Tensor {
  if (p === Infinity) return x.abs().amax();
  if (p === 2) return x.mul(x).sum().sqrt();
  if (p === 1) return x.abs().sum();
  return x.abs().pow(p).sum().pow(1 / p);
}

/**
 * Scales the gradients in place so that their joint `normType`-norm is at most `maxNorm`;
 * returns the norm before clipping. `errorIfNonfinite` reads the norm (synchronously).
 */
export function clipGradNorm_(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType?: number | 'inf' | { normType?: number | 'inf'; errorIfNonfinite?: boolean; maxNorm?: number },
  opts?: { errorIfNonfinite?: boolean },
): Tensor {
  const args = [maxNorm, normType, opts].filter((a) => a !== undefined);
  const a = bindArgs('clip_grad_norm_', args, [{ name: 'maxNorm', kind: 'number' }, { name: 'normType', kind: 'norm' }], [
    { name: 'errorIfNonfinite', kind: 'boolean' },
  ]) as { maxNorm: number; normType?: number | 'inf'; errorIfNonfinite?: boolean };
  const p = a.normType === undefined ? 2 : a.normType === 'inf' ? Infinity : a.normType;
  const grads = gradsOf(parameters);
  if (grads.length === 0) return tensor(0, { dtype: 'float32' });
  return noGrad(() => {
    const device = grads[0]!.device;
    const norms = grads.map((g) => norm(g.detach(), p).to(device));
    const total = p === Infinity ? (norms.length === 1 ? norms[0]! : stack(norms).amax()) : norm(stack(norms), p);
    if (a.errorIfNonfinite && !Number.isFinite(Number(total.itemSync()))) {
      throw new Error(
        `The total norm of order ${p === Infinity ? 'inf' : p.toFixed(1)} for gradients from \`parameters\` is non-finite, so it cannot be clipped. To disable this error and scale the gradients by the non-finite norm anyway, set \`error_if_nonfinite=False\``,
      );
    }
    const coef = total.add(1e-6).reciprocal().mul(a.maxNorm).clamp(null, 1);
    for (const g of grads) g.detach().mul_(coef.to(g.device));
    return total;
  });
}

/** Clamps every gradient in place to [-clipValue, clipValue]. */
export function clipGradValue_(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (typeof clipValue !== 'number') throw new TypeError(`clip_grad_value_(): clip_value must be a number, got ${typeof clipValue}`);
  noGrad(() => {
    for (const g of gradsOf(parameters)) g.detach().clamp_(-clipValue, clipValue);
  });
}
