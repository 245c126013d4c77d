/** Error classes users can catch. The IR and compiler own most; the frontend re-exports them. */
export { ShapeError, DTypeError } from '@fusor/ir';
export { BackendUnavailableError } from '@fusor/compiler';

/** Ops whose operands live on different devices. */
export class DeviceMismatchError extends Error {
  override name = 'DeviceMismatchError';
}

/** Autograd misuse: backward through a freed graph, in-place on a leaf that requires grad… */
export class AutogradError extends Error {
  override name = 'AutogradError';
}
