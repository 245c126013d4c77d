/**
 * DistributedDataParallel: one replica of a module per process, kept identical. At wrap time the
 * parameters (and buffers) are broadcast from rank 0; during backward, a hook on every parameter
 * collects its gradient, and each bucket (about bucketCapMb of gradients, in the order they
 * arrive) is realized and all-reduced (averaged) asynchronously as soon as it is complete, while
 * the rest of the backward graph is still being built and realized. When the last parameter's
 * gradient arrives the buckets are waited for and every `.grad` becomes the average over ranks.
 *
 * fusor's backward is one lazy sweep that realizes all gradients together at its end; realizing
 * bucket by bucket inside the hooks splits that into one realize per bucket. That is the price of
 * starting communication early; with one bucket (a large bucketCapMb) the gradients still fuse.
 *
 * Written against a structural interface (parameters(), forward()), so any module class works.
 */
import { cat, noGrad, zeros, Tensor } from '@fusor/tensor';
import { allReduceOwned, broadcast, ReduceOp } from './collectives.js';
import { DistError } from './errors.js';
import { currentGroup } from './process-group.js';
import { releaseResult } from './storage.js';
import type { Node } from '@fusor/ir';
import type { Work } from './work.js';

/** What DDP needs of a module: its parameters, and a forward pass. */
export interface ModuleLike {
  parameters(): Iterable<Tensor>;
  forward(...args: never[]): unknown;
  /** Non-trainable state kept in step across ranks (batch-norm statistics), when the module has some. */
  buffers?(): Iterable<Tensor>;
}

export interface DistributedDataParallelOptions {
  /** Gradient bucket size in MiB (PyTorch's default: 25). */
  readonly bucketCapMb?: number;
  /** Broadcast buffers() from rank 0 before each forward (default true). */
  readonly broadcastBuffers?: boolean;
}

type ForwardArgs<M extends ModuleLike> = Parameters<M['forward']>;
type ForwardResult<M extends ModuleLike> = ReturnType<M['forward']>;

interface Bucket {
  readonly params: Tensor[];
  /** Each parameter's .grad-to-be: its earlier .grad plus this backward's gradient. */
  readonly grads: Tensor[];
  flat: Tensor | null;
  work: Work | undefined;
  /** The all-reduced sum's buffer node (the gradients read slices of it). */
  result: Node | null;
}

/** What a gradient read after its bucket was released says. */
const BUCKET_REUSED =
  'this gradient was averaged by DistributedDataParallel two backward passes ago, and its bucket has been freed since; clone() a gradient to keep it past the next backward';

export class DistributedDataParallel<M extends ModuleLike> {
  readonly module: M;
  readonly bucketCapMb: number;
  readonly broadcastBuffers: boolean;
  private readonly params: Tensor[];
  private readonly hooks: { remove(): void }[] = [];
  private buckets: Bucket[] = [];
  private open: Bucket | null = null;
  private arrived = 0;
  private syncing = true;
  /** The last backward's bucket results: the current .grads read them; freed at the end of the next backward. */
  private lastResults: Node[] = [];
  /** Gradient buckets started in the last backward (for tests and the bench). */
  lastBucketCount = 0;

  constructor(module: M, opts: DistributedDataParallelOptions = {}) {
    for (const k of Object.keys(opts)) {
      if (k !== 'bucketCapMb' && k !== 'broadcastBuffers') throw new TypeError(`DistributedDataParallel() got an unexpected keyword argument '${k}'`);
    }
    if (opts.bucketCapMb !== undefined && !(opts.bucketCapMb > 0)) {
      throw new RangeError(`DistributedDataParallel(): bucketCapMb must be a positive number, got ${opts.bucketCapMb}`);
    }
    currentGroup('DistributedDataParallel');
    this.module = module;
    this.bucketCapMb = opts.bucketCapMb ?? 25;
    this.broadcastBuffers = opts.broadcastBuffers ?? true;
    this.params = [...module.parameters()].filter((p) => p.requiresGrad);
    if (this.params.length === 0) {
      throw new DistError("DistributedDataParallel is not needed when a module doesn't have any parameter that requires a gradient.");
    }
    if (new Set(this.params).size !== this.params.length) throw new DistError('DistributedDataParallel: a parameter appears twice in module.parameters()');
    this.syncFromRankZero([...module.parameters()]);
    this.syncFromRankZero(this.moduleBuffers());
    for (const p of this.params) this.hooks.push(p.registerHook((g) => this.arrive(p, g)));
  }

  private moduleBuffers(): Tensor[] {
    return this.module.buffers ? [...this.module.buffers()] : [];
  }

