/**
 * nn.DataParallel in one process: the module's parameters copied to each device (differentiable
 * copies, so gradients flow back and are summed into the original parameters), the batch
 * scattered along `dim`, each replica run on its chunk, the outputs gathered on `outputDevice`.
 */
import * as torch from '@fusor/tensor';
import type { Tensor } from '@fusor/tensor';
import { checkOptions } from '../args.js';
import { Module, withReplacedTensors } from '../module.js';
import { canonical, deviceList, isTensor, type ParallelDevice } from './devices.js';

export interface DataParallelOptions {
  /** The devices to run replicas on; the module must live on the first (PyTorch's device_ids). Default: the module's device only. */
  readonly deviceIds?: readonly ParallelDevice[];
  /** Where the outputs are gathered (default: deviceIds[0]). */
  readonly outputDevice?: ParallelDevice;
  /** The batch dimension the inputs are scattered along and the outputs gathered along (default 0). */
  readonly dim?: number;
}

/**
 * `new nn.DataParallel(module, { deviceIds: ['cuda:0', 'cuda:1'] })`: `dp.forward(x)` runs a replica
 * of `module` on each device over its chunk of `x`; `loss.backward()` sums the replicas'
 * gradients into `module`'s parameters. Replicas are built per call (as PyTorch's), as lazy
 * graphs, except that a replica on webgpu or cuda is issued at once (its launches queued on its
 * device), so it runs while the cpu replica is built and computed. A cpu replica gets no thread
 * of its own: its kernels are already split over the cpu backend's worker pool (every core), so a
 * second cpu replica would only queue for the same threads (measured: docs/PARALLELISM.md).
 */
export class DataParallel<In extends unknown[] = [Tensor], Out = Tensor> extends Module<In, Out> {
  declare module: Module<In, Out>;
  readonly deviceIds: readonly string[];
  readonly outputDevice: string;
  readonly dim: number;

  constructor(module: Module<In, Out>, opts: DataParallelOptions = {}) {
    super();
    checkOptions('DataParallel', opts, ['deviceIds', 'outputDevice', 'dim']);
    if (!(module instanceof Module)) throw new TypeError('DataParallel: module must be an nn.Module');
    this.registerModule('module', module);
    const own = [...module.parameters(), ...module.buffers()][0]?.device ?? 'cpu';
    this.deviceIds = opts.deviceIds === undefined ? [own] : deviceList(opts.deviceIds, 'DataParallel', 'deviceIds');
    this.outputDevice = opts.outputDevice === undefined ? this.deviceIds[0]! : canonical(opts.outputDevice, 'DataParallel');
    const dim = opts.dim ?? 0;
    if (!Number.isInteger(dim)) throw new TypeError(`DataParallel: dim must be an integer, got ${String(dim)}`);
    this.dim = dim;
  }

  override forward(...inputs: In): Out {
    const src = this.deviceIds[0]!;
    for (const t of [...this.module.parameters(), ...this.module.buffers()]) {
      if (t.device !== src) {
        throw new Error(`module must have its parameters and buffers on device ${src} (device_ids[0]) but found one of them on device: ${t.device}`);
      }
    }
    if (this.deviceIds.length === 1) return gather([this.module.forward(...inputs)], this.outputDevice, this.dim) as Out;
    const chunks = scatter(inputs, this.deviceIds, this.dim);
    const outs = chunks.map((args, i) => {
      const device = this.deviceIds[i]!;
      // parameters and buffers read as copies on the replica's device: ToCopyBackward0 sends their
      // gradients back to the originals, where the replicas' contributions add up
      const out = withReplacedTensors(this.module as Module<unknown[], unknown>, (t) => t.to(device), () => this.module.forward(...(args as In)));
      // a replica on a device with its own queue (webgpu, cuda) is issued now: its launches are
      // queued and it runs while the next replicas are built and the cpu replica computes (left
      // lazy, the gather's schedule would reach it only after the cpu replica's kernels)
      if (device !== 'cpu' && readsSync(device, [src, ...inputs.filter(isTensor).map((t) => t.device)])) issue(out);
      return out;
    });
    return gather(outs, this.outputDevice, this.dim) as Out;
  }

  override extraRepr(): string {
    return `device_ids=[${this.deviceIds.join(', ')}], output_device=${this.outputDevice}, dim=${this.dim}`;
  }
}

/**
 * Whether a replica on `device` can be realized without an asynchronous read: it copies from
 * `sources` (the module's device, the inputs' devices), and webgpu has no synchronous read.
 */
function readsSync(device: string, sources: readonly string[]): boolean {
  return sources.every((d) => d === device || !d.startsWith('webgpu'));
}

/** Realizes the tensors of a replica's output (a tensor, or arrays of them) on their device. */
function issue(out: unknown): void {
  if (isTensor(out)) {
    try {
      out.realize();
    } catch (e) {
      // a lazy input computed from webgpu: left lazy, realized where the read can be awaited
      if (!(e instanceof Error && /needs an asynchronous read/.test(e.message))) throw e;
    }
  } else if (Array.isArray(out)) for (const o of out) issue(o);
}

/**
 * Splits every tensor of `inputs` into chunks along `dim` (as torch.chunk: fewer chunks than
 * devices when the batch is smaller), one per device, each moved there; other values go to
 * every replica as they are. Returns one argument list per replica.
 */
export function scatter(inputs: readonly unknown[], devices: readonly string[], dim = 0): unknown[][] {
  let n = devices.length;
  const split = inputs.map((v) => {
    if (!isTensor(v)) return null;
    if (v.ndim === 0) throw new RangeError('scatter: a 0-dim tensor cannot be scattered along a dimension');
    const parts = torch.chunk(v, devices.length, dim);
    n = Math.min(n, parts.length);
    return parts;
  });
  return Array.from({ length: n }, (_, i) => inputs.map((v, k) => (split[k] ? split[k]![i]!.to(devices[i]!) : v)));
}

/**
 * Concatenates the replicas' outputs along `dim` on `device`: a tensor each, or arrays of tensors
 * (gathered position by position). 0-dim outputs are gathered as a vector, as PyTorch does.
 */
export function gather(outputs: readonly unknown[], device: string, dim = 0): unknown {
  const first = outputs[0];
  if (isTensor(first)) {
    const ts = outputs.map((o) => {
      if (!isTensor(o)) throw new TypeError('gather: replicas returned outputs of different kinds');
      const t = o.to(device);
      return t.ndim === 0 ? t.unsqueeze(0) : t;
    });
    return ts.length === 1 && first.ndim > 0 ? ts[0] : torch.cat(ts, first.ndim === 0 ? 0 : dim);
  }
  if (Array.isArray(first)) return first.map((_, k) => gather(outputs.map((o) => (o as unknown[])[k]), device, dim));
  if (first === null || first === undefined) return first;
  throw new TypeError(`gather: cannot gather outputs of type ${typeof first} (tensors or arrays of tensors expected)`);
}
