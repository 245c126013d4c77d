/** Shape and indexing ops. All are zero-copy movement ops in the IR except the gathers. */
import {
  arangeNode,
  broadcastTo,
  castNode,
  constNode,
  expandNode,
  flipNode,
  normalizeDim,
  padNode,
  permuteNode,
  reduceNode,
  reshapeNode,
  resultType,
  ShapeError,
  shrinkNode,
  copyNode,
  contiguousNode,
  viewStrides as irViewStrides,
  type Node,
  type Pair,
} from '@fusor/ir';
import { getBackend } from '@fusor/runtime';
import * as D from './decompose.js';
import { contiguousStrides, record, recordView, Tensor } from './tensor.js';

export const normDim = (dim: number, ndim: number): number => normalizeDim(dim, ndim);

/** `f(2, 3)` and `f([2, 3])` both mean sizes [2, 3]; anything but integers is PyTorch's error. */
export function sizesArg(args: readonly unknown[], fn = 'size'): number[] {
  const list = (Array.isArray(args[0]) ? args[0] : args) as unknown[];
  list.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      const type = typeof v === 'number' ? 'float' : v === null ? 'NoneType' : typeof v;
      throw new TypeError(`argument '${fn}' must be tuple of ints, but found element of type ${type} at pos ${i}`);
    }
  });
  return list as number[];
}

/**
 * Strides of `newShape` viewing memory laid out as (oldShape, oldStrides), or null where no strides
 * can (PyTorch's computeStride: a dim may not span two non-adjacent blocks of memory).
 */
export function viewStrides(oldShape: readonly number[], oldStrides: readonly number[], newShape: readonly number[]): number[] | null {
  // PyTorch's answers where the IR's computation (made for its own views) differs: a 0-d tensor's
  // view has stride 1 per dim, and any view of an empty tensor is contiguous
  if (oldShape.length === 0) return newShape.map(() => 1);
  if (oldShape.some((d) => d === 0)) return oldShape.join() === newShape.join() ? [...oldStrides] : contiguousStrides(newShape);
  return irViewStrides(oldShape, oldStrides, newShape) ?? null;
}

/** A view of x over `node` whose strides come from x's by `f` (null: not expressible as strides). */
function view(name: string, node: Node, x: Tensor, f: (st: number[], off: number) => [number[] | null, number]): Tensor {
  const [st, off] = f(x._strides(), x.storageOffset());
  return recordView(name, node, x, st, off);
}

export function reshape(x: Tensor, shape: readonly number[], name: string, mustView = false): Tensor {
  const infer = shape.filter((d) => d === -1).length;
  if (infer > 1) throw new ShapeError('only one dimension can be inferred');
  if (shape.some((d) => d < -1)) throw new ShapeError(`invalid shape dimension ${shape.find((d) => d < -1)}`);
  let out = [...shape];
  if (infer === 1) {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (known === 0 && x.numel() === 0) {
      throw new ShapeError(
        `cannot reshape tensor of 0 elements into shape [${shape.join(', ')}] because the unspecified dimension size -1 can be any value and is ambiguous`,
      );
    }
    if (known === 0 || x.numel() % known !== 0) {
      throw new ShapeError(`shape '[${shape.join(', ')}]' is invalid for input of size ${x.numel()}`);
    }
    out = shape.map((d) => (d === -1 ? x.numel() / known : d));
  }
  if (out.reduce((a, b) => a * b, 1) !== x.numel()) {
    throw new ShapeError(`shape '[${shape.join(', ')}]' is invalid for input of size ${x.numel()}`);
  }
  const st = viewStrides(x.shape, x._strides(), out);
  if (st === null) {
    if (mustView) {
      throw new ShapeError(
        "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.",
      );
    }
    // reshape of a tensor no strides can view: a copy, as PyTorch's
    return record(name === 'ViewBackward0' ? 'UnsafeViewBackward0' : name, reshapeNode(contiguousNode(x.node), out), [x], false);
  }
  return recordView(name, reshapeNode(x.node, out), x, st, x.storageOffset());
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  if (dims.length !== x.ndim) {
    throw new ShapeError(
      `permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = ${x.ndim} is not equal to len(dims) = ${dims.length}`,
    );
  }
  const order = dims.map((d) => normDim(d, x.ndim));
  if (new Set(order).size !== order.length) throw new ShapeError('permute(): duplicate dims are not allowed.');
  return view('PermuteBackward0', permuteNode(x.node, order), x, (st, off) => [order.map((o) => st[o]!), off]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.ndim === 0) return view('TransposeBackward0', x.node, x, (st, off) => [st, off]);
  const a = normDim(dim0, x.ndim);
  const b = normDim(dim1, x.ndim);
  const order = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return view('TransposeBackward0', permuteNode(x.node, order), x, (st, off) => [order.map((o) => st[o]!), off]);
}

