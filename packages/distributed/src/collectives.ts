/**
 * torch.distributed's functions: the process group's lifetime and the collectives. Each collective
 * writes its result into its tensors in place (PyTorch's semantics: the tensor's version is
 * bumped, views of it see the result); `asyncOp: true` returns a Work instead of waiting.
 */
import { cat, Tensor } from '@fusor/tensor';
import { MpiEngine, REDUCE_OPS, ReduceOp, type Engine } from './engine.js';
import { DistBackendUnavailableError, DistError } from './errors.js';
import {
  currentGroup,
  DEFAULT_TIMEOUT_MS,
  maybeGroup,
  openMpiWorld,
  setDefaultGroup,
  type CollectiveName,
  type Header,
  type ProcessGroup,
} from './process-group.js';
import { commit, computeInput, freshRegion, settle, readRegion, reductionRegions, releaseRegions, releaseResult, scaleHost, type Fresh, type Region } from './storage.js';
import type { Node } from '@fusor/ir';
import type { Pending, Work } from './work.js';
import { MpiLibrary } from './mpi.js';
import { ncclUnavailableReason, openNccl } from './nccl.js';

export { ReduceOp } from './engine.js';
export type Backend = 'mpi' | 'nccl';

export interface InitOptions {
  readonly backend?: Backend;
  /** Milliseconds every operation may take before it fails (default 30 minutes, as PyTorch). */
  readonly timeout?: number;
  /** Checked against what the launcher (mpirun, srun) says, when given. */
  readonly rank?: number;
  readonly worldSize?: number;
  /** backend 'nccl': the CUDA device of this rank (default: local rank modulo the device count). */
  readonly deviceId?: number;
}

export interface CollectiveOptions {
  /** Return a Work instead of waiting. */
  readonly asyncOp?: boolean;
  /** This call's timeout in milliseconds (default: the group's). */
  readonly timeout?: number;
}
export interface ReduceOptions extends CollectiveOptions {
  readonly op?: ReduceOp;
}
export interface BroadcastOptions extends CollectiveOptions {
  readonly src?: number;
}
export interface P2POptions {
  readonly tag?: number;
  readonly timeout?: number;
}
export interface SendOptions extends P2POptions {
  readonly dst?: number;
}
export interface RecvOptions extends P2POptions {
  readonly src?: number;
}

/** Rejects unknown option keys and wrongly typed values (an argument is never silently misread). */
function checkOptions(fn: string, opts: object | undefined, types: Readonly<Record<string, string>>): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new TypeError(`${fn}(): expected an options object, got ${String(opts)}`);
  for (const [k, v] of Object.entries(opts)) {
    const want = types[k];
    if (!want) throw new TypeError(`${fn}() got an unexpected keyword argument '${k}'`);
    if (v === undefined) continue;
    const ok = want === 'op' ? REDUCE_OPS.includes(v as ReduceOp) : want === 'backend' ? v === 'mpi' || v === 'nccl' : typeof v === want;
    if (!ok) {
      throw new TypeError(
        want === 'op'
          ? `${fn}(): op must be a ReduceOp (${REDUCE_OPS.map((o) => `'${o}'`).join(', ')}), got ${JSON.stringify(v)}`
          : want === 'backend'
            ? `${fn}(): Invalid backend: '${String(v)}' (fusor has 'mpi' and 'nccl')`
            : `${fn}(): argument '${k}' must be ${want === 'number' ? 'a number' : `a ${want}`}, got ${typeof v}`,
      );
    }
  }
}

const COLLECTIVE_KEYS = { asyncOp: 'boolean', timeout: 'number' } as const;

function checkTensor(fn: string, t: unknown, what = 'tensor'): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}(): argument '${what}' must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  return t;
}

function timeoutOf(fn: string, g: ProcessGroup, t: number | undefined): number {
  if (t === undefined) return g.timeoutMs;
  if (!(t > 0)) throw new RangeError(`${fn}(): timeout must be a positive number of milliseconds, got ${t}`);
  return t;
}

