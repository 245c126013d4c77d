/**
 * Bringing a WebGPU device up: `navigator.gpu` in browsers, the `webgpu` npm package (Dawn) in
 * Node, chosen when `init()` runs. The adapter's limits are requested in full, and a self-check
 * kernel must compute the right numbers: some adapters (a Dawn build without a working driver)
 * are handed out but never run a shader.
 */
import { BackendUnavailableError } from '@fusor/compiler';

const SETUP_HINT =
  "In Node, Dawn needs a Vulkan driver; on a machine without a GPU, run `bash scripts/setup-webgpu.sh` and export the LD_LIBRARY_PATH and VK_ICD_FILENAMES it prints (SwiftShader, Vulkan on the CPU). In Chromium, WebGPU needs a secure context, and on Linux the --enable-unsafe-webgpu flag.";

export interface WebGPUContext {
  /** Held for the device's lifetime: Dawn frees its instance when this is collected, crashing later calls. */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly f16: boolean;
  /**
   * The subgroup size reductions may count on: the adapter has `subgroups` with one fixed size,
   * and a check kernel saw subgroups made of consecutive invocations. Undefined otherwise.
   */
  readonly subgroupSize?: number;
  readonly description: string;
}

/** WebGPU's flag values (fixed by the spec), so nothing depends on the platform's globals. */
export const BufferUsage = { MAP_READ: 1, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;
export const MapMode = { READ: 1 } as const;
export const ShaderStage = { COMPUTE: 4 } as const;

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** The platform's GPU entry point, or why there is none. */
async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!isNode()) {
    throw new BackendUnavailableError(`this browser has no navigator.gpu (WebGPU). ${SETUP_HINT}`);
  }
  // a variable specifier keeps bundlers from pulling Dawn's native addon into browser builds
  const specifier = 'webgpu';
  let mod: { create: (flags: string[]) => GPU };
  try {
    mod = (await import(/* @vite-ignore */ specifier)) as typeof mod;
  } catch (e) {
    throw new BackendUnavailableError(
      `the 'webgpu' npm package (Dawn for Node) could not be loaded: ${(e as Error).message}. Install it next to @fusor/backend-webgpu (\`pnpm add webgpu\`). ${SETUP_HINT}`,
    );
  }
  return mod.create([]);
}

/** Limits worth the adapter's maximum: bigger buffers, more bindings, bigger grids. */
const WANTED_LIMITS = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
] as const;

const SELF_CHECK = `
@group(0) @binding(0) var<storage, read_write> out: array<i32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = i32(g.x);
  if (i < 256) { out[i] = i * 3 + i32(sqrt(f32(i * i))) + 1; }
}`;

/** Runs a tiny kernel and checks every value: out[i] = 4i + 1. */
async function selfCheck(device: GPUDevice): Promise<string | undefined> {
  const n = 256;
  const module = device.createShaderModule({ code: SELF_CHECK });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const out = device.createBuffer({ size: n * 4, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: n * 4, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
  pass.dispatchWorkgroups(n / 64);
  pass.end();
  enc.copyBufferToBuffer(out, 0, staging, 0, n * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MapMode.READ);
  const got = new Int32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  out.destroy();
  staging.destroy();
  for (let i = 0; i < n; i++) {
    if (got[i] !== 4 * i + 1) return `out[${i}] = ${got[i]}, expected ${4 * i + 1}`;
  }
  return undefined;
}

/**
 * The fixed subgroup size, if subgroups here are what the renderer assumes: every invocation of a
 * 64-wide workgroup sees subgroup_size = size and subgroup_invocation_id = its index mod size,
 * and a subgroupShuffleXor reaches its partner. Any failure means no subgroups (the fallback).
 */
async function subgroupCheck(device: GPUDevice, size: number): Promise<number | undefined> {
  const code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32) {
  let partner = subgroupShuffleXor(lid, 1u);
  out[lid] = select(0u, 1u, ss == ${size}u && sl == lid % ${size}u && partner == (lid ^ 1u));
}`;
  try {
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const out = device.createBuffer({ size: 256, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
    const staging = device.createBuffer({ size: 256, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(out, 0, staging, 0, 256);
    device.queue.submit([enc.finish()]);
    const err = await device.popErrorScope();
    if (err) return undefined;
    await staging.mapAsync(MapMode.READ);
    const ok = new Uint32Array(staging.getMappedRange().slice(0)).every((v) => v === 1);
    staging.unmap();
    out.destroy();
    staging.destroy();
    return ok ? size : undefined;
  } catch {
    return undefined;
  }
}

export async function openDevice(): Promise<WebGPUContext> {
  const gpu = await findGpu();
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new BackendUnavailableError(`no WebGPU adapter was found. ${SETUP_HINT}`);
  const info = adapter.info;
  const name = [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ') || 'unknown adapter';
  const software = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ? ', software' : '';
  const requiredLimits: Record<string, number> = {};
  for (const l of WANTED_LIMITS) requiredLimits[l] = adapter.limits[l];
  const f16 = adapter.features.has('shader-f16');
  // subgroups of one known size (min = max, a power of two that divides 64)
  const sgInfo = info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const sgSize = sgInfo.subgroupMinSize;
  const subgroups =
    adapter.features.has('subgroups' as GPUFeatureName) && sgSize !== undefined && sgSize === sgInfo.subgroupMaxSize && sgSize >= 2 && sgSize <= 64 && (sgSize & (sgSize - 1)) === 0;
  const features: GPUFeatureName[] = [];
  if (f16) features.push('shader-f16');
  if (subgroups) features.push('subgroups' as GPUFeatureName);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  } catch (e) {
    throw new BackendUnavailableError(`the WebGPU adapter '${name}' refused to create a device: ${(e as Error).message}`);
  }
  const failed = await selfCheck(device).catch((e: Error) => `it failed: ${e.message}`);
  if (failed) {
    device.destroy();
    throw new BackendUnavailableError(
      `the WebGPU adapter '${name}'${software ? ' (a software adapter)' : ''} did not run the self-check kernel correctly (${failed}): it does not execute shaders here. ${SETUP_HINT}`,
    );
  }
  const subgroupSize = subgroups ? await subgroupCheck(device, sgSize!) : undefined;
  const l = device.limits;
  const description = `webgpu: ${name}${software} (${l.maxStorageBuffersPerShaderStage} storage buffers per kernel, shader-f16 ${f16 ? 'yes' : 'no'}, subgroups ${subgroupSize ?? 'no'})`;
  return { gpu, adapter, device, f16, ...(subgroupSize ? { subgroupSize } : {}), description };
}
