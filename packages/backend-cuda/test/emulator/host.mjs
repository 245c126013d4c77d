// Fusor's CUDA C compiled for the host (the emulator's "NVRTC"): each kernel gets a launcher
// `t_<hash>` that runs it for every block and thread of a grid. Plain JavaScript, because the
// mock driver runs `node host.mjs <source.cu> <out.so>` to compile a kernel it has not seen.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIM = join(dirname(fileURLToPath(import.meta.url)), 'shim.h');

/** FNV-1a 64 of the UTF-8 bytes, as 16 hex digits (the mock NVRTC computes the same). */
export function fnv1a64(text) {
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  for (const b of Buffer.from(text, 'utf8')) {
    h0 ^= b;
    const t0 = h0 * 0x1b3;
    let t1 = h1 * 0x1b3;
    let t2 = h2 * 0x1b3 + h0 * 0x100;
    let t3 = h3 * 0x1b3 + h1 * 0x100;
    t1 += t0 >>> 16;
    h0 = t0 & 0xffff;
    t2 += t1 >>> 16;
    h1 = t1 & 0xffff;
    t3 += t2 >>> 16;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((x) => x.toString(16).padStart(4, '0')).join('');
}

const KERNEL = /extern "C" __global__ void __launch_bounds__\([^)]*\) (\w+)\(([^)]*)\)/;

/** Kernels whose threads cooperate (barriers, shared memory, shuffles) run as fibers. */
const COOPERATIVE = /__syncthreads|__syncwarp|__shfl_|__shared__/;

/** A kernel's text renamed to `k_<hash>`, with its launcher `t_<hash>`. */
function kernelWithLauncher(kernelText, hash) {
  const m = KERNEL.exec(kernelText);
  if (!m) throw new Error('no kernel signature in source');
  const name = `k_${hash}`;
  const types = m[2].split(', ').filter(Boolean).map((p) => p.slice(0, p.lastIndexOf(' ')));
  const renamed = kernelText.replace(KERNEL, (s) => s.replace(` ${m[1]}(`, ` ${name}(`));
  const dims = 'gridDim.x = gx; gridDim.y = gridDim.z = 1; blockDim.x = bx; blockDim.y = blockDim.z = 1;';
  if (COOPERATIVE.test(kernelText)) {
    const args = types.map((t, i) => `*(${t}*)fu_p_${hash}[${i}]`).join(', ');
    return `${renamed}
static void** fu_p_${hash};
static void b_${hash}(void) { ${name}(${args}); }
extern "C" void t_${hash}(void** p, unsigned gx, unsigned bx) {
  ${dims}
  fu_p_${hash} = p;
  for (unsigned b = 0; b < gx; b++) {
    blockIdx.x = b; blockIdx.y = blockIdx.z = 0; threadIdx.y = threadIdx.z = 0;
    fu_run_block(b_${hash}, bx);
  }
}`;
  }
  const args = types.map((t, i) => `*(${t}*)p[${i}]`).join(', ');
  return `${renamed}
extern "C" void t_${hash}(void** p, unsigned gx, unsigned bx) {
  ${dims}
  for (unsigned b = 0; b < gx; b++) for (unsigned t = 0; t < bx; t++) {
    blockIdx.x = b; blockIdx.y = blockIdx.z = 0; threadIdx.x = t; threadIdx.y = threadIdx.z = 0;
    ${name}(${args});
  }
}`;
}

/** One C++ unit for many full sources that share `prelude` (each source is prelude + one kernel). */
export function hostUnit(sources, prelude) {
  const parts = [`#include "${SHIM}"`, prelude];
  for (const s of sources) {
    if (!s.startsWith(prelude)) throw new Error('source does not start with the prelude');
    parts.push(kernelWithLauncher(s.slice(prelude.length), fnv1a64(s)));
  }
  return parts.join('\n');
}

export const GXX_FLAGS = ['-x', 'c++', '-O0', '-w', '-fPIC'];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [src, out] = process.argv.slice(2);
  const source = readFileSync(src, 'utf8');
  const unit = `#include "${SHIM}"\n${kernelWithLauncher(source, fnv1a64(source))}`;
  writeFileSync(`${src}.cpp`, unit);
  execFileSync('g++', [...GXX_FLAGS, '-shared', '-o', out, `${src}.cpp`], { stdio: 'inherit' });
}