function checkRank(fn: string, g: ProcessGroup, r: number, what: string): void {
  if (!Number.isInteger(r) || r < 0 || r >= g.size) {
    throw new RangeError(`${fn}(): ${what} rank ${r} is invalid: the world size is ${g.size} (ranks 0 to ${g.size - 1})`);
  }
}

/** The engine for this tensor's device, or PyTorch's wording when the backend cannot take it. */
function engineFor(fn: string, g: ProcessGroup, device: string): Engine {
  const kind = device === 'cpu' ? 'cpu' : device.startsWith('cuda') ? 'cuda' : device;
  if (kind !== g.engine.deviceKind) {
    throw new DistError(
      `${fn}(): the '${g.backend}' backend takes ${g.engine.deviceKind} tensors, got a ${device} tensor` +
        (kind === 'cuda' ? " (initialize the group with backend 'nccl')" : kind === 'cpu' ? " (initialize the group with backend 'mpi')" : ''),
    );
  }
  return g.engine;
}

/** Starts the transfers; if the library refuses to start them, nothing holds the regions. */
function started<P>(regions: readonly Region[], start: () => P): P {
  try {
    return start();
  } catch (e) {
    releaseRegions(regions);
    throw e;
  }
}

/**
 * Runs a collective: its lazy `inputs` computed first (so the ranks line up right before the
 * transfer starts), then the rendezvous, then its buffers (where the result goes, given up by the
 * tensors that held them only now, when every rank agreed: a rendezvous that fails leaves every
 * tensor as it was), then the transfer; waits unless asyncOp.
 */
function run(
  g: ProcessGroup,
  name: CollectiveName,
  header: Header,
  opts: CollectiveOptions | undefined,
  inputs: readonly Node[],
  start: () => { launch: () => Pending[]; onDone: () => void; results: Tensor[]; regions?: readonly Region[] },
): Work | undefined {
  const timeout = timeoutOf(name, g, opts?.timeout);
  for (const n of inputs) computeInput(n);
  const seq = g.nextSeq();
  g.rendezvous(name, seq, header, timeout);
  const { launch, onDone, results, regions } = start();
  const work = g.work(name, seq, started(regions ?? [], launch), onDone, results, timeout, null, regions);
  if (opts?.asyncOp) {
    g.poller.add(work);
    return work;
  }
  work.wait();
  return undefined;
}

// ------------------------------------------------------------- process group lifetime

/** torch.distributed.is_available(). */
export const isAvailable = (): boolean => true;
/** Whether an MPI library can be loaded here. */
export function isMpiAvailable(): boolean {
  return typeof MpiLibrary.open() !== 'string';
}
/** Whether NCCL can be loaded here. */
export function isNcclAvailable(): boolean {
  return ncclUnavailableReason() === null;
}

/**
 * `initProcessGroup('mpi')`, `initProcessGroup({ backend: 'nccl', timeout: 60_000 })`: joins the
 * world the launcher (`mpirun`, Slurm's `srun --mpi=pmix`) started. A process run without a
 * launcher is a world of one.
 */
export function initProcessGroup(backend?: Backend | InitOptions, opts?: InitOptions): void {
  const o: InitOptions = typeof backend === 'object' ? backend : { ...opts, ...(backend !== undefined ? { backend } : {}) };
  if (typeof backend === 'string' && opts?.backend !== undefined && opts.backend !== backend) {
    throw new TypeError(`initProcessGroup() got multiple values for argument 'backend'`);
  }
  checkOptions('initProcessGroup', o, { backend: 'backend', timeout: 'number', rank: 'number', worldSize: 'number', deviceId: 'number' });
  if (maybeGroup()) {
    throw new DistError('trying to initialize the default process group twice!');
  }
  const timeout = o.timeout ?? DEFAULT_TIMEOUT_MS;
  if (!(timeout > 0)) throw new RangeError(`initProcessGroup(): timeout must be a positive number of milliseconds, got ${timeout}`);
  const be = o.backend ?? 'mpi';
  if (be === 'nccl') {
    // refuse before MPI comes up, so the reason is the library, not a half-made group
    const why = ncclUnavailableReason();
    if (why) throw new DistBackendUnavailableError(`backend 'nccl' is unavailable: ${why}`);
  }
  const g = openMpiWorld(timeout, be === 'nccl');
  if (o.rank !== undefined && o.rank !== g.rank) {
    throw new DistError(`initProcessGroup(): rank ${o.rank} was given, but the launcher started this process as rank ${g.rank}`);
  }
  if (o.worldSize !== undefined && o.worldSize !== g.size) {
    throw new DistError(`initProcessGroup(): worldSize ${o.worldSize} was given, but the launcher started ${g.size} processes`);
  }
  if (be === 'nccl') g.engine = openNccl(g, o.deviceId);
  setDefaultGroup(g);
}

