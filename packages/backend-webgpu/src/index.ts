/**
 * The webgpu backend: kernel IR rendered to WGSL, run on `navigator.gpu` in browsers or on Dawn
 * (the `webgpu` npm package) in Node. Importing this module registers it; `await
 * torch.init('webgpu')` brings the device up.
 *
 * Launches are recorded into one command encoder and submitted together (when a read needs
 * them, on `synchronize()`, or after the synchronous code that launched them returns), so the
 * kernels of one realize run without a round trip to the host. Reads are asynchronous only.
 */
import { BackendUnavailableError, type Backend, type BackendBuffer, type Capabilities, type Kernel } from '@fusor/compiler';
import { registerBackend } from '@fusor/runtime';
import type { DType, HostArray } from '@fusor/ir';
import { BufferUsage, MapMode, openDevice, ShaderStage, type WebGPUContext } from './device.js';
import { deviceBytes, fromDevice, Int64RangeError, INT64_RANGE_HINT, toDevice } from './host.js';
import { dispatchSize, reductionMode, renderWgsl, wgslPlanning, type RenderedWgsl, type WgslLayout, type WgslOptions } from './render-wgsl.js';
import { webgpuGemm, type GemmDevice } from './gemm.js';
import { webgpuSort, type SortDevice } from './sort.js';

export { renderWgsl, dispatchSize, storageType, isCooperative, reductionMode, wgslPlanning, COOPERATIVE_MARK, SUBGROUP_MARK, type ReductionMode, DEFAULT_WGSL_OPTIONS, MAX_COOPERATIVE_OUTPUTS, WgslRenderError, type WgslOptions, type RenderedWgsl, type WgslLayout } from './render-wgsl.js';
export { Int64RangeError } from './host.js';
export { renderGemm, planGemm, chooseTiling, describeGemm, gemmName, type GemmTiling, type GemmVariant, type GemmPlan, type GemmLimits, type WebGPUGemmOptions } from './gemm.js';

export interface WebGPUBuffer extends BackendBuffer {
  readonly gpu: GPUBuffer;
  readonly bytes: number;
}

export interface WebGPUProgram {
  readonly name: string;
  readonly pipeline: GPUComputePipeline;
  /** The pipeline's bind-group layout (held: asking the pipeline makes a new wrapper per launch). */
  readonly bindGroupLayout: GPUBindGroupLayout;
  readonly layout: WgslLayout;
  /** Output elements: one invocation each. */
  readonly size: number;
  readonly workgroupSize: number;
  /** Outputs one workgroup computes: the workgroup size (one invocation each), 1 (a workgroup per output) or workgroup ÷ subgroup size. */
  readonly outputsPerWorkgroup: number;
  /** Dtypes of the scalar parameters, in the uniform's order. */
  readonly varTypes: readonly DType[];
}

/** Storage usage every data buffer gets. */
const DATA_USAGE = (): number => BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** Submit at least this often, so a long loop without reads keeps memory bounded. */
const MAX_BATCH = 256;
/** Bytes of free buffers kept for reuse. */
const POOL_LIMIT = 256 * 1024 * 1024;

/** Staging buffers up to this size are kept for the next read. */
const STAGING_KEEP = 64 * 1024 * 1024;

/**
 * The size class of a request: whole 256 bytes up to 4 KiB, then four classes per power of two
 * (2^k, 1.25·2^k, 1.5·2^k, 1.75·2^k), so a buffer wastes under a quarter of itself.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 4096) return Math.ceil(bytes / 256) * 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 4;
  return Math.ceil(bytes / step) * step;
}

/** Base dtypes; float16 joins with `shader-f16`. float64 and bfloat16 never. */
const DTYPES: readonly DType[] = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float32'];
/** WebGPU's default storage buffers per shader stage, until an adapter says more. */
const DEFAULT_STORAGE_BUFFERS = 8;

