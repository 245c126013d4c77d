/**
 * Runs the cuda backend for real without a GPU: the driver and NVRTC are replaced by
 * mock-cuda.c, cuBLAS by mock-cublas.c, and the generated kernels are compiled for the host by
 * g++ (host.mjs). Everything above the driver — koffi bindings, allocator, copies, parameter
 * packing, launch shapes, cuBLAS calls, and the generated CUDA C itself — is the code that runs
 * on a GPU.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
// @ts-expect-error: plain JavaScript (the mock driver runs it with node), typed by use
import { GXX_FLAGS, hostUnit } from './host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** Why the emulator cannot run here (no C compiler), or null. */
export function emulatorUnavailable(): string | null {
  for (const cc of ['gcc', 'g++']) {
    try {
      execFileSync(cc, ['--version'], { stdio: 'ignore' });
    } catch {
      return `${cc} not found: the cuda emulator compiles its mock driver and the kernels with gcc/g++`;
    }
  }
  return null;
}

export interface Emulator {
  /** The mock library (both libcuda and libnvrtc). */
  readonly library: string;
  /** The mock cuBLAS. */
  readonly cublas: string;
  readonly dir: string;
}

/**
 * Builds the mock driver and cuBLAS and points the backend at them (call before the first cuda
 * use). The real cuBLAS is never loaded over the mock driver: `env` may point FUSOR_CUBLAS_PATH
 * elsewhere, to test a missing library.
 */
export function installEmulator(env: Record<string, string> = {}): Emulator {
  const dir = mkdtempSync(join(tmpdir(), 'fusor-cuda-emu-'));
  const library = join(dir, 'libmockcuda.so');
  const cublas = join(dir, 'libmockcublas.so');
  execFileSync('gcc', ['-shared', '-fPIC', '-O1', '-o', library, join(here, 'mock-cuda.c'), '-ldl']);
  execFileSync('gcc', ['-shared', '-fPIC', '-O1', '-o', cublas, join(here, 'mock-cublas.c'), '-lm']);
  Object.assign(process.env, {
    FUSOR_LIBCUDA_PATH: library,
    FUSOR_NVRTC_PATH: library,
    FUSOR_CUBLAS_PATH: cublas,
    MOCK_CUDA_COMPILE: `${process.execPath} ${join(here, 'host.mjs')}`,
    TMPDIR: dir,
    ...env,
  });
  return { library, cublas, dir };
}

/**
 * Compiles many kernel sources (each a full NVRTC unit: prelude + kernel) for the host into one
 * library, in parallel pieces, and adds it to the ones the mock driver searches.
 */
export async function prebuildKernels(emu: Emulator, sources: readonly string[], prelude: string): Promise<void> {
  if (sources.length === 0) return;
  const pieces = Math.min(availableParallelism() * 2, Math.ceil(sources.length / 50));
  const per = Math.ceil(sources.length / pieces);
  const build = join(emu.dir, `kernels-${Date.now()}`);
  mkdirSync(build);
  const objects = await Promise.all(
    Array.from({ length: pieces }, async (_, i) => {
      const unit = join(build, `part${i}.cpp`);
      writeFileSync(unit, hostUnit(sources.slice(i * per, (i + 1) * per), prelude) as string);
      const obj = `${unit}.o`;
      await run('g++', [...(GXX_FLAGS as string[]), '-c', '-o', obj, unit], { maxBuffer: 64 << 20 });
      return obj;
    }),
  );
  const lib = join(build, 'kernels.so');
  await run('g++', ['-shared', '-o', lib, ...objects]);
  if (!existsSync(lib)) throw new Error('kernel library was not built');
  const list = process.env['MOCK_CUDA_KERNELS'];
  process.env['MOCK_CUDA_KERNELS'] = list ? `${list}:${lib}` : lib;
}