export const isInitialized = (): boolean => maybeGroup() !== null;

export function getRank(): number {
  return currentGroup('getRank').rank;
}

export function getWorldSize(): number {
  return currentGroup('getWorldSize').size;
}

/** 'mpi' or 'nccl'. */
export function getBackend(): Backend {
  return currentGroup('getBackend').backend;
}

/**
 * Leaves the group (MPI_Finalize, after which MPI cannot start again in this process). After a
 * failure it does not finalize: a dead peer would never answer; exit the process instead.
 */
export function destroyProcessGroup(): void {
  const g = maybeGroup();
  if (!g) throw new DistError('destroyProcessGroup(): Default process group has not been initialized, please make sure to call initProcessGroup.');
  setDefaultGroup(null);
  g.destroy();
}

// ------------------------------------------------------------- collectives

/** Positional `op` (PyTorch's second parameter) or options; both name the same thing. */
const NO_OPTIONS: ReduceOptions = Object.freeze({});
function splitReduce(fn: string, op: ReduceOp | ReduceOptions | undefined, opts: ReduceOptions | undefined): ReduceOptions {
  if (op === undefined && opts === undefined) return NO_OPTIONS;
  const o: ReduceOptions = typeof op === 'object' && op !== null ? op : { ...opts, ...(op !== undefined ? { op } : {}) };
  if (typeof op === 'string' && opts?.op !== undefined) throw new TypeError(`${fn}() got multiple values for argument 'op'`);
  checkOptions(fn, o, { ...COLLECTIVE_KEYS, op: 'op' });
  return o;
}

const OP_INDEX = (op: ReduceOp): number => REDUCE_OPS.indexOf(op);
const describeOp = (v: number): string => `ReduceOp.${(REDUCE_OPS[v] ?? '?').toUpperCase()}`;
/** A reduction's rendezvous header: the ranks must agree on the reduction too. */
const reductionHeader = (dtype: string, shape: readonly number[], op: ReduceOp): Header => ({
  dtype,
  shape,
  extra: OP_INDEX(op),
  extraName: 'the reduction',
  describeExtra: describeOp,
});

function checkOpDtype(fn: string, op: ReduceOp, t: Tensor): void {
  if (op === 'avg' && !t.isFloatingPoint()) throw new DistError(`${fn}(): ReduceOp.AVG needs a floating point tensor, got ${t.dtype}`);
  if ((op === 'band' || op === 'bor' || op === 'bxor') && t.isFloatingPoint()) {
    throw new DistError(`${fn}(): ReduceOp.${op.toUpperCase()} needs an integer or bool tensor, got ${t.dtype}`);
  }
}

/** Result of a SUM the engine made, divided for AVG (on the host; on a device fused into the tensor's next use). */
function finishReduce(g: ProcessGroup, op: ReduceOp, engine: Engine, t: Tensor, f: Fresh): void {
  if (op === 'avg' && !engine.hasAvg && !scaleHost(f, g.size)) commit(t, f, { scale: g.size });
  else commit(t, f);
}

/**
 * Reduces `tensor` across all ranks, in place on every rank: `allReduce(t)`, `allReduce(t,
 * ReduceOp.MAX)`, `allReduce(t, { op: ReduceOp.AVG, asyncOp: true })`.
 */