  /** One flat broadcast of all the tensors from rank 0, written back into each. */
  private syncFromRankZero(tensors: Tensor[]): void {
    if (tensors.length === 0) return;
    const byDtype = new Map<string, Tensor[]>();
    for (const t of tensors) byDtype.set(t.dtype, [...(byDtype.get(t.dtype) ?? []), t]);
    const root = currentGroup('DistributedDataParallel').rank === 0;
    noGrad(() => {
      for (const group of byDtype.values()) {
        const flat = cat(group.map((t) => t.reshape(-1)));
        broadcast(flat, 0);
        if (root) continue;
        let off = 0;
        for (const t of group) {
          const [start, n] = [off, t.numel()];
          t._assignRealized(flat.node, (all) => all.narrow(0, start, n).reshape(t.shape));
          off += n;
        }
      }
    });
  }

  /** Runs the module's forward (after broadcasting its buffers, and checking the last sync finished). */
  forward(...args: ForwardArgs<M>): ForwardResult<M> {
    if (this.arrived > 0) {
      throw new DistError(
        'Expected to have finished reduction in the prior iteration before starting a new one. This error indicates that your module has parameters that were not used in producing loss. ' +
          `(${this.arrived} of ${this.params.length} parameters received gradients in the last backward.)`,
      );
    }
    if (this.broadcastBuffers) this.syncFromRankZero(this.moduleBuffers());
    return (this.module.forward as (...a: ForwardArgs<M>) => ForwardResult<M>)(...args);
  }

  /** The module's parameters. */
  parameters(): Iterable<Tensor> {
    return this.module.parameters();
  }

  /** Runs `fn` (forward and backward) without averaging gradients: they accumulate locally (PyTorch's no_sync()). */
  noSync<T>(fn: () => T): T {
    const was = this.syncing;
    this.syncing = false;
    try {
      return fn();
    } finally {
      this.syncing = was;
    }
  }

  /** The parameter hooks, removed (the module is left as it was before wrapping). */
  remove(): void {
    for (const h of this.hooks) h.remove();
    this.hooks.length = 0;
  }

  /** A parameter's gradient arrived: bucket it; start the bucket when full; finish after the last. */
  private arrive(p: Tensor, g: Tensor): Tensor | void {
    if (!this.syncing) return;
    const bucket = (this.open ??= { params: [], grads: [], flat: null, work: undefined, result: null });
    bucket.params.push(p);
    // what .grad will hold after this backward is averaged whole, as PyTorch's DDP averages .grad:
    // gradients accumulated under noSync() are synchronized with this backward's
    const prev = p.grad;
    bucket.grads.push(prev ? prev.add(g) : g);
    this.arrived++;
    const bytes = bucket.grads.reduce((s, x) => s + x.numel() * x.elementSize(), 0);
    const last = this.arrived === this.params.length;
    if (bytes >= this.bucketCapMb * 2 ** 20 || last) this.start(bucket, last);
    if (last) {
      const avg = this.finish(p);
      // backward adds what the hook returns to .grad as it is after the hook: start from nothing
      p.grad = null;
      return avg;
    }
    // backward's own sum would recompute the gradient the bucket already computed: add zeros
    // instead (finish() replaces this .grad with the average)
    return zeros(p.shape, { dtype: p.dtype, device: p.device });
  }

  /** Starts a bucket's all-reduce: the last one synchronously (it is waited for at once; MPI's blocking algorithms are faster). */
  private start(b: Bucket, last: boolean): void {
    this.open = null;
    b.flat = noGrad(() => cat(b.grads.map((g) => g.detach().reshape(-1))));
    b.grads.length = 0;
    // summed in place in the bucket's own buffer (it is a fresh computed value nothing else reads);
    // the division by the world size is fused into each gradient's slice
    b.work = allReduceOwned(b.flat, ReduceOp.SUM, (node) => (b.result = node), { asyncOp: !last });
    this.buckets.push(b);
  }

  /** Waits for every bucket; sets each parameter's .grad (the last one's is returned, for its hook). */
  private finish(lastParam: Tensor): Tensor {
    let lastAvg: Tensor | null = null;
    this.lastBucketCount = this.buckets.length;
    const world = currentGroup('DistributedDataParallel').size;
    // the previous backward's buckets: their gradients were replaced (or added into this one's)
    for (const n of this.lastResults) releaseResult(n, BUCKET_REUSED);
    this.lastResults = [];
    for (const b of this.buckets) {
      b.work?.wait();
      if (b.result) this.lastResults.push(b.result);
      let off = 0;
      for (const p of b.params) {
        const avg = b.flat!.narrow(0, off, p.numel()).reshape(p.shape).div(world);
        off += p.numel();
        if (p === lastParam) lastAvg = avg;
        else p.grad = avg;
      }
    }
    this.buckets = [];
    this.arrived = 0;
    return lastAvg!;
  }
}
