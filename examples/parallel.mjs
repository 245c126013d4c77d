// The primer's three ways of parallelism in one process, each next to the same model on one device:
//   eval "$(bash scripts/setup-webgpu.sh)"   # a webgpu adapter on the cpu (SwiftShader), or a real GPU
//   pnpm build && node examples/parallel.mjs [deviceA] [deviceB]    # default: cpu webgpu
// Any two devices work (cuda:0 cuda:1 on a machine with two GPUs). `await loss.backward()` is the
// form that fits every device: backward returns a promise only when gradients cross out of webgpu.
import * as torch from '@fusor/tensor';
import '@fusor/backend-webgpu';
import { nn, optim } from '@fusor/nn';

const [d0 = 'cpu', d1 = 'webgpu'] = process.argv.slice(2);
for (const d of [d0, d1]) await torch.init(d);
const F = nn.functional;
const fmt = (xs) => xs.map((v) => v.toFixed(5)).join(' ');

torch.manualSeed(0);
const batches = Array.from({ length: 5 }, () => [torch.randn(16, 8), torch.randint(0, 4, [16])]);

/** Trains with SGD on the batches; `model.forward` does the moving. Returns the losses. */
async function train(model) {
  const opt = new optim.SGD(model.parameters(), { lr: 0.2 });
  const losses = [];
  for (const [x, y] of batches) {
    opt.zeroGrad();
    const out = model.forward(x);
    const loss = F.crossEntropy(out, y.to(out.device));
    await loss.backward();
    opt.step();
    losses.push(Number(await loss.item()));
  }
  return losses;
}

// 1. Network partitioning: submodules placed with .to(device), forward moving the activation.
class TwoDeviceNet extends nn.Module {
  constructor(a, b, init) {
    super();
    this.a = a;
    this.b = b;
    this.seq1 = new nn.Sequential(new nn.Linear(8, 32), new nn.ReLU());
    this.seq2 = new nn.Sequential(new nn.Linear(32, 4));
    if (init) this.loadStateDict(init);
    this.seq1.to(a);
    this.seq2.to(b);
  }
  forward(x) {
    return this.seq2.forward(this.seq1.forward(x.to(this.a)).to(this.b));
  }
}
const one = new TwoDeviceNet('cpu', 'cpu');
const split = new TwoDeviceNet(d0, d1, one.stateDict());
console.log(`1. model parallel (${d0} | ${d1}):  ${fmt(await train(split))}`);
console.log(`   the same on cpu:              ${fmt(await train(one))}`);

// ... and pipelined: an nn.Sequential cut into two stages, each batch in 4 micro-batches (GPipe).
const layers = () => new nn.Sequential(new nn.Linear(8, 32), new nn.ReLU(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 4));
const plain = layers();
const staged = layers();
staged.loadStateDict(plain.stateDict());
const pipe = new nn.parallel.Pipe(staged, { chunks: 4, balance: [2, 3], devices: [d0, d1] });
console.log(`   Pipe, 4 micro-batches:        ${fmt(await train(pipe))}`);
console.log(`   unpipelined on cpu:           ${fmt(await train(plain))}`);

// 2. Layer-wise partitioning: an MLP block whose Linear weights are split across the devices.
torch.manualSeed(1);
const fc1 = new nn.Linear(8, 32);
const fc2 = new nn.Linear(32, 4);
const mlp = nn.parallel.ParallelMLP.fromSequential(fc1, new nn.ReLU(), fc2, { devices: [d0, d1] });
const dense = new nn.Sequential(fc1, new nn.ReLU(), fc2);
console.log(`2. tensor parallel MLP:          ${fmt(await train(mlp))}`);
console.log(`   the unsplit MLP on cpu:       ${fmt(await train(dense))}`);

// 3. Data parallelism: a replica per device, the batch scattered, gradients summed into the module.
torch.manualSeed(2);
const base = layers();
const model = layers();
model.loadStateDict(base.stateDict());
const dp = new nn.DataParallel(model.to(d0), { deviceIds: [d0, d1] });
console.log(`3. DataParallel [${d0}, ${d1}]:  ${fmt(await train(dp))}`);
console.log(`   one device (cpu):             ${fmt(await train(base))}`);