export function allReduce(tensor: Tensor, op?: ReduceOp | ReduceOptions, opts?: ReduceOptions): Work | undefined {
  const o = splitReduce('allReduce', op, opts);
  return allReduceInto(tensor, o, null);
}

/**
 * allReduce for an owner that manages the result's lifetime itself (DDP's buckets): `own` gets
 * the result's node when it is committed, and releases it when done (`releaseResult`); it is not
 * counted against the held-results budget.
 * @internal
 */
export function allReduceOwned(tensor: Tensor, op: ReduceOp, own: (node: Node) => void, opts: CollectiveOptions = {}): Work | undefined {
  return allReduceInto(tensor, { ...opts, op }, own);
}

function allReduceInto(tensor: Tensor, o: ReduceOptions, own: ((node: Node) => void) | null): Work | undefined {
  checkTensor('allReduce', tensor);
  const g = currentGroup('allReduce');
  const node = tensor.node;
  const { dtype, shape, device } = node;
  const engine = engineFor('allReduce', g, device);
  const red = o.op ?? ReduceOp.SUM;
  checkOpDtype('allReduce', red, tensor);
  const header = reductionHeader(dtype, shape, red);
  const sumOrOp = red === 'avg' && !engine.hasAvg ? 'sum' : red;
  /** After the tensor took the result: counted against the budget, or handed to its owner. */
  const keep = (out: Fresh): void => {
    settle(out, [tensor], own !== null);
    own?.(out.node);
  };
  const finish = (out: Fresh): void => {
    finishReduce(g, red, engine, tensor, out);
    keep(out);
  };
  if (!o.asyncOp && engine instanceof MpiEngine) {
    // the common case, kept short (its own work is a few µs beside a 1 MiB transfer's ~110): the
    // input, the rendezvous, the buffers (chosen once every rank agreed, as in run()), then MPI's
    // blocking call (faster than the nonblocking one) under the watchdog, since the rendezvous
    // showed every rank present
    const timeout = timeoutOf('allReduce', g, o.timeout);
    computeInput(node);
    const seq = g.nextSeq();
    g.rendezvous('allReduce', seq, header, timeout);
    const { send, out, regions } = reductionRegions(tensor, node, true);
    // A plain tensor takes the result as its value before the call fills it: no code runs until
    // the call returns, and what the commit touches is still in cache (after a 1 MiB transfer it
    // is not, and the same work costs 5–20 µs). The result's node then holds the buffers the call
    // uses. If the call fails, reading the tensor raises.
    const early = tensor._takeRealized(out.node);
    if (early) {
      keep(out);
      releaseRegions(regions);
    }
    try {
      g.guardBlocking('allReduce', timeout, () => engine.allReduceBlocking(send, out.region, sumOrOp as Exclude<ReduceOp, 'avg'>));
    } catch (e) {
      if (early) releaseResult(out.node, `this tensor's all-reduce failed, so its contents are lost: ${(e as Error).message}`);
      throw e;
    }
    if (early) {
      if (red === 'avg') scaleHost(out, g.size);
      return undefined;
    }
    releaseRegions(regions);
    finish(out);
    return undefined;
  }
  return run(g, 'allReduce', header, o, [node], () => {
    const { send, out, regions } = reductionRegions(tensor, node, !o.asyncOp);
    return { launch: () => [engine.allReduce(send, out.region, sumOrOp)], onDone: () => finish(out), results: [tensor], regions };
  });
}