export function t(x: Tensor): Tensor {
  if (x.ndim > 2) throw new ShapeError(`t() expects a tensor with <= 2 dimensions, but self is ${x.ndim}D`);
  return view('TBackward0', x.ndim < 2 ? x.node : permuteNode(x.node, [1, 0]), x, (st, off) => [x.ndim < 2 ? st : [st[1]!, st[0]!], off]);
}

export function squeeze(x: Tensor, dim?: number): Tensor {
  if (dim === undefined) {
    return view('SqueezeBackward0', reshapeNode(x.node, x.shape.filter((d) => d !== 1)), x, (st, off) => [st.filter((_, i) => x.shape[i] !== 1), off]);
  }
  const d = normDim(dim, Math.max(x.ndim, 1));
  const drop = x.ndim > 0 && x.shape[d] === 1;
  const shape = drop ? x.shape.filter((_, i) => i !== d) : x.shape;
  return view('SqueezeBackward1', reshapeNode(x.node, shape), x, (st, off) => [drop ? st.filter((_, i) => i !== d) : st, off]);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normDim(dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return view('UnsqueezeBackward0', reshapeNode(x.node, shape), x, (st, off) => {
    const out = [...st];
    out.splice(d, 0, d < x.ndim ? x.shape[d]! * st[d]! : 1);
    return [out, off];
  });
}

export function expand(x: Tensor, sizes: readonly number[]): Tensor {
  if (sizes.length < x.ndim) {
    throw new ShapeError(
      `expand(torch.FloatTensor{[${x.shape.join(', ')}]}, size=[${sizes.join(', ')}]): the number of sizes provided (${sizes.length}) must be greater or equal to the number of dimensions in the tensor (${x.ndim})`,
    );
  }
  const lead = sizes.length - x.ndim;
  const target = sizes.map((s, i) => {
    const cur = i < lead ? 1 : x.shape[i - lead]!;
    if (s === -1) {
      if (i < lead) throw new ShapeError(`The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension ${i}`);
      return cur;
    }
    if (cur !== 1 && cur !== s) {
      throw new ShapeError(
        `The expanded size of the tensor (${s}) must match the existing size (${cur}) at non-singleton dimension ${i}.  Target sizes: [${sizes.join(', ')}].  Tensor sizes: [${x.shape.join(', ')}]`,
      );
    }
    return s;
  });
  return view('ExpandBackward0', broadcastTo(x.node, target), x, (st, off) => [
    target.map((s, i) => (i < lead || (x.shape[i - lead] === 1 && s !== 1) ? 0 : st[i - lead]!)),
    off,
  ]);
}

export function repeat(x: Tensor, reps: readonly number[]): Tensor {
  if (reps.length < x.ndim) {
    throw new ShapeError('Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor');
  }
  const shape = [...new Array<number>(reps.length - x.ndim).fill(1), ...x.shape];
  const inter = shape.flatMap((d) => [1, d]);
  const expanded = shape.flatMap((d, i) => [reps[i]!, d]);
  const n = reshapeNode(expandNode(reshapeNode(x.node, inter), expanded), shape.map((d, i) => d * reps[i]!));
  return record('RepeatBackward0', n, [x], false);
}

export function flatten(x: Tensor, start: number, end: number): Tensor {
  if (x.ndim === 0) return reshape(x, [1], 'ViewBackward0');
  const s = normDim(start, x.ndim);
  const e = normDim(end, x.ndim);
  if (s > e) throw new ShapeError('flatten() has invalid args: start_dim cannot come after end_dim');
  if (s === e) return x;
  const shape = [...x.shape.slice(0, s), x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1), ...x.shape.slice(e + 1)];
  return reshape(x, shape, 'ViewBackward0');
}

