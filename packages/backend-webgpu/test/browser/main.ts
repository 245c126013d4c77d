/**
 * The page the browser test loads: the seed walkthrough and a few MLP training steps on
 * webgpu, in Chromium. Results (or the error) go to `window.fusorResult` for the test to read.
 */
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';

export interface BrowserResult {
  readonly adapter: string;
  readonly rand: number[];
  readonly out: number;
  readonly outText: string;
  readonly grad: number[][];
  readonly losses: number[];
  readonly cpuLosses: number[];
}

async function losses(device: string, steps: number): Promise<number[]> {
  torch.manualSeed(3);
  const params = [torch.randn(4, 8).mul(0.5), torch.zeros(8), torch.randn(8, 2).mul(0.5), torch.zeros(2)].map((p) => p.to(device).detach().requiresGrad_());
  const [w1, b1, w2, b2] = params as [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor];
  const x = torch.randn(16, 4).to(device);
  const y = torch.randn(16, 2).to(device);
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).sub(y).pow(2).mean();
    loss.backward();
    torch.noGrad(() => {
      for (const p of params) {
        p.sub_(p.grad!.mul(0.1));
        p.grad = null;
      }
    });
    out.push((await loss.item()) as number);
  }
  return out;
}

async function main(): Promise<BrowserResult> {
  const adapter = await torch.init('webgpu');
  torch.setDefaultDevice('webgpu');
  torch.manualSeed(0);
  const x = torch.rand(4, 3);
  const a = torch.ones(2, 2, { requiresGrad: true });
  const out = a.pow(2).mul(a.pow(2)).mul(3).mean();
  const outText = await out.toStringAsync();
  out.backward();
  const grad = (await a.grad!.tolist()) as number[][];
  torch.setDefaultDevice('cpu');
  const result: BrowserResult = {
    adapter,
    rand: Array.from((await x.data()) as Float32Array),
    out: (await out.item()) as number,
    outText,
    grad,
    losses: await losses('webgpu', 4),
    cpuLosses: await losses('cpu', 4),
  };
  return result;
}

const w = window as unknown as { fusorResult?: BrowserResult | { error: string } };
main().then(
  (r) => (w.fusorResult = r),
  (e: Error) => (w.fusorResult = { error: `${e.name}: ${e.message}\n${e.stack ?? ""}` }),
);