/** Copies `src`'s tensor into `tensor` on every rank: `broadcast(t, 0)`. */
export function broadcast(tensor: Tensor, src?: number | BroadcastOptions, opts?: BroadcastOptions): Work | undefined {
  const o: BroadcastOptions = typeof src === 'object' && src !== null ? src : { ...opts, ...(src !== undefined ? { src } : {}) };
  if (typeof src === 'number' && opts?.src !== undefined) throw new TypeError(`broadcast() got multiple values for argument 'src'`);
  checkOptions('broadcast', o, { ...COLLECTIVE_KEYS, src: 'number' });
  checkTensor('broadcast', tensor);
  const g = currentGroup('broadcast');
  if (o.src === undefined) throw new TypeError("broadcast() missing required argument 'src'");
  checkRank('broadcast', g, o.src, 'src');
  const root = o.src;
  const engine = engineFor('broadcast', g, tensor.device);
  // only the root's tensor is read
  const inputs = g.rank === root ? [tensor.node] : [];
  return run(g, 'broadcast', { dtype: tensor.dtype, shape: tensor.shape, extra: root, extraName: 'src', describeExtra: (v) => `src ${v}` }, o, inputs, () => {
    if (g.rank === root) {
      // the root's buffer is only read; its tensor keeps its value
      const mine = readRegion(tensor);
      return { launch: () => [engine.broadcast(mine, root)], onDone: () => {}, results: [tensor], regions: [mine] };
    }
    const out = freshRegion(tensor.dtype, tensor.shape, tensor.device);
    return { launch: () => [engine.broadcast(out.region, root)], onDone: () => (commit(tensor, out), settle(out, [tensor])), results: [tensor], regions: [out.region] };
  });
}

/** Fills `tensorList[r]` with rank r's `tensor` (a list of worldSize tensors shaped like it). */
export function allGather(tensorList: Tensor[], tensor: Tensor, opts?: CollectiveOptions): Work | undefined {
  checkOptions('allGather', opts, COLLECTIVE_KEYS);
  checkTensor('allGather', tensor);
  const g = currentGroup('allGather');
  if (!Array.isArray(tensorList) || tensorList.length !== g.size) {
    throw new DistError(`allGather(): tensorList must hold worldSize (${g.size}) tensors, got ${Array.isArray(tensorList) ? tensorList.length : typeof tensorList}`);
  }
  tensorList.forEach((t, i) => {
    checkTensor('allGather', t, `tensorList[${i}]`);
    if (t.shape.join() !== tensor.shape.join() || t.dtype !== tensor.dtype) {
      throw new DistError(`allGather(): tensorList[${i}] is ${t.dtype} [${t.shape.join(', ')}], but the input is ${tensor.dtype} [${tensor.shape.join(', ')}]`);
    }
  });
  const engine = engineFor('allGather', g, tensor.device);
  return run(g, 'allGather', { dtype: tensor.dtype, shape: tensor.shape }, opts, [tensor.node], () => {
    const send = readRegion(tensor);
    const out = freshRegion(tensor.dtype, [g.size, ...tensor.shape], tensor.device);
    return {
      launch: () => [engine.allGather(send, out.region)],
      regions: [send, out.region],
      onDone: () => {
        tensorList.forEach((t, i) => commit(t, out, { slice: i }));
        settle(out, tensorList);
      },
      results: tensorList,
    };
  });
}

/** The ranks' `input`s concatenated along dim 0 into `output` ([worldSize·n, …]). */
export function allGatherIntoTensor(output: Tensor, input: Tensor, opts?: CollectiveOptions): Work | undefined {
  checkOptions('allGatherIntoTensor', opts, COLLECTIVE_KEYS);
  checkTensor('allGatherIntoTensor', output, 'output_tensor');
  checkTensor('allGatherIntoTensor', input, 'input_tensor');
  const g = currentGroup('allGatherIntoTensor');
  const want = input.dim() === 0 ? [g.size] : [input.shape[0]! * g.size, ...input.shape.slice(1)];
  if (output.shape.join() !== want.join() || output.dtype !== input.dtype) {
    throw new DistError(
      `allGatherIntoTensor(): output tensor size must be equal to world_size times input tensor size: expected ${input.dtype} [${want.join(', ')}], got ${output.dtype} [${output.shape.join(', ')}]`,
    );
  }
  const engine = engineFor('allGatherIntoTensor', g, input.device);
  return run(g, 'allGatherIntoTensor', { dtype: input.dtype, shape: input.shape }, opts, [input.node], () => {
    const send = readRegion(input);
    const out = freshRegion(output.dtype, output.shape, output.device);
    return {
      launch: () => [engine.allGather(send, out.region)],
      onDone: () => {
        commit(output, out);
        settle(out, [output]);
      },
      results: [output],
      regions: [send, out.region],
    };
  });
}