export function flip(x: Tensor, dims: readonly number[]): Tensor {
  const axes = dims.map((d) => normDim(d, x.ndim));
  if (new Set(axes).size !== axes.length) throw new ShapeError(`dims has duplicates, original flip dims size=${dims.length}, but unique flip dims size=${new Set(axes).size}`);
  return record('FlipBackward0', flipNode(x.node, axes), [x], false);
}

function shrinkDim(n: Node, dim: number, start: number, end: number): Node {
  return shrinkNode(n, n.shape.map((d, i): Pair => (i === dim ? [start, end] : [0, d])));
}

export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  if (x.ndim === 0) throw new ShapeError('narrow() cannot be applied to a 0-dim tensor.');
  const d = normDim(dim, x.ndim);
  const size = x.shape[d]!;
  if (start < -size || start > size) {
    throw new RangeError(`start out of range (expected to be in range of [${-size}, ${size}], but got ${start})`);
  }
  const s = start < 0 ? start + size : start;
  if (length < 0) throw new RangeError('narrow(): length must be non-negative.');
  if (s + length > size) throw new RangeError(`start (${s}) + length (${length}) exceeds dimension size (${size}).`);
  return view('SliceBackward0', shrinkDim(x.node, d, s, s + length), x, (st, off) => [st, off + s * st[d]!]);
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  if (x.ndim === 0) throw new ShapeError('select() cannot be applied to a 0-dim tensor.');
  const d = normDim(dim, x.ndim);
  const size = x.shape[d]!;
  if (index < -size || index >= size) {
    throw new RangeError(`select(): index ${index} out of range for tensor of size [${x.shape.join(', ')}] at dimension ${d}`);
  }
  const i = index < 0 ? index + size : index;
  const n = reshapeNode(shrinkDim(x.node, d, i, i + 1), x.shape.filter((_, k) => k !== d));
  return view('SelectBackward0', n, x, (st, off) => [st.filter((_, k) => k !== d), off + i * st[d]!]);
}

/**
 * torch.diagonal: the `offset`-th diagonal of the (dim1, dim2) planes, as a last dim; a view.
 * The planes go last, the square block holding the diagonal is cut out, and its row-major
 * elements i·(L+1) are read by padding one row and keeping column 0 — movement ops only, so
 * writes through it reach the base.
 */
