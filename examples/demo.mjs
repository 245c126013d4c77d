// fusor's tour: tensors, printing, shapes, autograd with gradient accumulation, and what the
// compiler fused. Run with `pnpm demo` (it builds first); plain `node examples/demo.mjs` works
// once the packages are built.
import * as torch from 'fusor';

const section = (title) => console.log(`\n── ${title} ${'─'.repeat(Math.max(0, 66 - title.length))}`);

section('1. Tensors');
torch.manualSeed(0);
const x = torch.rand(4, 3);
console.log('torch.rand(4, 3) =', x);
const z = torch.zeros(4, 3, { dtype: torch.long });
console.log('torch.zeros(4, 3, { dtype: torch.long }) =', z);
console.log('x.size() =', x.size(), ' x.shape =', x.shape);
console.log('torch.tensor([[1, 2], [3, 4]]) =', torch.tensor([[1, 2], [3, 4]]));
console.log('torch.ones(2, 2) =', torch.ones(2, 2));
console.log('torch.eye(3) =', torch.eye(3));
console.log('torch.arange(0, 10, 2) =', torch.arange(0, 10, 2));
console.log('torch.linspace(0, 1, 5) =', torch.linspace(0, 1, 5));
console.log('torch.randn(2, 3) =', torch.randn(2, 3));
console.log('torch.normal(0, 2, [3]) =', torch.normal(0, 2, [3]));
console.log('torch.randperm(6) =', torch.randperm(6));
console.log('torch.rand(2, 2).uniform_(-1, 1) =', torch.rand(2, 2).uniform_(-1, 1));

section('2. Arithmetic, broadcasting, shapes');
const a = torch.arange(6, { dtype: torch.float32 }).reshape(2, 3);
console.log('a =', a);
console.log('a.add(torch.tensor([10, 20, 30])) =', a.add(torch.tensor([10, 20, 30])));
console.log('a.t() =', a.t());
console.log('a.matmul(a.t()) =', a.matmul(a.t()));
console.log('a.sum(1) =', a.sum(1), ' a.mean() =', a.mean());
console.log('a.softmax(1) =', a.softmax(1));
console.log('torch.cat([a, a], 0).shape =', torch.cat([a, a], 0).shape);
console.log("a.index(':', '1:3') =", a.index(':', '1:3'));
console.log('large tensors are summarized: torch.arange(2000) =', torch.arange(2000));

section('3. Autograd');
const w = torch.ones(2, 2, { requiresGrad: true });
console.log('x = torch.ones(2, 2, { requiresGrad: true }) =', w);
const y = w.pow(2);
console.log('y = x.pow(2) =', y);
const zz = y.mul(y).mul(3);
const out = zz.mean();
console.log('z = y.mul(y).mul(3) =', zz);
console.log('out = z.mean() =', out);
out.backward();
console.log('after out.backward(), x.grad =', w.grad);
w.sum().backward();
console.log('gradients accumulate: after x.sum().backward(), x.grad =', w.grad);
w.grad.data.zero_();
w.sum().backward();
console.log('after x.grad.data.zero_() and x.sum().backward(), x.grad =', w.grad);

section('4. What the compiler fused');
const v = torch.tensor([[-1, 0.5, 2], [3, -4, 1.5]], { dtype: torch.float32 });
const program = v.mul(2).add(1).relu().sum();
console.log('v.mul(2).add(1).relu().sum() →');
console.log(torch.explain(program, { ir: false }).toString());
console.log('value:', program.itemSync());
console.log('\nv.softmax(1) →');
console.log(torch.explain(v.softmax(1), { ir: false }).toString());
const before = torch.compilerStats().compiled;
torch.tensor([[5, 6, 7], [8, 9, 10]], { dtype: torch.float32 }).mul(2).add(1).relu().sum().itemSync();
console.log(`\nthe same program on new data compiled ${torch.compilerStats().compiled - before} new kernels`);