/** Reduces `inputList` (worldSize tensors) across ranks; rank r gets reduction r in `output`. */
export function reduceScatter(output: Tensor, inputList: Tensor[], op?: ReduceOp | ReduceOptions, opts?: ReduceOptions): Work | undefined {
  const o = splitReduce('reduceScatter', op, opts);
  checkTensor('reduceScatter', output, 'output');
  const g = currentGroup('reduceScatter');
  if (!Array.isArray(inputList) || inputList.length !== g.size) {
    throw new DistError(`reduceScatter(): inputList must hold worldSize (${g.size}) tensors, got ${Array.isArray(inputList) ? inputList.length : typeof inputList}`);
  }
  inputList.forEach((t, i) => {
    checkTensor('reduceScatter', t, `inputList[${i}]`);
    if (t.shape.join() !== output.shape.join() || t.dtype !== output.dtype) {
      throw new DistError(`reduceScatter(): inputList[${i}] is ${t.dtype} [${t.shape.join(', ')}], but the output is ${output.dtype} [${output.shape.join(', ')}]`);
    }
  });
  return reduceScatterFlat('reduceScatter', g, output, torchStack(inputList), o);
}

/** Reduces `input` ([worldSize·n, …]) across ranks; rank r gets rows r·n … (r+1)·n−1 in `output`. */
export function reduceScatterTensor(output: Tensor, input: Tensor, op?: ReduceOp | ReduceOptions, opts?: ReduceOptions): Work | undefined {
  const o = splitReduce('reduceScatterTensor', op, opts);
  checkTensor('reduceScatterTensor', output, 'output');
  checkTensor('reduceScatterTensor', input, 'input');
  const g = currentGroup('reduceScatterTensor');
  if (input.numel() !== output.numel() * g.size || input.dtype !== output.dtype) {
    throw new DistError(
      `reduceScatterTensor(): input tensor must be the same size as output size times world size: input ${input.dtype} [${input.shape.join(', ')}], output ${output.dtype} [${output.shape.join(', ')}], world size ${g.size}`,
    );
  }
  return reduceScatterFlat('reduceScatterTensor', g, output, input, o);
}

/** The inputs one after another in one buffer, as MPI_Reduce_scatter_block reads them. */
const torchStack = (list: Tensor[]): Tensor => cat(list.map((t) => t.reshape(-1)));

function reduceScatterFlat(name: 'reduceScatter' | 'reduceScatterTensor', g: ProcessGroup, output: Tensor, input: Tensor, o: ReduceOptions): Work | undefined {
  const engine = engineFor(name, g, output.device);
  const red = o.op ?? ReduceOp.SUM;
  checkOpDtype(name, red, output);
  return run(g, name, reductionHeader(output.dtype, output.shape, red), o, [input.node], () => {
    const send = readRegion(input);
    const out = freshRegion(output.dtype, output.shape, output.device);
    const onDone = (): void => {
      finishReduce(g, red, engine, output, out);
      settle(out, [output]);
    };
    return { launch: () => [engine.reduceScatter(send, out.region, red === 'avg' && !engine.hasAvg ? 'sum' : red)], onDone, results: [output], regions: [send, out.region] };
  });
}

/** Waits until every rank has called barrier(). */
export function barrier(opts?: CollectiveOptions): Work | undefined {
  checkOptions('barrier', opts, COLLECTIVE_KEYS);
  const g = currentGroup('barrier');
  // the rendezvous is itself a barrier: the header all-gather completes once every rank arrived
  return run(g, 'barrier', { dtype: 'float32', shape: [] }, opts, [], () => ({ launch: () => [g.control.barrier()], onDone: () => {}, results: [] }));
}

