/**
 * NVRTC through koffi: CUDA C → a CUBIN for the GPU's own architecture (or PTX for the newest
 * virtual architecture NVRTC knows, when the GPU is newer than NVRTC; the driver then JITs it).
 */
import { readdirSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { CudaError } from './driver.js';
import { bindAll, loadFirst, loadKoffi, type CFunction } from './ffi.js';
import { locateNvrtc, ENV } from './locate.js';

const NVRTC_API = {
  nvrtcVersion: 'int nvrtcVersion(_Out_ int *major, _Out_ int *minor)',
  nvrtcGetErrorString: 'const char *nvrtcGetErrorString(int result)',
  nvrtcCreateProgram:
    'int nvrtcCreateProgram(_Out_ void **prog, const char *src, const char *name, int numHeaders, const char **headers, const char **includeNames)',
  nvrtcDestroyProgram: 'int nvrtcDestroyProgram(_Inout_ void **prog)',
  nvrtcCompileProgram: 'int nvrtcCompileProgram(void *prog, int numOptions, const char **options)',
  nvrtcGetProgramLogSize: 'int nvrtcGetProgramLogSize(void *prog, _Out_ size_t *size)',
  nvrtcGetProgramLog: 'int nvrtcGetProgramLog(void *prog, void *log)',
  nvrtcGetPTXSize: 'int nvrtcGetPTXSize(void *prog, _Out_ size_t *size)',
  nvrtcGetPTX: 'int nvrtcGetPTX(void *prog, void *ptx)',
  nvrtcGetCUBINSize: 'int nvrtcGetCUBINSize(void *prog, _Out_ size_t *size)',
  nvrtcGetCUBIN: 'int nvrtcGetCUBIN(void *prog, void *cubin)',
  nvrtcGetNumSupportedArchs: 'int nvrtcGetNumSupportedArchs(_Out_ int *count)',
  nvrtcGetSupportedArchs: 'int nvrtcGetSupportedArchs(_Out_ int *archs)',
} as const;

type NvrtcFn = keyof typeof NVRTC_API;
const OPTIONAL: NvrtcFn[] = ['nvrtcGetCUBINSize', 'nvrtcGetCUBIN', 'nvrtcGetNumSupportedArchs', 'nvrtcGetSupportedArchs'];

/** Flags every kernel is compiled with: no FMA contraction, so each op rounds as on the cpu backend. */
export const NVRTC_OPTIONS: readonly string[] = ['--fmad=false'];

export class CudaCompileError extends CudaError {
  override name = 'CudaCompileError';
}

export interface Target {
  /** `--gpu-architecture` value: sm_XX (a CUBIN) or compute_XX (PTX for the driver to JIT). */
  readonly arch: string;
  readonly cubin: boolean;
}

export interface Nvrtc {
  readonly path: string;
  readonly version: string;
  /** The target for a device of compute capability major.minor. */
  target(major: number, minor: number): Target;
  /** Compiles one unit; the image is a CUBIN or NUL-terminated PTX, as cuModuleLoadData takes. */
  compile(source: string, target: Target, name?: string): Uint8Array;
}

/**
 * NVRTC loads libnvrtc-builtins by name when it first compiles; a wheel's copy sits beside it but
 * not on the loader's path. Loaded first, it is found by its soname.
 */
function preloadBuiltins(nvrtcPath: string): void {
  if (!isAbsolute(nvrtcPath)) return;
  const dir = dirname(nvrtcPath);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^libnvrtc-builtins\.so/.test(n));
  } catch {
    return;
  }
  for (const n of names) {
    try {
      loadKoffi().load(join(dir, n));
    } catch {
      // a builtins library of another version: NVRTC finds its own or reports it when compiling
    }
  }
}

/** Opens NVRTC; a string says why it could not, and where it looked. */
export function openNvrtc(env: NodeJS.ProcessEnv = process.env): Nvrtc | string {
  const { files, searched } = locateNvrtc(env);
  const opened = loadFirst(files);
  if ('failure' in opened) {
    return (
      `NVRTC (libnvrtc.so) was not found. Looked in: ${searched.join(', ')} (${opened.failure}). ` +
      `Install the CUDA toolkit or \`pip install nvidia-cuda-nvrtc-cu12\`, or set ${ENV.nvrtc} to the library file or its directory`
    );
  }
  preloadBuiltins(opened.path);
  let fn: Record<NvrtcFn, CFunction>;
  try {
    fn = bindAll(opened.lib, NVRTC_API, OPTIONAL);
  } catch (e) {
    return `${opened.path} is not a usable NVRTC library (${(e as Error).message})`;
  }
  const major = [0];
  const minor = [0];
  fn.nvrtcVersion(major, minor);
  const version = `${major[0]}.${minor[0]}`;
  const check = (code: number, what: string): void => {
    if (code !== 0) throw new CudaError(`${what} failed: ${fn.nvrtcGetErrorString(code) as string}`, code);
  };
  const supported = ((): number[] => {
    if (!fn.nvrtcGetNumSupportedArchs || !fn.nvrtcGetSupportedArchs) return [];
    const n = [0];
    if (fn.nvrtcGetNumSupportedArchs(n) !== 0) return [];
    const archs = new Int32Array(n[0]!);
    if (fn.nvrtcGetSupportedArchs(archs) !== 0) return [];
    return [...archs];
  })();

  return {
    path: opened.path,
    version,
    target(maj, min) {
      const cc = maj * 10 + min;
      const canCubin = !!fn.nvrtcGetCUBIN;
      if (supported.length === 0 || supported.includes(cc)) return { arch: canCubin ? `sm_${cc}` : `compute_${cc}`, cubin: canCubin };
      // a GPU newer than this NVRTC: PTX for the newest architecture it knows, JIT-compiled by the driver
      const below = supported.filter((a) => a <= cc);
      const best = below.length ? Math.max(...below) : Math.min(...supported);
      return { arch: `compute_${best}`, cubin: false };
    },
    compile(source, target, name = 'kernel.cu') {
      const prog: [unknown] = [null];
      check(fn.nvrtcCreateProgram(prog, source, name, 0, null, null) as number, 'nvrtcCreateProgram');
      try {
        const options = [`--gpu-architecture=${target.arch}`, ...NVRTC_OPTIONS];
        const code = fn.nvrtcCompileProgram(prog[0], options.length, options) as number;
        if (code !== 0) {
          const size = [0];
          fn.nvrtcGetProgramLogSize(prog[0], size);
          const log = Buffer.alloc(Number(size[0]));
          fn.nvrtcGetProgramLog(prog[0], log);
          throw new CudaCompileError(
            `NVRTC could not compile ${name} for ${target.arch} (${fn.nvrtcGetErrorString(code) as string}):\n${log.toString('utf8').replace(/\0+$/, '')}\n--- source ---\n${source}`,
            code,
          );
        }
        const size = [0];
        if (target.cubin) {
          check(fn.nvrtcGetCUBINSize(prog[0], size) as number, 'nvrtcGetCUBINSize');
          const image = Buffer.alloc(Number(size[0]));
          check(fn.nvrtcGetCUBIN(prog[0], image) as number, 'nvrtcGetCUBIN');
          return image;
        }
        check(fn.nvrtcGetPTXSize(prog[0], size) as number, 'nvrtcGetPTXSize');
        const image = Buffer.alloc(Number(size[0]));
        check(fn.nvrtcGetPTX(prog[0], image) as number, 'nvrtcGetPTX');
        return image;
      } finally {
        fn.nvrtcDestroyProgram(prog);
      }
    },
  };
}