export function diagonal(x: Tensor, offset: number, dim1: number, dim2: number): Tensor {
  for (const [v, name] of [
    [offset, 'offset'],
    [dim1, 'dim1'],
    [dim2, 'dim2'],
  ] as const) {
    if (!Number.isInteger(v)) throw new TypeError(`diagonal(): argument '${name}' must be int, not ${typeof v === 'number' ? 'float' : typeof v}`);
  }
  const d1 = normDim(dim1, x.ndim);
  const d2 = normDim(dim2, x.ndim);
  if (d1 === d2) throw new ShapeError(`diagonal dimensions cannot be identical ${dim1}, ${dim2}`);
  const [n1, n2] = [x.shape[d1]!, x.shape[d2]!];
  const len = Math.max(0, offset >= 0 ? Math.min(n1, n2 - offset) : Math.min(n1 + offset, n2));
  const [r0, c0] = len === 0 ? [0, 0] : offset >= 0 ? [0, offset] : [-offset, 0];
  const rest = x.shape.map((_, i) => i).filter((i) => i !== d1 && i !== d2);
  const lead = rest.map((i) => x.shape[i]!);
  let n = permuteNode(x.node, [...rest, d1, d2]);
  n = shrinkNode(n, n.shape.map((d, i): Pair => (i === lead.length ? [r0, r0 + len] : i === lead.length + 1 ? [c0, c0 + len] : [0, d])));
  n = reshapeNode(n, [...lead, len * len]);
  if (len > 0) {
    n = padNode(n, n.shape.map((_, i): Pair => (i === lead.length ? [0, len] : [0, 0])));
    n = reshapeNode(n, [...lead, len, len + 1]);
    n = shrinkNode(n, n.shape.map((d, i): Pair => (i === lead.length + 1 ? [0, 1] : [0, d])));
  }
  n = reshapeNode(n, [...lead, len]);
  return view('DiagonalBackward0', n, x, (st, off) => [
    [...rest.map((i) => st[i]!), st[d1]! + st[d2]!],
    len === 0 ? off : off + r0 * st[d1]! + c0 * st[d2]!,
  ]);
}

/** A Python slice `start:stop:step` on one dim, with Python's clamping. */
export function sliceDim(x: Tensor, dim: number, start: number | undefined, stop: number | undefined, step: number): Tensor {
  if (step <= 0) throw new RangeError('step must be greater than zero');
  const size = x.shape[dim]!;
  const clamp = (v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const w = v < 0 ? v + size : v;
    return Math.min(Math.max(w, 0), size);
  };
  const s = clamp(start, 0);
  const e = Math.max(clamp(stop, size), s);
  const len = Math.ceil((e - s) / step);
  let n = shrinkDim(x.node, dim, s, e);
  if (step > 1 && len > 0) {
    // take every step-th element: pad to len*step, split the dim into (len, step), keep column 0
    const padded = padNode(n, n.shape.map((_, i): Pair => (i === dim ? [0, len * step - (e - s)] : [0, 0])));
    const split = reshapeNode(padded, [...n.shape.slice(0, dim), len, step, ...n.shape.slice(dim + 1)]);
    const col = shrinkNode(split, split.shape.map((d, i): Pair => (i === dim + 1 ? [0, 1] : [0, d])));
    n = reshapeNode(col, [...n.shape.slice(0, dim), len, ...n.shape.slice(dim + 1)]);
  } else if (step > 1) {
    n = shrinkDim(n, dim, 0, 0);
  }
  return view('SliceBackward0', n, x, (st, off) => {
    const out = [...st];
    out[dim] = st[dim]! * step;
    return [out, off + (len > 0 ? s * st[dim]! : 0)];
  });
}

export type { IndexSpec } from './indexing.js';

export function parseSlice(spec: string): [number | undefined, number | undefined, number] {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw new SyntaxError(`invalid slice '${spec}': expected 'start:stop' or 'start:stop:step'`);
  const num = (p: string | undefined): number | undefined => {
    if (p === undefined || p.trim() === '') return undefined;
    const v = Number(p);
    if (!Number.isInteger(v)) throw new SyntaxError(`invalid slice '${spec}': '${p}' is not an integer`);
    return v;
  };
  return [num(parts[0]), num(parts[1]), num(parts[2]) ?? 1];
}

