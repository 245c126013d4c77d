/** nvcc as a checker of generated CUDA C: `nvcc -ptx` on batches of kernels, a few at a time. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** nvcc on PATH or in the usual toolkit place, or null. */
export function findNvcc(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env['PATH'] ?? '').split(delimiter), '/usr/local/cuda/bin'];
  if (env['CUDA_HOME']) dirs.unshift(join(env['CUDA_HOME'], 'bin'));
  for (const d of dirs) {
    const f = join(d, 'nvcc');
    if (d && existsSync(f)) return f;
  }
  return null;
}

export interface PtxResult {
  readonly file: string;
  readonly ok: boolean;
  /** nvcc's diagnostics (warnings too). */
  readonly log: string;
}

/**
 * The runtime's NVRTC flags, for the H200's architecture. The front end checks the source fully;
 * `-Xcicc -O0` skips NVVM's optimizer, which halves the time and checks nothing more.
 */
export const NVCC_FLAGS = ['-ptx', '-arch=sm_90', '--fmad=false', '-w', '-Xcicc', '-O0'];

function run(nvcc: string, file: string, flags: readonly string[]): Promise<PtxResult> {
  return new Promise((resolve) => {
    const out = file.replace(/\.cu$/, flags.includes('-cubin') ? '.cubin' : '.ptx');
    execFile(nvcc, [...flags, '-o', out, file], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ file, ok: !err, log: `${stdout}${stderr}`.trim() });
    });
  });
}

/** Writes each source to its own .cu file and compiles them all, as many at once as there are cores. */
export async function compilePtx(nvcc: string, sources: readonly string[], flags: readonly string[] = NVCC_FLAGS): Promise<PtxResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fusor-nvcc-'));
  const files = sources.map((s, i) => {
    const f = join(dir, `batch${i}.cu`);
    writeFileSync(f, s);
    return f;
  });
  const results: PtxResult[] = new Array(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await run(nvcc, files[i]!, flags);
    }
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), files.length) }, worker));
  return results;
}
