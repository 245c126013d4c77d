/**
 * Zero-copy views. A movement op never touches data: it changes how an index into the result
 * maps to an index into the source. A `View` is one strided window (shape, strides, offset,
 * and a validity mask that padding introduces); a `ShapeTracker` is a stack of views for the
 * reshapes that no single strided view can express.
 */
import { contiguousStrides, prod, type Shape } from './shape.js';
import type { Pair } from './node.js';

export class View {
  constructor(
    readonly shape: Shape,
    readonly strides: readonly number[],
    readonly offset: number,
    /** Per dim, the half-open range of indices that read real data; outside it reads 0. */
    readonly mask: readonly Pair[] | null,
  ) {}

  static contiguous(shape: Shape): View {
    return new View(shape, canonicalStrides(shape, contiguousStrides(shape)), 0, null);
  }

  get contiguous(): boolean {
    if (this.offset !== 0 || this.mask !== null) return false;
    const cs = contiguousStrides(this.shape);
    return this.shape.every((d, i) => d === 1 || this.strides[i] === cs[i]);
  }

  permute(order: readonly number[]): View {
    return new View(
      order.map((o) => this.shape[o]!),
      order.map((o) => this.strides[o]!),
      this.offset,
      this.mask && order.map((o) => this.mask![o]!),
    );
  }

  expand(shape: Shape): View {
    return new View(
      shape,
      this.strides.map((s, i) => (this.shape[i] === shape[i] ? s : 0)),
      this.offset,
      this.mask &&
        this.mask.map((m, i) => (this.shape[i] === shape[i] ? m : m[0] < m[1] ? ([0, shape[i]!] as const) : ([0, 0] as const))),
    );
  }

  pad(pads: readonly Pair[]): View {
    const shape = this.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
    const offset = this.offset - pads.reduce((acc, [b], i) => acc + b * this.strides[i]!, 0);
    const mask = this.shape.map((d, i): Pair => {
      const [lo, hi] = this.mask ? this.mask[i]! : [0, d];
      return [lo + pads[i]![0], hi + pads[i]![0]];
    });
    return new View(shape, this.strides, offset, mask);
  }

  shrink(ranges: readonly Pair[]): View {
    const shape = ranges.map(([s, e]) => e - s);
    const offset = this.offset + ranges.reduce((acc, [s], i) => acc + s * this.strides[i]!, 0);
    const mask =
      this.mask &&
      this.mask.map(([lo, hi], i): Pair => {
        const [s] = ranges[i]!;
        const n = shape[i]!;
        const a = Math.min(Math.max(lo - s, 0), n);
        const b = Math.max(Math.min(hi - s, n), a);
        return [a, b];
      });
    return new View(shape, this.strides, offset, mask && isFullMask(mask, shape) ? null : mask);
  }

  flip(axes: readonly number[]): View {
    const strides = this.strides.map((s, i) => (axes.includes(i) ? -s : s));
    const offset = this.offset + axes.reduce((acc, a) => acc + (this.shape[a]! - 1) * this.strides[a]!, 0);
    const mask =
      this.mask &&
      this.mask.map(([lo, hi], i): Pair => (axes.includes(i) ? [this.shape[i]! - hi, this.shape[i]! - lo] : [lo, hi]));
    return new View(this.shape, strides, offset, mask);
  }

  /** The same data under a new shape, if one strided view can say it (else undefined). */
  reshape(shape: Shape): View | undefined {
    if (prod(shape) === 0) return View.contiguous(shape);
    if (this.mask !== null) {
      // a mask survives a reshape only when the dims it covers are untouched; keep it simple
      return undefined;
    }
    const strides = viewStrides(this.shape, this.strides, shape);
    return strides && new View(shape, canonicalStrides(shape, strides), this.offset, null);
  }
}

function isFullMask(mask: readonly Pair[], shape: Shape): boolean {
  return mask.every(([lo, hi], i) => lo === 0 && hi === shape[i]);
}

/** Size-1 dims never move the index; give them stride 0 so equal views compare equal. */
function canonicalStrides(shape: Shape, strides: readonly number[]): number[] {
  return strides.map((s, i) => (shape[i] === 1 ? 0 : s));
}

/** PyTorch's view-stride computation: strides for `shape` over the same memory, or undefined. */
export function viewStrides(oldShape: Shape, oldStrides: readonly number[], shape: Shape): number[] | undefined {
  const newStrides = new Array<number>(shape.length).fill(0);
  if (oldShape.length === 0) return newStrides; // a scalar: every dim has size 1
  let viewD = shape.length - 1;
  let chunkBase = oldStrides[oldShape.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d]!;
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= shape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return undefined;
      if (d > 0) {
        chunkBase = oldStrides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : undefined;
}

export class ShapeTracker {
  /** views[0] indexes the buffer; the last view has the tracker's shape. */
  constructor(readonly views: readonly View[]) {}

  static contiguous(shape: Shape): ShapeTracker {
    return new ShapeTracker([View.contiguous(shape)]);
  }

  get shape(): Shape {
    return this.views[this.views.length - 1]!.shape;
  }

  get contiguous(): boolean {
    return this.views.length === 1 && this.views[0]!.contiguous;
  }

  private withTop(v: View): ShapeTracker {
    return new ShapeTracker([...this.views.slice(0, -1), v]);
  }

  private get top(): View {
    return this.views[this.views.length - 1]!;
  }

  permute(order: readonly number[]): ShapeTracker {
    return this.withTop(this.top.permute(order));
  }
  expand(shape: Shape): ShapeTracker {
    return this.withTop(this.top.expand(shape));
  }
  pad(pads: readonly Pair[]): ShapeTracker {
    return this.withTop(this.top.pad(pads));
  }
  shrink(ranges: readonly Pair[]): ShapeTracker {
    return this.withTop(this.top.shrink(ranges));
  }
  flip(axes: readonly number[]): ShapeTracker {
    return this.withTop(this.top.flip(axes));
  }
  reshape(shape: Shape): ShapeTracker {
    const v = this.top.reshape(shape);
    return v ? this.withTop(v) : new ShapeTracker([...this.views, View.contiguous(shape)]);
  }
}