export function split(x: Tensor, splitSize: number | readonly number[], dim: number): Tensor[] {
  const d = normDim(dim, x.ndim);
  const size = x.shape[d]!;
  let sizes: number[];
  if (typeof splitSize === 'number') {
    if (splitSize <= 0 && size > 0) throw new RangeError(`split_size can only be 0 if dimension size is 0, but got dimension size of ${size}`);
    sizes = [];
    for (let s = 0; s < size; s += splitSize) sizes.push(Math.min(splitSize, size - s));
    if (sizes.length === 0) sizes = [0];
  } else {
    sizes = [...splitSize];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== size) {
      throw new RangeError(
        `split_with_sizes expects split_sizes to sum exactly to ${size} (input tensor's size at dimension ${d}), but got split_sizes=[${sizes.join(', ')}]`,
      );
    }
  }
  const name = typeof splitSize === 'number' ? 'SplitBackward0' : 'SplitWithSizesBackward0';
  let start = 0;
  return sizes.map((len, index) => {
    const at = start;
    const out = view(name, shrinkDim(x.node, d, at, at + len), x, (st, off) => [st, off + at * st[d]!]);
    if (sizes.length > 1) out._multiView = { name, index };
    start += len;
    return out;
  });
}

export function chunk(x: Tensor, chunks: number, dim: number): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new RangeError('chunk expects `chunks` to be greater than 0');
  const size = x.shape[normDim(dim, x.ndim)]!;
  return split(x, Math.max(Math.ceil(size / chunks), 1), dim);
}

export function unbind(x: Tensor, dim: number): Tensor[] {
  const d = normDim(dim, x.ndim);
  return Array.from({ length: x.shape[d]! }, (_, i) => {
    const n = reshapeNode(shrinkDim(x.node, d, i, i + 1), x.shape.filter((_, k) => k !== d));
    const out = view('UnbindBackward0', n, x, (st, off) => [st.filter((_, k) => k !== d), off + i * st[d]!]);
    out._multiView = { name: 'UnbindBackward0', index: i };
    return out;
  });
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('torch.cat(): expected a non-empty list of Tensors');
  // PyTorch skips legacy empty 1-D tensors
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.numel() === 0));
  if (parts.length === 0) return tensors[0]!.clone();
  const ref = parts[0]!;
  if (ref.ndim === 0) throw new ShapeError('zero-dimensional tensor (at position 0) cannot be concatenated');
  const d = normDim(dim, ref.ndim);
  parts.forEach((t, i) => {
    if (t.ndim !== ref.ndim) {
      throw new ShapeError(`Tensors must have same number of dimensions: got ${ref.ndim} and ${t.ndim}`);
    }
    t.shape.forEach((s, k) => {
      if (k !== d && s !== ref.shape[k]) {
        throw new ShapeError(`Sizes of tensors must match except in dimension ${d}. Expected size ${ref.shape[k]} but got size ${s} for tensor number ${i} in the list.`);
      }
    });
  });
  const devices = new Set(parts.map((t) => t.device));
  if (devices.size > 1) {
    throw new Error(`Expected all tensors to be on the same device, but found at least two devices, ${[...devices].join(' and ')}!`);
  }
  const dtype = resultType(...parts.map((t) => ({ kind: 'tensor' as const, dtype: t.dtype, dim: 1 })));
  const total = parts.reduce((a, t) => a + t.shape[d]!, 0);
  let offset = 0;
  let acc: Node | undefined;
  for (const t of parts) {
    const len = t.shape[d]!;
    const padded = padNode(castNode(t.node, dtype), t.shape.map((_, k): Pair => (k === d ? [offset, total - offset - len] : [0, 0])));
    offset += len;
    acc = acc ? (dtype === 'bool' ? D.or(acc, padded) : D.add(acc, padded)) : padded;
  }
  // the skipped empty tensors are inputs too: they get (empty) gradients, as in PyTorch
  return record('CatBackward0', acc!, tensors, false);
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError('stack expects a non-empty TensorList');
  const ref = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.shape.join() !== ref.shape.join()) {
      throw new ShapeError(`stack expects each tensor to be equal size, but got [${ref.shape.join(', ')}] at entry 0 and [${t.shape.join(', ')}] at entry ${i}`);
    }
  });
  const d = normDim(dim, ref.ndim + 1);
  const out = cat(tensors.map((t) => Tensor._fromNode(reshapeNode(t.node, [...t.shape.slice(0, d), 1, ...t.shape.slice(d)]))), d);
  return record('StackBackward0', out.node, tensors, false);
}
