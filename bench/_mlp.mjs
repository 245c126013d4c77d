import * as torch from '@fusor/tensor';
if (process.env.NOPLAN) torch.setPlanCacheCapacity(0);
torch.manualSeed(0);
const [i, h, o, batch] = [12, 16, 4, 8];
const params = [torch.randn(i, h).mul(0.3), torch.zeros(h), torch.randn(h, o).mul(0.3), torch.zeros(o)].map((p) => p.requiresGrad_());
const [w1, b1, w2, b2] = params;
const step = (s) => {
  const x = torch.rand(batch, i);
  const target = torch.tensor(Float32Array.from({ length: batch * o }, (_, k) => (k % o === (s + Math.floor(k / o)) % o ? 1 : 0))).reshape(batch, o);
  const loss = x.matmul(w1).add(b1).relu().matmul(w2).add(b2).logSoftmax(1).mul(target).sum().neg().div(batch);
  loss.backward();
  torch.noGrad(() => { for (const p of params) { p.sub_(p.grad.mul(0.05)); p.grad.zero_(); } });
  return loss.itemSync();
};
const cpu0 = process.cpuUsage();
const t = performance.now();
for (let s = 0; s < 1000; s++) step(s);
const cpu = process.cpuUsage(cpu0);
console.log('1000 steps wall ms', (performance.now() - t).toFixed(0), 'cpu ms', ((cpu.user + cpu.system) / 1000).toFixed(0), torch.compilerStats());
