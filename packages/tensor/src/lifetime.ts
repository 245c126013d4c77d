/**
 * Deterministic release for JavaScript: a garbage collector neither sees device memory nor runs
 * finalizers inside a synchronous loop. The runtime frees what it can prove dead by itself
 * (intermediates, old versions of tensors updated in place, results already read to the host);
 * `t.dispose()`, `using t = …` and `torch.scope(fn)` free the rest on the user's word.
 */
import { Tensor, scopes, type Box } from './tensor.js';

/**
 * Runs `fn`, then disposes every tensor it made except those it returns (a tensor, or arrays and
 * plain objects of them) and gradients it left in `.grad`. Scopes nest: what an inner scope
 * returns belongs to the outer one.
 *
 * ```ts
 * for (const [x, y] of batches) {
 *   torch.scope(() => {
 *     const loss = model.forward(x).sub(y).pow(2).mean();
 *     loss.backward();
 *     optimizer.step();
 *     console.log(loss.itemSync());
 *   });
 * }
 * ```
 */
export function scope<R>(fn: () => R): R {
  const outer = scopes.current;
  const made = { tensors: [] as Tensor[], boxes: new Set<Box>() };
  scopes.current = made;
  let result: R;
  try {
    result = fn();
  } finally {
    scopes.current = outer;
  }
  if (result instanceof Promise) throw new TypeError('torch.scope(fn): fn must be synchronous (it returned a Promise); dispose tensors with `using` or dispose() in async code');
  const keep = new Set<object>();
  collect(result, keep);
  for (const t of made.tensors) {
    // only storage made inside the scope is freed: a view or alias of an outer tensor is not its owner
    if (!made.boxes.has(t._box) || keep.has(t._box) || t._isGrad) {
      if (outer) {
        outer.tensors.push(t);
        if (made.boxes.has(t._box)) outer.boxes.add(t._box);
      }
      continue;
    }
    t.dispose();
  }
  return result;
}

function collect(v: unknown, boxes: Set<object>): void {
  if (v instanceof Tensor) boxes.add(v._box);
  else if (Array.isArray(v)) for (const x of v) collect(x, boxes);
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, boxes);
}