class WebGPURuntime {
  ctx: WebGPUContext | undefined;
  private readonly pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private launches = 0;
  readonly stats = { submits: 0, launches: 0, reads: 0, lastBatch: 0 };
  /** Buffers freed while recorded work may still use them: pooled once that work is submitted. */
  private retired: GPUBuffer[] = [];
  private uniformPool: GPUBuffer[] = [];
  private uniformsInFlight: GPUBuffer[] = [];
  private flushQueued = false;
  private errors: string[] = [];
  overflow: GPUBuffer | undefined;
  /** Pipeline layouts by binding pattern (bounded: one per count and kind of bindings). */
  private layouts = new Map<string, { pipeline: GPUPipelineLayout; group: GPUBindGroupLayout }>();
  /** Free staging buffers for reads, by size class. */
  private readonly staging = new Map<number, GPUBuffer[]>();

  get device(): GPUDevice {
    if (!this.ctx) {
      throw new BackendUnavailableError("webgpu is not initialized: call `await torch.init('webgpu')` before using webgpu tensors");
    }
    return this.ctx.device;
  }

  attach(ctx: WebGPUContext): void {
    this.ctx = ctx;
    ctx.device.addEventListener('uncapturederror', (e) => {
      this.errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
    this.overflow = ctx.device.createBuffer({ size: 4, usage: DATA_USAGE() });
  }

  alloc(bytes: number): GPUBuffer {
    const max = this.device.limits.maxBufferSize;
    if (bytes > max) throw new RangeError(`a webgpu buffer of ${bytes} bytes exceeds this device's maxBufferSize (${max})`);
    // pooled by size class, so a freed buffer serves any request of its class
    const size = Math.min(sizeClass(bytes), max);
    const free = this.pool.get(size);
    if (free?.length) {
      this.pooledBytes -= size;
      return free.pop()!;
    }
    return this.device.createBuffer({ size, usage: DATA_USAGE() });
  }

  release(buf: GPUBuffer): void {
    if (this.encoder) this.retired.push(buf);
    else this.pooled(buf);
  }

  /** Destroys every pooled buffer and staging buffer (the compiler calls this before retrying an allocation). */
  trim(): void {
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    this.pooledBytes = 0;
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
  }

  private pooled(buf: GPUBuffer): void {
    if (this.pooledBytes + buf.size > POOL_LIMIT) {
      buf.destroy();
      return;
    }
    let list = this.pool.get(buf.size);
    if (!list) this.pool.set(buf.size, (list = []));
    list.push(buf);
    this.pooledBytes += buf.size;
  }

  private uniform(vars: readonly number[], layout: readonly DType[]): GPUBuffer {
    const bytes = Math.max(16, Math.ceil((vars.length * 4) / 16) * 16);
    const buf = this.uniformPool.find((b) => b.size === bytes);
    const u = buf ? (this.uniformPool.splice(this.uniformPool.indexOf(buf), 1), buf) : this.device.createBuffer({ size: bytes, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    const data = new DataView(new ArrayBuffer(bytes));
    vars.forEach((v, i) => (layout[i] === 'float32' ? data.setFloat32(i * 4, v, true) : data.setInt32(i * 4, v, true)));
    this.device.queue.writeBuffer(u, 0, data.buffer);
    this.uniformsInFlight.push(u);
    return u;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    this.computePass();
    this.pass!.end();
    this.pass = undefined;
    return this.encoder!;
  }

  pipelineLayout(layout: WgslLayout, outputs: readonly boolean[]): { pipeline: GPUPipelineLayout; group: GPUBindGroupLayout } {
    const key = `${outputs.map((o) => (o ? 'w' : 'r')).join('')}|${layout.varsBinding}|${layout.overflowBinding}`;
    let pl = this.layouts.get(key);
    if (!pl) {
      const entries: GPUBindGroupLayoutEntry[] = outputs.map((o, i) => ({
        binding: i,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: o ? 'storage' : 'read-only-storage' },
      }));
      if (layout.varsBinding !== null) entries.push({ binding: layout.varsBinding, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      if (layout.overflowBinding !== null) entries.push({ binding: layout.overflowBinding, visibility: ShaderStage.COMPUTE, buffer: { type: 'storage' } });
      const group = this.device.createBindGroupLayout({ entries });
      pl = { pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group] }), group };
      this.layouts.set(key, pl);
    }
    return pl;
  }

  launch(p: WebGPUProgram, buffers: readonly WebGPUBuffer[], vars: readonly number[]): void {
    if (p.size === 0) return;
    const limits = this.device.limits;
    const bound = buffers.map((b) => b.gpu);
    for (const b of buffers) {
      if (b.bytes > limits.maxStorageBufferBindingSize) {
        throw new RangeError(`a webgpu kernel cannot bind a buffer of ${b.bytes} bytes: this device's maxStorageBufferBindingSize is ${limits.maxStorageBufferBindingSize}`);
      }
    }
    // an input that is also the output (an in-place op reading its target) is read from a copy:
    // WebGPU forbids binding one buffer as writable and readable in the same dispatch
    for (let i = 1; i < bound.length; i++) {
      if (bound[i] === bound[0]) {
        const copy = this.alloc(buffers[0]!.bytes);
        this.endPass().copyBufferToBuffer(bound[0]!, 0, copy, 0, buffers[0]!.bytes);
        this.retired.push(copy);
        for (let j = i; j < bound.length; j++) if (bound[j] === bound[0]) bound[j] = copy;
      }
    }
    // bound to the tensor's bytes: a pooled buffer of a size class may be longer
    const entries: GPUBindGroupEntry[] = bound.map((buffer, i) => ({ binding: i, resource: { buffer, size: buffers[i]!.bytes } }));
    if (p.layout.varsBinding !== null) entries.push({ binding: p.layout.varsBinding, resource: { buffer: this.uniform(vars, p.varTypes) } });
    if (p.layout.overflowBinding !== null) entries.push({ binding: p.layout.overflowBinding, resource: { buffer: this.overflow! } });
    const pass = this.computePass();
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: p.bindGroupLayout, entries }));
    const [x, y] = dispatchSize(p.size, p.outputsPerWorkgroup, limits.maxComputeWorkgroupsPerDimension);
    pass.dispatchWorkgroups(x, y);
    this.stats.launches++;
    if (++this.launches >= MAX_BATCH) this.flush();
  }

  /** Records a dispatch of a hand-written pipeline (the GEMM): buffers at bindings 0…, the uniform after them. */
  dispatchRaw(pipeline: GPUComputePipeline, group: GPUBindGroupLayout, buffers: readonly WebGPUBuffer[], words: readonly number[], groups: readonly [number, number, number]): void {
    const limits = this.device.limits;
    for (const b of buffers) {
      if (b.bytes > limits.maxStorageBufferBindingSize) {
        throw new RangeError(`a webgpu kernel cannot bind a buffer of ${b.bytes} bytes: this device's maxStorageBufferBindingSize is ${limits.maxStorageBufferBindingSize}`);
      }
    }
    const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({ binding: i, resource: { buffer: b.gpu, size: b.bytes } }));
    entries.push({ binding: buffers.length, resource: { buffer: this.uniform(words, words.map(() => 'int32')) } });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: group, entries }));
    pass.dispatchWorkgroups(...groups);
    this.stats.launches++;
    if (++this.launches >= MAX_BATCH) this.flush();
  }

  /** Submits everything recorded so far. */
  flush(extra?: (enc: GPUCommandEncoder) => void): void {
    this.flushQueued = false;
    if (!this.encoder && !extra) return;
    const enc = this.encoder ? this.endPass() : this.device.createCommandEncoder();
    extra?.(enc);
    this.device.queue.submit([enc.finish()]);
    this.stats.submits++;
    if (this.launches) this.stats.lastBatch = this.launches;
    this.encoder = undefined;
    this.launches = 0;
    for (const b of this.retired) this.pooled(b);
    this.retired = [];
    this.uniformPool.push(...this.uniformsInFlight);
    this.uniformsInFlight = [];
  }

  /**
   * Host → device. A queue write runs before commands recorded but not yet submitted, so those
   * are submitted first: a kernel launched earlier must not see data written later (a jit replay
   * writes new inputs into buffers its previous step's kernels read).
   */
  write(buf: GPUBuffer, words: ArrayBufferView): void {
    if (this.encoder) this.flush();
    this.device.queue.writeBuffer(buf, 0, words.buffer, words.byteOffset, words.byteLength);
  }

  async read(buf: WebGPUBuffer): Promise<ArrayBuffer> {
    this.stats.reads++;
    // a staging buffer of the size class, reused: reads map asynchronously and never allocate in steady state
    const need = sizeClass(buf.bytes + 4);
    const free = this.staging.get(need);
    const staging = free?.pop() ?? this.device.createBuffer({ size: need, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.flush((enc) => {
      enc.copyBufferToBuffer(buf.gpu, 0, staging, 0, buf.bytes);
      enc.copyBufferToBuffer(this.overflow!, 0, staging, buf.bytes, 4);
    });
    let bytes: ArrayBuffer;
    let overflowed: boolean;
    try {
      await staging.mapAsync(MapMode.READ, 0, buf.bytes + 4);
      const mapped = staging.getMappedRange(0, buf.bytes + 4);
      overflowed = new Uint32Array(mapped, buf.bytes, 1)[0] !== 0;
      bytes = mapped.slice(0, buf.bytes);
      staging.unmap();
    } catch (e) {
      staging.destroy();
      throw e;
    }
    if (need <= STAGING_KEEP) {
      let list = this.staging.get(need);
      if (!list) this.staging.set(need, (list = []));
      if (list.length < 4) list.push(staging);
      else staging.destroy();
    } else {
      staging.destroy();
    }
    this.raiseErrors();
    if (overflowed) {
      this.device.queue.writeBuffer(this.overflow!, 0, new Uint32Array(1));
      throw new Int64RangeError(`an int64 result computed on webgpu overflowed: ${INT64_RANGE_HINT}`);
    }
    return bytes;
  }

  raiseErrors(): void {
    if (!this.errors.length) return;
    const errs = this.errors;
    this.errors = [];
    throw new Error(`webgpu reported ${errs.length === 1 ? 'an error' : `${errs.length} errors`}: ${errs.join('\n')}`);
  }

  async synchronize(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.raiseErrors();
  }
}

/** Invocations per workgroup: 64, or fewer where the device allows fewer. */
const WORKGROUP = 64;
const runtime = new WebGPURuntime();

/**
 * Smallest subgroup that reductions use for their rows. SwiftShader's subgroups are 4 lanes of
 * CPU SIMD: there a subgroup per row ran row sums (64×16384 … 2048×512) and softmax over
 * 4096×1024 no faster, mostly slower, than one invocation per row (a CPU core reads a strided
 * row as well as a contiguous one), so 4-lane subgroups are left out; GPUs' 8-to-64-lane
 * subgroups read a row in coalesced accesses instead of one row per lane.
 */
export const MIN_SUBGROUP_ROWS = 8;

/** What the renderer may use on this device. */
function wgslOptions(): WgslOptions {
  const ctx = runtime.ctx;
  const sg = ctx?.subgroupSize;
  return { workgroupSize: workgroupSize(), f16: ctx?.f16 ?? false, ...(sg && sg >= MIN_SUBGROUP_ROWS ? { subgroupSize: sg } : {}) };
}

function workgroupSize(): number {
  const l = runtime.ctx?.device.limits;
  return l ? Math.min(WORKGROUP, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX) : WORKGROUP;
}

/** The subgroup size the device checked out with (device.ts), whether or not reductions use it here (MIN_SUBGROUP_ROWS). */
export const webgpuSubgroupSize = (): number | undefined => runtime.ctx?.subgroupSize;

/**
 * Command submissions, dispatches and reads since the process started, and the dispatches in
 * the last submission that had any (batching is observable).
 */
export const webgpuStats = (): { submits: number; launches: number; reads: number; lastBatch: number } => ({ ...runtime.stats });

/** The live handle of each device buffer: a kernel given any other is a use after free. */
const owner = new WeakMap<GPUBuffer, WebGPUBuffer>();

const gemmPipelines = new Map<string, { pipeline: GPUComputePipeline; group: GPUBindGroupLayout }>();
/** Layouts by the number of epilogue operands: C, A, B, those, then the uniform. */
const gemmLayouts = new Map<number, { pipeline: GPUPipelineLayout; group: GPUBindGroupLayout }>();

/** The GEMM routine's view of the device: its pipelines (one per variant, cached) and its launches. */
const gemmDevice: GemmDevice<WebGPUBuffer> = {
  get limits() {
    return runtime.device.limits;
  },
  get f16() {
    return runtime.ctx?.f16 ?? false;
  },
  pipeline(name, code, extra) {
    let p = gemmPipelines.get(name);
    if (!p) {
      const device = runtime.device;
      let layout = gemmLayouts.get(extra);
      if (!layout) {
        const read = (binding: number): GPUBindGroupLayoutEntry => ({ binding, visibility: ShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } });
        const group = device.createBindGroupLayout({
          entries: [
            { binding: 0, visibility: ShaderStage.COMPUTE, buffer: { type: 'storage' } },
            read(1),
            read(2),
            ...Array.from({ length: extra }, (_, i) => read(3 + i)),
            { binding: 3 + extra, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform' } },
          ],
        });
        layout = { pipeline: device.createPipelineLayout({ bindGroupLayouts: [group] }), group };
        gemmLayouts.set(extra, layout);
      }
      const pipeline = device.createComputePipeline({ layout: layout.pipeline, compute: { module: device.createShaderModule({ code, label: name }), entryPoint: 'main' }, label: name });
      p = { pipeline, group: layout.group };
      gemmPipelines.set(name, p);
    }
    return p.pipeline;
  },
  dispatch(name, pipeline, buffers, params, groups) {
    for (const b of buffers) if (owner.get(b.gpu) !== b) throw new Error(`internal: ${name} was given a freed webgpu buffer`);
    runtime.dispatchRaw(pipeline, gemmPipelines.get(name)!.group, buffers, params, groups);
  },
};

const gemm = webgpuGemm(() => gemmDevice);

/**
 * Shader compilers inline every helper function (the range reduction of sin and cos, the
 * integer emulation of int64) and optimize the whole entry point at once, in time that grows
 * much faster than the kernel: on SwiftShader the backward pass of a 20-step chain of sines
 * compiled in 6 s as one kernel and a 24-step one in 42 s. A deep chain is cut into kernels
 * this deep instead (a buffer written and read per 64 ops, against seconds of compilation).
 */
const WEBGPU_FUSED_DEPTH = 64;

const sortPipelines = new Map<string, GPUComputePipeline>();
let sortLayout: { pipeline: GPUPipelineLayout; group: GPUBindGroupLayout } | undefined;

/** The sort routine's view of the device: pipelines on one layout (three storage buffers, the uniform), workspace and launches. */
const sortDevice: SortDevice<WebGPUBuffer> = {
  get limits() {
    return runtime.device.limits;
  },
  pipeline(name, code) {
    let p = sortPipelines.get(name);
    if (!p) {
      const device = runtime.device;
      if (!sortLayout) {
        const rw = (binding: number): GPUBindGroupLayoutEntry => ({ binding, visibility: ShaderStage.COMPUTE, buffer: { type: 'storage' } });
        const group = device.createBindGroupLayout({ entries: [rw(0), rw(1), rw(2), { binding: 3, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform' } }] });
        sortLayout = { pipeline: device.createPipelineLayout({ bindGroupLayouts: [group] }), group };
      }
      p = device.createComputePipeline({ layout: sortLayout.pipeline, compute: { module: device.createShaderModule({ code, label: name }), entryPoint: 'main' }, label: name });
      sortPipelines.set(name, p);
    }
    return p;
  },
  alloc: (size) => webgpuBackend.alloc('int32', size, 0),
  free: (b) => webgpuBackend.free(b),
  dispatch(name, pipeline, buffers, params, groups) {
    for (const b of buffers) if (owner.get(b.gpu) !== b) throw new Error(`internal: ${name} was given a freed webgpu buffer`);
    runtime.dispatchRaw(pipeline, sortLayout!.group, buffers, params, groups);
  },
};

const sort = webgpuSort(() => sortDevice);

export const webgpuBackend: Backend<WebGPUBuffer, WebGPUProgram, RenderedWgsl> = {
  name: 'webgpu',
  get capabilities(): Capabilities {
    const ctx = runtime.ctx;
    const storage = ctx ? ctx.device.limits.maxStorageBuffersPerShaderStage : DEFAULT_STORAGE_BUFFERS;
    return {
      dtypes: ctx?.f16 ? [...DTYPES, 'float16'] : DTYPES,
      // one binding stays free for the int64 overflow flag
      maxBuffers: storage - 1,
      syncRead: false,
      fp16: ctx?.f16 ?? false,
      // a row kernel renders one invocation per row, or a subgroup or workgroup per row where
      // the reduction modes choose so (render-wgsl.ts)
      rowKernels: true,
      maxFusedDepth: WEBGPU_FUSED_DEPTH,
    };
  },
  isAvailable() {
    const hasNavigatorGpu = typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== 'undefined';
    const node = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
    if (hasNavigatorGpu || node) return { ok: true };
    return { ok: false, reason: 'this JavaScript runtime has no navigator.gpu (WebGPU) and is not Node (where the webgpu npm package provides it)' };
  },
  async init() {
    if (!runtime.ctx) runtime.attach(await openDevice());
    return runtime.ctx!.description;
  },
  alloc(dtype, size) {
    if (!this.capabilities.dtypes.includes(dtype)) throw new TypeError(`${dtype} is not supported by the webgpu backend`);
    const bytes = deviceBytes(dtype, size);
    const buf = { dtype, size, bytes, gpu: runtime.alloc(bytes) };
    owner.set(buf.gpu, buf);
    return buf;
  },
  free(buf) {
    if (owner.get(buf.gpu) !== buf) return; // freed already (a failed upload returns its buffer itself)
    owner.delete(buf.gpu);
    if (runtime.ctx) runtime.release(buf.gpu);
  },
  trim() {
    if (runtime.ctx) runtime.trim();
  },
  write(buf, data) {
    let words: ArrayBufferView;
    try {
      words = toDevice(buf.dtype, data);
    } catch (e) {
      owner.delete(buf.gpu);
      runtime.release(buf.gpu);
      throw e;
    }
    runtime.write(buf.gpu, words);
  },
  async read(buf) {
    return fromDevice(buf.dtype, buf.size, await runtime.read(buf)) satisfies HostArray;
  },
  /** This device's numbers for the planning pass (workgroup size, subgroups). */
  get planning() {
    return wgslPlanning(wgslOptions());
  },
  render: (kernel) => renderWgsl(kernel, wgslOptions()),
  describe(kernel) {
    const opts = wgslOptions();
    const wg = opts.workgroupSize;
    const mode = reductionMode(kernel, opts);
    if (mode === 'workgroup') {
      return `workgroup ${wg}, one workgroup per output (${kernel.size}): its invocations share each reduction loop and combine in a workgroup tree`;
    }
    const limits = runtime.ctx?.device.limits;
    const per = mode === 'subgroup' ? wg / opts.subgroupSize! : wg;
    const [x, y] = dispatchSize(kernel.size, per, limits?.maxComputeWorkgroupsPerDimension ?? 65535);
    const grid = `grid ${y > 1 ? `${x}×${y}` : x}`;
    if (mode === 'subgroup') return `workgroup ${wg}, one subgroup of ${opts.subgroupSize} per output (${per} per workgroup), combined by subgroupShuffleXor: ${grid}`;
    return `workgroup ${wg}, one invocation per output: ${grid}`;
  },
  compile(rendered, kernel) {
    const device = runtime.device;
    const { layout } = rendered;
    const module = device.createShaderModule({ code: rendered.source, label: kernel.name });
    const pipelineLayout = runtime.pipelineLayout(layout, kernel.buffers.map((b) => b.output));
    const pipeline = device.createComputePipeline({ layout: pipelineLayout.pipeline, compute: { module, entryPoint: rendered.entry }, label: kernel.name });
    return {
      name: kernel.name,
      pipeline,
      bindGroupLayout: pipelineLayout.group,
      layout,
      size: kernel.size,
      workgroupSize: rendered.groupSize,
      outputsPerWorkgroup: rendered.outputsPerGroup,
      varTypes: kernel.vars.map((v) => v.dtype),
    };
  },
  launch(program, buffers, vars) {
    // a freed buffer may already hold another tensor: never let a kernel touch one
    for (const b of buffers) if (owner.get(b.gpu) !== b) throw new Error(`internal: kernel ${program.name} was given a freed webgpu buffer`);
    runtime.launch(program, buffers, vars);
  },
  synchronize: () => runtime.synchronize(),
  routines: { gemm, sort },
};

registerBackend(webgpuBackend);
