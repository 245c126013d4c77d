/**
 * Backend 'nccl' without a GPU: scripts/gpu/check-nccl.mjs — the script a GPU machine runs — under
 * `mpirun -n 2` and `-n 3` and as a world of one, on the cuda emulator
 * (packages/backend-cuda/test/emulator) with ./mock-nccl.c standing in for libnccl.so.2 (each
 * NCCL collective is the matching MPI collective on the emulator's device pointers, which are
 * host addresses). What runs is fusor's side as it runs with NCCL: the koffi bindings, rank 0's
 * unique id broadcast over MPI and passed by value, the dtype and reduction codes, completion
 * events, DistributedDataParallel on cuda tensors against the same steps on the cpu.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { emulatorUnavailable, installEmulator } from '../../backend-cuda/test/emulator/emulator.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

function missing(): string | null {
  const why = emulatorUnavailable();
  if (why) return why;
  for (const [tool, pkg] of [
    ['mpirun', 'openmpi-bin'],
    ['mpicc', 'libopenmpi-dev'],
  ] as const) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `${tool} not found (apt-get install -y ${pkg})`;
    }
  }
  return null;
}
const why = missing();
// in CI .ci/run installs gcc and OpenMPI: their absence is a failure there, a skip elsewhere
const skip = why !== null && !process.env['CI'];

/** check-nccl.mjs on `n` ranks (0: one process without mpirun); its output and exit status. */
function checkNccl(n: number): { status: number | null; out: string } {
  const script = join(root, 'scripts', 'gpu', 'check-nccl.mjs');
  const forward = ['FUSOR_LIBCUDA_PATH', 'FUSOR_NVRTC_PATH', 'FUSOR_CUBLAS_PATH', 'MOCK_CUDA_COMPILE', 'MOCK_CUDA_DEVICES', 'FUSOR_LIBNCCL_PATH', 'TMPDIR'];
  const asRoot = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  const [cmd, args] =
    n === 0
      ? ['node', [script]]
      : [
          'mpirun',
          [...asRoot, '--oversubscribe', '--mca', 'btl_vader_single_copy_mechanism', 'none', ...forward.flatMap((v) => ['-x', v]), '-n', String(n), 'node', script],
        ];
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}` };
}

describe.skipIf(skip)("backend 'nccl' on the cuda emulator (mock NCCL over MPI)", () => {
  beforeAll(() => {
    if (why) throw new Error(why);
    const emu = installEmulator({ MOCK_CUDA_DEVICES: '3' });
    const nccl = join(emu.dir, 'libmocknccl.so');
    execFileSync('mpicc', ['-shared', '-fPIC', '-O1', '-o', nccl, join(here, 'mock-nccl.c'), '-lm']);
    process.env['FUSOR_LIBNCCL_PATH'] = nccl;
  });

  // every collective's values (float32 sum/avg/max, float16, int64 min, async), broadcast,
  // allGatherIntoTensor, reduceScatterTensor, shapes that differ, 5 DDP steps against the cpu
  for (const n of [2, 3]) {
    it(`mpirun -n ${n}: every check passes on every rank`, () => {
      const { status, out } = checkNccl(n);
      expect(out).toContain(`nccl: world size ${n}; rank 0 on cuda:0`);
      expect(out).toContain(`nccl checks on ${n} GPU(s): ${7 * n} passed, 0 failed`);
      expect(out).not.toContain('FAIL');
      expect(status, out).toBe(0);
    }, 300_000);
  }

  it('a world of one (one process, no launcher)', () => {
    const { status, out } = checkNccl(0);
    expect(out).toContain('nccl checks on 1 GPU(s): 7 passed, 0 failed');
    expect(status, out).toBe(0);
  }, 300_000);
});
