import * as torch from '@fusor/tensor';
import { Tensor } from '@fusor/tensor';

/**
 * A tensor that is a module's parameter: a leaf that requires grad (unless asked otherwise),
 * sharing storage with the tensor it was made from, as `torch.nn.Parameter(data)` does.
 * Ops on a Parameter give plain Tensors; assigning one to a Module field registers it.
 */
export class Parameter extends Tensor {
  constructor(data?: Tensor, requiresGrad = true) {
    super();
    const src = data ?? torch.empty(0);
    if (!(src instanceof Tensor)) throw new TypeError(`Parameter(): data must be a Tensor, not ${typeof src}`);
    // the storage box, not a copy: nn.Parameter(t) aliases t
    this._box = src.detach()._box;
    if (requiresGrad) this.requiresGrad_(true);
  }

  override toString(): string {
    return `Parameter containing:\n${super.toString()}`;
  }
}

/**
 * Replaces a tensor's contents by `src` (moved and cast already) keeping the tensor object, as
 * PyTorch's `param.data = src` does: optimizers and other holders of the object see the change.
 */
export function setData(t: Tensor, src: Tensor): void {
  const wasLeafWithGrad = t.requiresGrad && t.isLeaf;
  t._box = src.detach()._box;
  if (wasLeafWithGrad) t._makeUnique();
}
