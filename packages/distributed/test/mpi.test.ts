/**
 * @fusor/distributed under `mpirun -n 2` and `-n 3`: the worker scripts in ./workers run as real
 * MPI jobs (OpenMPI, installed in CI by .ci/run) and print one RESULT line per rank; these tests
 * check every collective's values against what they must be for those ranks' inputs, DDP against
 * single-process training, and the fault cases against their deadlines.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

function hasMpirun(): boolean {
  try {
    execFileSync('mpirun', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const mpi = hasMpirun();
// in CI OpenMPI is installed by .ci/run: its absence is a failure there, a skip elsewhere
const skip = !mpi && !process.env['CI'];

interface Job {
  status: number | null;
  out: string;
  seconds: number;
  /** The workers' reports: tag → one value per report. */
  reports: Map<string, unknown[]>;
}

function mpirun(n: number, script: string, args: string[] = [], mca: string[] = []): Job {
  if (!mpi) throw new Error('mpirun not found: install OpenMPI (apt-get install -y openmpi-bin libopenmpi-dev)');
  const asRoot = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
  const dir = mkdtempSync(join(tmpdir(), 'fusor-mpi-'));
  const t0 = performance.now();
  const r = spawnSync(
    'mpirun',
    [
      ...asRoot,
      '--oversubscribe',
      '--mca',
      'btl_vader_single_copy_mechanism',
      'none',
      ...mca,
      '-x',
      'FUSOR_RESULT_DIR',
      '-n',
      String(n),
      'node',
      join(here, 'workers', script),
      ...args,
    ],
    { cwd: root, encoding: 'utf8', timeout: 50_000, env: { ...process.env, NO_COLOR: '1', FUSOR_RESULT_DIR: dir } },
  );
  const seconds = (performance.now() - t0) / 1000;
  const reports = new Map<string, unknown[]>();
  for (const f of readdirSync(dir).sort()) {
    const tag = f.split('-')[0]!;
    const values = readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    reports.set(tag, [...(reports.get(tag) ?? []), ...values]);
  }
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, seconds, reports };
}

function lines<T>(job: Job, tag: string): T[] {
  return ((job.reports.get(tag) ?? []) as T[]).sort((a, b) => (a as { rank: number }).rank - (b as { rank: number }).rank);
}

type Rows = number[][];
const f32 = Math.fround;
const base = (r: number): Rows => [
  [r + 1, 2 * r - 1, 0.5],
  [r * r, 0 - r, 3], // 0 − r: JSON has no −0
];
const ranks = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
// + 0 turns −0 into 0: MPI's reductions do not keep the sign of a zero the way Math.max does
const combine = (n: number, f: (vals: number[]) => number): Rows =>
  base(0).map((row, i) => row.map((_, j) => f(ranks(n).map((r) => base(r)[i]![j]!)) + 0));
const norm = (x: unknown): Rows => (x as Rows).map((row) => row.map((v) => v + 0));

function expectClose(actual: unknown, expected: Rows | number[]): void {
  const a = (actual as number[] | Rows).flat();
  const e = expected.flat();
  expect(a.length).toBe(e.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(e[i]!, 5));
}

