/** What the browser page computes, and the test again in Node: the numbers must be identical. */
type Torch = typeof import('../../../tensor/src/index.js');

export interface Workload {
  readonly sum: number;
  readonly softmaxColumns: number[];
  readonly matmul: number[];
  readonly exp: number[];
  readonly ints: number[];
}

export function workload(torch: Torch): Workload {
  const x = torch.arange(0, 1 << 18).mul(0.001).sin();
  const s = torch.arange(0, 64 * 33).reshape(64, 33).mul(0.01);
  const a = torch.arange(0, 40 * 24).reshape(40, 24).mul(0.02).cos();
  const b = torch.arange(0, 24 * 32).reshape(24, 32).mul(0.03).sin();
  const i = torch.arange(0, 5000, 1, { dtype: torch.int32 });
  return {
    sum: x.sum().itemSync() as number,
    softmaxColumns: s.softmax(1).sum(0).tolistSync() as number[],
    matmul: (a.matmul(b).tolistSync() as number[][]).flat(),
    exp: (x.exp().tolistSync() as number[]).slice(0, 1000),
    ints: i.mul(7919).remainder(1000).tolistSync() as number[],
  };
}
