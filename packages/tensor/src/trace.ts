/**
 * What the frontend tells `jit` while it traces a call: which tensors and storage boxes from before
 * the call the traced function reads or changes, and host reads (which a replay cannot repeat).
 * `tracing.current` is set only while a trace runs.
 */
import type { Node } from '@fusor/ir';
import type { Box, Tensor } from './tensor.js';

export interface Tracer {
  /** A tensor or box made during the trace (so not state from before it). */
  born(x: object): void;
  /** `box` is about to be read or written, through tensor `t`. */
  touchBox(box: Box, t: Tensor): void;
  /** `t.grad` is about to be read or written. */
  touchGrad(t: Tensor): void;
  /** Values read to the host during a trace would be fixed in every replay: raises. */
  hostRead(what: string): void;
  /** An index bounds check (a lazy int32[2], see index-checks.ts): computed and read after the trace and after every replay. */
  indexCheck(node: Node, error: (value: number) => Error): void;
}

export const tracing: { current: Tracer | null } = { current: null };