// ------------------------------------------------------------- point to point

function p2pTag(fn: string, tag: number | undefined): number {
  const t = tag ?? 0;
  if (!Number.isInteger(t) || t < 0 || t > 32767) throw new RangeError(`${fn}(): tag must be an integer from 0 to 32767, got ${t}`);
  return t;
}

/** Sends `tensor` to rank `dst` (asynchronously: isend). */
export function isend(tensor: Tensor, dst?: number | SendOptions, opts?: SendOptions): Work {
  const o: SendOptions = typeof dst === 'object' && dst !== null ? dst : { ...opts, ...(dst !== undefined ? { dst } : {}) };
  checkOptions('isend', o, { dst: 'number', tag: 'number', timeout: 'number' });
  checkTensor('isend', tensor);
  const g = currentGroup('isend');
  if (o.dst === undefined) throw new TypeError("isend() missing required argument 'dst'");
  checkRank('isend', g, o.dst, 'dst');
  if (o.dst === g.rank) throw new DistError(`isend(): Invalid destination rank: destination rank should not be the same as the rank of the current process (${g.rank})`);
  const engine = engineFor('isend', g, tensor.device);
  const tag = p2pTag('isend', o.tag);
  const timeout = timeoutOf('send', g, o.timeout);
  const buf = readRegion(tensor);
  const p = started([buf], () => engine.send(buf, o.dst!, tag));
  const work = g.work('send', -1, [p], () => {}, [tensor], timeout, `rank ${o.dst} did not receive it (tag ${tag})`, [buf]);
  g.poller.add(work);
  return work;
}

/** Sends `tensor` to rank `dst` and waits until it left. */
export function send(tensor: Tensor, dst?: number | SendOptions, opts?: SendOptions): void {
  isend(tensor, dst, opts).wait();
}

/** Receives into `tensor` from `src` (any rank when omitted); the Work's getFuture() gives [tensor]. */
export function irecv(tensor: Tensor, src?: number | RecvOptions, opts?: RecvOptions): Work {
  return startRecv('irecv', tensor, src, opts).work;
}

/** Receives into `tensor` from `src` (any rank when omitted); returns the sender's rank. */
export function recv(tensor: Tensor, src?: number | RecvOptions, opts?: RecvOptions): number {
  const { work, source } = startRecv('recv', tensor, src, opts);
  work.wait();
  return source();
}

function startRecv(fn: string, tensor: Tensor, src: number | RecvOptions | undefined, opts: RecvOptions | undefined): { work: Work; source: () => number } {
  const o: RecvOptions = typeof src === 'object' && src !== null ? src : { ...opts, ...(src !== undefined ? { src } : {}) };
  checkOptions(fn, o, { src: 'number', tag: 'number', timeout: 'number' });
  checkTensor(fn, tensor);
  const g = currentGroup(fn);
  if (o.src !== undefined) checkRank(fn, g, o.src, 'src');
  const engine = engineFor(fn, g, tensor.device);
  const tag = p2pTag(fn, o.tag);
  const timeout = timeoutOf('recv', g, o.timeout);
  const out = freshRegion(tensor.dtype, tensor.shape, tensor.device);
  const p = started([out.region], () => engine.recv(out.region, o.src ?? null, tag));
  const from = o.src === undefined ? 'any rank' : `rank ${o.src}`;
  const work = g.work(
    'recv',
    -1,
    [p],
    () => {
      const n = p.count();
      if (n !== tensor.numel()) {
        throw new DistError(`${fn}(): rank ${p.source()} sent ${n} elements, but the receiving tensor [${tensor.shape.join(', ')}] holds ${tensor.numel()}`);
      }
      commit(tensor, out);
      settle(out, [tensor]);
    },
    [tensor],
    timeout,
    `nothing arrived from ${from} (tag ${tag})`,
    [out.region],
  );
  if (fn === 'irecv') g.poller.add(work);
  return { work, source: () => p.source() };
}