describe.skipIf(skip).each([2, 3])('collectives under mpirun -n %i', (n) => {
  it('gives every rank the right values', { timeout: 30_000 }, () => {
    const job = mpirun(n, 'collectives.mjs');
    const results = lines<Record<string, unknown>>(job, 'RESULT');
    expect(results.map((r) => r['rank']), job.out).toEqual(ranks(n));
    const sum = combine(n, (v) => v.reduce((a, b) => a + b, 0));
    for (const r of results) {
      expect(r['world']).toBe(n);
      expect(r['initialized']).toBe(true);
      expect(r['backend']).toBe('mpi');
      expect(r['allReduce_sum']).toEqual(sum);
      expectClose(r['allReduce_avg'], sum.map((row) => row.map((v) => f32(f32(v) / n))));
      expect(norm(r['allReduce_product'])).toEqual(combine(n, (v) => v.reduce((a, b) => f32(a * b), 1)));
      expect(norm(r['allReduce_min'])).toEqual(combine(n, (v) => Math.min(...v)));
      expect(norm(r['allReduce_max'])).toEqual(combine(n, (v) => Math.max(...v)));
      const ints = ranks(n).map((k) => [k + 1, 6, 1 << k]);
      const bit = (f: (a: number, b: number) => number): number[] => [0, 1, 2].map((j) => ints.map((x) => x[j]!).reduce(f));
      expect(r['allReduce_band']).toEqual(bit((a, b) => a & b));
      expect(r['allReduce_bor']).toEqual(bit((a, b) => a | b));
      expect(r['allReduce_bxor']).toEqual(bit((a, b) => a ^ b));
      expect(r['allReduce_int64_max']).toEqual([0, 1, 2, 3].map((i) => i + 10 * (n - 1)));
      expectClose(r['allReduce_f64'], [ranks(n).reduce((a, k) => a + 0.1 * (k + 1), 0), n * 1e-300]);
      expect(r['allReduce_transposed']).toEqual(sum);
      expect(r['viewsSee']).toEqual([sum.flat(), sum[1]]);
      expect(r['versionBump']).toEqual([1, 1]);
      const me0 = r['rank'] as number;
      expect(norm(r['throughView'])).toEqual([base(me0)[0]!, combine(n, (v) => Math.max(...v))[1]!]);
      const me1 = r['rank'] as number;
      const reuse = r['reuse'] as Record<string, number[]>;
      const iota = [0, 1, 2, 3];
      const firstSum = iota.map((i) => ranks(n).reduce((a, k) => a + i + k, 0));
      expect(reuse['before']).toEqual(iota.map((i) => 10 * (i + me1)));
      expect(reuse['first']).toEqual(firstSum);
      expect(reuse['afterFirst']).toEqual(firstSum.map((v) => v + 0.5));
      expect(reuse['second']).toEqual(iota.map((i) => ranks(n).reduce((a, k) => a + i * (k + 1), 0)));
      expect(r['repeated']).toEqual({ value: 1000, buffers: 0, bytes: 0 });
      const summed = iota.map((i) => ranks(n).reduce((a, k) => a + i + k, 0));
      expect(r['unread']).toEqual({
        inPlace: true,
        versionBump: 1,
        t: summed,
        alias: summed,
        readInPlace: false,
        u: summed,
        before: iota.map((i) => 10 * (i + me1)),
      });
      expect(r['async_done']).toBe(true);
      expect(r['allReduce_async']).toEqual(sum);
      expect(r['broadcast']).toEqual(base(n - 1));
      expect(r['allGather']).toEqual(ranks(n).map(base));
      expect(r['allGatherIntoTensor']).toEqual(ranks(n).flatMap(base));
      const me = r['rank'] as number;
      // reduceScatter: input i of rank k is [100 i + k, k]; rank `me` gets the sum of inputs `me`
      expect(r['reduceScatter']).toEqual([ranks(n).reduce((a, k) => a + 100 * me + k, 0), ranks(n).reduce((a, k) => a + k, 0)]);
      // reduceScatterTensor (MAX): rank k's input is arange(2n)·(k+1); rank `me` gets rows 2me, 2me+1
      expect(r['reduceScatterTensor']).toEqual([2 * me * n, (2 * me + 1) * n]);
      const prev = (me + n - 1) % n;
      expect(r['recvFrom']).toBe(prev);
      expect(r['recv']).toEqual([prev, prev * 2, 7]);
      expect(r['irecv']).toEqual([prev + 0.5]);
      // even ranks sent 5 elements (tag 9) to the next rank; rank 1 (and rank 0 of three) received into 2
      const receives = me === 1 || (n === 3 && me === 0);
      expect(r['truncated']).toBe(
        receives
          ? `DistError: recv(): the message from rank ${prev} is larger than the receiving float32 tensor of 2 elements; send and recv must use the same shape and dtype`
          : undefined,
      );
      const others = ranks(n).filter((k) => k !== 1);
      const shapes = `DistError: allReduce: tensors differ across ranks (${others.length === 1 ? 'rank' : 'ranks'} ${others.join(', ')}: float32 [2]; rank 1: float32 [3]); every rank must pass the same dtype and shape`;
      const seq = (r['orderError'] as string).match(/#(\d+)/)![1];
      expect(r['orderError']).toBe(
        me === 0
          ? `DistError: barrier: ranks called different collectives: rank 0 called barrier (collective #${seq}), rank 1 called allReduce (collective #${seq})`
          : `DistError: allReduce: ranks called different collectives: rank ${me} called allReduce (collective #${seq}), rank 0 called barrier (collective #${seq})`,
      );
      expect(r['rootError']).toBe(`DistError: broadcast: ranks disagree on src (rank 0: src 0; ${n === 2 ? 'rank 1' : 'ranks 1, 2'}: src 1)`);
      expect(r['reductionError']).toBe(
        `DistError: allReduce: ranks disagree on the reduction (rank 0: ReduceOp.SUM; ${n === 2 ? 'rank 1' : 'ranks 1, 2'}: ReduceOp.MAX)`,
      );
      // a collective that failed at its rendezvous leaves every tensor as it was: contents,
      // version, and a lazy value reading an earlier version
      const unchanged = { same: true, versionBump: 0 };
      expect(r['kept']).toEqual({ shapes: unchanged, order: unchanged, root: unchanged, reductionOp: unchanged });
      expect(r['readerAfter']).toEqual([7, 7]);
      expect(r['errors']).toEqual({
        badOp: `TypeError: allReduce(): op must be a ReduceOp ('sum', 'avg', 'product', 'min', 'max', 'band', 'bor', 'bxor'), got "mean"`,
        badKey: "TypeError: allReduce() got an unexpected keyword argument 'opp'",
        badSrc: `RangeError: broadcast(): src rank ${n} is invalid: the world size is ${n} (ranks 0 to ${n - 1})`,
        avgInt: 'DistError: allReduce(): ReduceOp.AVG needs a floating point tensor, got int32',
        twice: 'DistError: trying to initialize the default process group twice!',
        gatherList: `DistError: allGather(): tensorList must hold worldSize (${n}) tensors, got 1`,
        shapes,
        order: r['orderError'],
        root: r['rootError'],
        reductionOp: r['reductionError'],
      });
    }
    expect(job.status, job.out).toBe(0);
  });
});

describe.skipIf(skip)('DistributedDataParallel under mpirun', () => {
  it.each([
    [2, 25, 1],
    [3, 0.00002, 3],
  ])('-n %i, bucketCapMb %f: 20 steps equal single-process training on the whole batch', { timeout: 30_000 }, (n, cap, buckets) => {
    const job = mpirun(n, 'ddp.mjs', [String(cap)]);
    const results = lines<Record<string, unknown>>(job, 'RESULT');
    expect(results.map((r) => r['rank']), job.out).toEqual(ranks(n));
    for (const r of results) {
      expect(r['startsEqual']).toBe(true);
      expect(r['maxDiff'] as number).toBeLessThan(1e-5);
      expect(r['lossDiff'] as number).toBeLessThan(1e-6);
      // it trained
      expect(r['lastLoss'] as number).toBeLessThan((r['firstLoss'] as number) / 4);
      expect(r['buckets']).toBe(buckets);
      const me = r['rank'] as number;
      expect(r['sampler']).toEqual(ranks(12 / n).map((i) => me + i * n));
      expect(r['samplerLength']).toBe(12 / n);
      expect(r['noSyncDiff'] as number).toBeLessThan(1e-5);
      expect(r['localDiffers']).toBe(true);
      expect(r['unused']).toBe('Expected to have finished reduction in the prior iteration before starting a new one');
    }
    expect(job.status, job.out).toBe(0);
  });
});

describe.skipIf(skip)('memory under mpirun', () => {
  it('a synchronous DDP loop with collectives holds a bounded number of buffers (plain and in torch.scope); so do many all-reduces of dropped tensors', { timeout: 40_000 }, () => {
    const job = mpirun(2, 'memory.mjs');
    type Seen = Record<string, { buffers: number; bytes: number }>;
    const results = lines<{ rank: number; plain: Record<string, number>; scope: Record<string, number>; fresh: Seen; heapGrowth: number }>(job, 'RESULT');
    expect(results.map((r) => r.rank), job.out).toEqual([0, 1]);
    for (const r of results) {
      expect(r.plain['50']).toBe(r.plain['30']);
      expect(r.scope['50']).toBe(r.scope['30']);
      expect(r.fresh['36']).toEqual(r.fresh['24']);
      // 6,000 steps of 2 all-reduces: one object kept per collective would be ≥ 1.5 MiB
      expect(r.heapGrowth).toBeLessThan(2 ** 19);
    }
  });
});

interface Failed {
  rank: number;
  name: string;
  message: string;
  ms: number;
}

describe.skipIf(skip)('a blocking all-reduce whose call fails after the rendezvous', () => {
  it('raises the error; the tensor, which took the result before the call, raises it when read; the group is unusable', { timeout: 30_000 }, () => {
    const job = mpirun(2, 'callfail.mjs');
    const results = lines<Record<string, unknown>>(job, 'RESULT');
    expect(results.map((r) => r['rank']), job.out).toEqual([0, 1]);
    const error = 'MPI_Allreduce failed: MPI_ERR_INTERN (injected)';
    const lost = `Error: this tensor's all-reduce failed, so its contents are lost: ${error}`;
    for (const r of results) {
      expect(r['before']).toEqual([2, 2, 2, 2]);
      expect(r['call']).toBe(`DistBackendError: ${error}`);
      expect(r['read']).toBe(lost);
      expect(r['alias']).toBe(lost);
      expect(r['after']).toBe(`DistBackendError: barrier: the process group is unusable after an earlier failure (${error}); exit this process`);
    }
  });
});

describe.skipIf(skip)('faults end with an error naming the rank and the collective, within the timeout', () => {
  // long enough that the announcements (sent at 80 % of it) arrive on a loaded 2-core machine
  const timeout = 3000;
  it('a rank that exits: the others fail after the timeout', { timeout: 30_000 }, () => {
    // mpirun's own reaction to a dead rank (killing the job) is switched off to see fusor's
    const job = mpirun(3, 'fault.mjs', ['exit', String(timeout)], ['--mca', 'orte_abort_on_non_zero_status', '0']);
    const failed = lines<Failed>(job, 'FAILED');
    expect(failed.map((f) => f.rank), job.out).toEqual([0, 1]);
    for (const f of failed) {
      expect(f.name).toBe('DistBackendError');
      expect(f.message).toBe(`allReduce timed out after ${timeout} ms on rank ${f.rank} (world size 3): rank 2 did not take part`);
      expect(f.ms).toBeGreaterThanOrEqual(timeout);
      expect(f.ms).toBeLessThan(timeout + 1500);
    }
    const after = lines<{ rank: number; message: string }>(job, 'AFTER');
    expect(after[0]!.message).toMatch(/^barrier: the process group is unusable after an earlier failure \(allReduce timed out/);
  });

  it('a rank that hangs: the others fail after the timeout, and mpirun ends the job', { timeout: 30_000 }, () => {
    const job = mpirun(3, 'fault.mjs', ['hang', String(timeout)]);
    const failed = lines<Failed>(job, 'FAILED');
    expect(failed.map((f) => f.rank), job.out).toEqual([0, 1]);
    for (const f of failed) {
      expect(f.message).toBe(`allReduce timed out after ${timeout} ms on rank ${f.rank} (world size 3): rank 2 did not take part`);
      expect(f.ms).toBeLessThan(timeout + 1500);
    }
    expect(job.status).not.toBe(0);
    // the job did not wait for the hung rank's 10 minutes
    expect(job.seconds).toBeLessThan(30);
  });

  it("an async work's own timeout", { timeout: 30_000 }, () => {
    const job = mpirun(2, 'fault.mjs', ['async', String(timeout)]);
    const failed = lines<Failed>(job, 'FAILED');
    expect(failed.map((f) => f.message), job.out).toEqual([`allReduce timed out after ${timeout / 2} ms on rank 0 (world size 2): rank 1 did not take part`]);
    expect(job.status).not.toBe(0);
  });
});
