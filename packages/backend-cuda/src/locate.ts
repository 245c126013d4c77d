/**
 * Where the native libraries are found. The driver (`libcuda.so.1`) comes with the NVIDIA
 * driver and is on the loader's path; NVRTC and cuBLAS come with a CUDA toolkit or a Python wheel
 * (`nvidia-cuda-nvrtc-cu12`, `nvidia-cublas-cu12`, PyTorch's dependencies), so their usual places
 * are searched, newest version first. Environment variables only say where a library is.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Names the environment variables that locate the libraries. */
export const ENV = {
  nvrtc: 'FUSOR_NVRTC_PATH',
  driver: 'FUSOR_LIBCUDA_PATH',
  cublas: 'FUSOR_CUBLAS_PATH',
} as const;

/** Candidates for libcuda, tried in order ('libcuda.so.1' alone asks the system loader). */
export function driverCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const explicit = env[ENV.driver];
  if (explicit) return [explicit];
  return [
    'libcuda.so.1',
    ...['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/local/nvidia/lib64', '/usr/lib/wsl/lib', '/usr/lib/aarch64-linux-gnu'].map((d) =>
      join(d, 'libcuda.so.1'),
    ),
  ];
}

const NVRTC_FILE = /^libnvrtc(-[0-9a-f]{8})?\.so(\.\d+)*$/;
/** libcublas itself, not libcublasLt (its dependency, loaded beside it). */
const CUBLAS_FILE = /^libcublas(-[0-9a-f]{8})?\.so(\.\d+)*$/;

/** Version numbers in a library file name, for newest-first ordering ('libnvrtc.so.12.4' → [12, 4]). */
const versionOf = (file: string): number[] => (file.split('.so')[1] ?? '').split('.').filter(Boolean).map(Number);

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? -1) - (a[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Subdirectories of `dir` whose names match `pattern` (one level, no recursion). */
function matchingDirs(dir: string, pattern: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => pattern.test(n))
      .map((n) => join(dir, n));
  } catch {
    return [];
  }
}

/** The directories searched for NVRTC, in order. */
export const nvrtcDirs = (env: NodeJS.ProcessEnv = process.env): string[] => libraryDirs(env, 'cuda_nvrtc');

/** The directories searched for cuBLAS, in order. */
export const cublasDirs = (env: NodeJS.ProcessEnv = process.env): string[] => libraryDirs(env, 'cublas');

/**
 * A toolkit library's usual directories, in order: the toolkit named by the environment, the
 * loader's path, /usr/local/cuda*, the system directories, then Python site-packages, where the
 * library's own wheel puts it in nvidia/<wheel>/lib (CUDA 13's in nvidia/cu13/lib).
 */
function libraryDirs(env: NodeJS.ProcessEnv, wheel: string): string[] {
  const dirs: string[] = [];
  for (const v of ['CUDA_PATH', 'CUDA_HOME', 'CUDA_ROOT']) {
    const root = env[v];
    if (root) dirs.push(join(root, 'lib64'), join(root, 'lib'));
  }
  for (const d of (env['LD_LIBRARY_PATH'] ?? '').split(':')) if (d) dirs.push(d);
  dirs.push('/usr/local/cuda/lib64', '/usr/local/cuda/targets/x86_64-linux/lib');
  dirs.push(...matchingDirs('/usr/local', /^cuda-\d+(\.\d+)?$/).sort().reverse().map((d) => join(d, 'lib64')));
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/opt/cuda/lib64', '/usr/lib/aarch64-linux-gnu');
  // Python environments: wheels put the libraries in site-packages/nvidia/…/lib (and some torch builds in torch/lib)
  const prefixes = [
    env['VIRTUAL_ENV'],
    env['CONDA_PREFIX'],
    '/usr/local',
    '/usr',
    '/opt/conda',
    join(homedir(), '.local'),
    ...matchingDirs(join(homedir(), '.pyenv', 'versions'), /./),
    // /opt/<name> and /opt/<name>/.venv (e.g. /opt/conda, /opt/torch/.venv)
    ...matchingDirs('/opt', /./).flatMap((d) => [d, join(d, '.venv'), join(d, 'venv')]),
  ].filter((p): p is string => !!p);
  const sitePackages = [
    ...(env['PYTHONPATH'] ?? '').split(':').filter(Boolean),
    ...prefixes.flatMap((p) => matchingDirs(join(p, 'lib'), /^python3(\.\d+)?$/).flatMap((py) => [join(py, 'site-packages'), join(py, 'dist-packages')])),
    ...prefixes.flatMap((p) => [join(p, 'lib', 'python3', 'dist-packages')]),
  ];
  for (const sp of sitePackages) {
    dirs.push(join(sp, 'nvidia', wheel, 'lib'), join(sp, 'nvidia', 'cu13', 'lib'), join(sp, 'nvidia', 'cu12', 'lib'), join(sp, 'torch', 'lib'));
  }
  return [...new Set(dirs)];
}

/** Library files in one directory whose names match `pattern`, newest version first. */
function filesIn(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => pattern.test(n))
    .sort((a, b) => compareVersions(versionOf(a), versionOf(b)))
    .map((n) => join(dir, n));
}

/** NVRTC library files in one directory, newest version first. */
export const nvrtcFilesIn = (dir: string): string[] => filesIn(dir, NVRTC_FILE);

export interface Located {
  /** Files to try, in order. */
  readonly files: string[];
  /** Where we looked (for the error message when nothing loads). */
  readonly searched: string[];
}

/** NVRTC files to try: FUSOR_NVRTC_PATH (a file or a directory) alone when set, else the usual places. */
export const locateNvrtc = (env: NodeJS.ProcessEnv = process.env): Located =>
  locate(env, { variable: ENV.nvrtc, pattern: NVRTC_FILE, dirs: nvrtcDirs(env), fallback: 'libnvrtc.so', wheel: 'nvidia/cuda_nvrtc/lib' });

/** cuBLAS files to try: FUSOR_CUBLAS_PATH (a file or a directory) alone when set, else the usual places. */
export const locateCublas = (env: NodeJS.ProcessEnv = process.env): Located =>
  locate(env, { variable: ENV.cublas, pattern: CUBLAS_FILE, dirs: cublasDirs(env), fallback: 'libcublas.so', wheel: 'nvidia/cublas/lib' });

function locate(
  env: NodeJS.ProcessEnv,
  lib: { variable: string; pattern: RegExp; dirs: readonly string[]; fallback: string; wheel: string },
): Located {
  const explicit = env[lib.variable];
  if (explicit) {
    const isDir = existsSync(explicit) && statSync(explicit).isDirectory();
    return { files: isDir ? filesIn(explicit, lib.pattern) : [explicit], searched: [`${lib.variable}=${explicit}`] };
  }
  const existing = lib.dirs.filter((d) => existsSync(d));
  const files = existing.flatMap((d) => filesIn(d, lib.pattern));
  // the bare name through the loader's own path as a last resort
  return {
    files: [...files, lib.fallback],
    searched: [
      `${lib.variable} (unset)`,
      `CUDA_PATH/CUDA_HOME, LD_LIBRARY_PATH, /usr/local/cuda*/lib64, the system library directories and Python site-packages (${lib.wheel}, nvidia/cu12|cu13/lib, torch/lib)`,
      `of which these exist: ${existing.join(', ') || 'none'}`,
      "the system loader's path",
    ],
  };
}
