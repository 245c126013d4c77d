// Writes docs/ARCHITECTURE.md: one program followed through every layer, printed by fusor's own
// explain(), so the document stays true as the code moves. `node scripts/architecture.mjs` writes
// it; `node scripts/architecture.mjs --check` fails if the committed file is stale (CI runs the
// same check through packages/tensor/test/architecture-doc.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The document, generated from the given modules (built or source, both print the same). */
export function architectureDoc(torch, ir) {
  const x = torch.tensor([[-1, 0.5, 2], [3, -4, 1.5]], { dtype: torch.float32 });
  const y = x.mul(2).add(1).relu().sum();
  // everything is printed before y is read: reading realizes it and drops its lazy history
  const graph = ir.printGraph(y.node);
  const plan = torch.explain(y, { ir: false }).toString();
  // section 4 shows the readable JavaScript renderer (the default renders WebAssembly)
  const renderer = torch.cpuConfig().renderer;
  torch.configureCpu({ renderer: 'js' });
  const k = torch.explain(y, { source: true }).kernels[0];
  torch.configureCpu({ renderer });
  const soft = torch.explain(x.softmax(1), { ir: true });
  const value = y.itemSync();
  const fence = (s) => '```\n' + s + '\n```';
  return `# fusor's architecture, by one program

This page follows one program through every layer of fusor. Every block below is printed by
fusor itself (\`scripts/architecture.mjs\` regenerates the page; a test fails when it is stale),
so what you read is what the code does today.

\`\`\`ts
const x = torch.tensor([[-1, 0.5, 2], [3, -4, 1.5]], { dtype: torch.float32 });
const y = x.mul(2).add(1).relu().sum();
y.itemSync(); // ${value}
\`\`\`

## 1. The frontend records IR (\`@fusor/tensor\` → \`@fusor/ir\`)

Nothing runs when \`mul\`, \`add\`, \`relu\` and \`sum\` are called. Each call checks its inputs
(shapes, dtypes, devices: errors surface here, at the call that caused them), then records
nodes of the one IR. Frontend ops decompose into a small primitive set: \`relu\` becomes two
\`WHERE\`s (one keeps NaN, as PyTorch's does), \`sum\` a \`REDUCE\` that keeps the reduced axes
plus a \`RESHAPE\` that drops them. Scalars become \`CONST\` nodes of the full shape. Nodes are
interned: building the same graph twice yields the same objects.

${fence(graph)}

## 2. The scheduler decides kernel boundaries (\`@fusor/compiler\`, \`schedule.ts\`)

Reading \`y\` realizes its node. The scheduler walks the pending graph from the output and fuses
everything that can run in one pass over the output: the elementwise chain and the view feed
the reduction, so the whole program is **one kernel**. A node gets a buffer of its own only for
a reason, and \`explain()\` says which:

${fence(plan)}

A reduction whose result is broadcast back over the axes it reduced (softmax's row max and row
sum) needs all of its row before the consumer can start. On a backend that declares
\`rowKernels\` (cpu), such a graph is still one kernel, a *row kernel*: one thread per row
computes the row's reductions first (hoisted out of the loops that read them), then walks the
row again storing the outputs, so the row is read from memory once and stays in cache. The
exponentials the sum needed are kept in the output and only rescaled by the last loop. A GPU
backend leaves \`rowKernels\` off: there each reduction is a kernel of its own, and \`explain()\`
says why.

${fence(soft.toString())}

## 3. Lowering to kernel IR (\`lower.ts\`, \`kernel-ir.ts\`)

The kernel is lowered to kernel IR: a body run for each output index \`gid\`, with loads,
arithmetic, reduction loops with accumulators, and one store. Movement ops never copy: they
rewrite the index at which their source is read (views, \`ShapeTracker\` in \`@fusor/ir\`). Index
arithmetic is simplified by value ranges, and equal subexpressions are computed once.

${fence(k.ir)}

## 4. Rendering and running (\`@fusor/backend-cpu\`)

The backend renders kernel IR to source; the runtime (\`@fusor/runtime\`, which owns everything
stateful: the backend registry, buffers, caches, realization) caches the compiled program per
(backend, kernel), least recently used first up to a bound, so running the same program on new
data compiles nothing. Scheduling, lowering and \`explain()\` are pure functions of the compiler, so
the runtime also keeps *plans*: a realize of a graph equal in structure to one realized before
(the same ops, dtypes, shapes, constants and sharing over new computed inputs; random draws
differ only in their seeds, which kernels take as parameters) launches the stored kernels on the
new buffers without simplifying, scheduling or lowering — eager code that repeats a step pays
for planning once (\`compilerStats().replayed\` counts replays). The cpu backend
renders WebAssembly with SIMD128 by default and splits launches over a worker pool; its
JavaScript renderer, the readable debug path (\`torch.configureCpu({ renderer: 'js' })\`), rounds
float32 results after every op (\`Math.fround\`) so its numbers match a float32 machine, as the
WebAssembly does natively:

${fence(k.source)}

## 5. Autograd is more IR (\`@fusor/autograd\`)

\`backward()\` applies one vector-Jacobian rule per primitive (\`rules.ts\`, one table; a unary
primitive's rule is the \`grad\` of its entry in \`@fusor/ir\`'s \`UNARY\`) to the
recorded graph. The result is lazy IR again: forward and backward are scheduled, fused and
compiled by the same path, and a gradient of a gradient is just another graph.

A graph may cross devices: \`.to(device)\` records a \`COPY\` node whose gradient rule is a
\`COPY\` back, so gradients are lazy copies the realizer (\`@fusor/runtime\`) schedules like any
other node, each kernel on its own device. A copy goes device to device where the backend offers
\`Backend.copy\` (CUDA: \`cuMemcpyPeer\` between devices), else through the host. webgpu has no
synchronous read, so when a pending copy leaves webgpu (\`needsAsyncRead\`), \`backward()\`
issues the launches now and returns a promise of the gradients (\`await loss.backward()\`);
otherwise it returns undefined with the gradients in place. docs/PARALLELISM.md has the rest.

## 6. Storage, views and lifetimes (\`tensor.ts\`, \`@fusor/runtime\`)

A tensor holds a *storage* (its \`Box\`: the node of the current contents and a version counter)
and, for a view, the movement ops that read the view out of that storage. An in-place op makes a
new node for the whole storage — through a view, the value placed where the view reads and the
old contents elsewhere (PyTorch's CopySlices, built from the movement ops' own gradient rules) —
and bumps the shared version; every view derives its node from the storage's current node when
next used. Laziness never changes a result: the IR stays immutable, so this is PyTorch's
functionalization. \`detach()\` shares the storage behind a \`DETACH\` node; a write outside
autograd (\`.data\`, a detached alias, \`noGrad\`) wraps the new contents in a \`DATA\` node that
reads as the new value but takes gradients as the recorded history, as PyTorch keeps a grad_fn.

Device memory is counted by the runtime, not left to the garbage collector (which neither sees
device or wasm memory nor runs finalizers inside a synchronous loop). After each realize the
buffers of intermediates are freed at once (they can be computed again); computed results and
host-backed copies (uploads, values already read) go into a bounded cache (64 buffers, 64 MiB;
\`torch.setCacheBudget\`); an in-place op keeps the contents before it for lazy values that still
read them and releases the ones before those; a failed allocation empties the cache and the
backend's pool (\`Backend.trim\`) and retries, then raises an \`OutOfMemoryError\` in PyTorch's
words. \`t.dispose()\`, \`using\` and \`torch.scope(fn)\` free the rest on the user's word;
\`torch.memory()\` counts it all. docs/MEMORY.md says what each piece leaves to the user.
`;
}

const here = fileURLToPath(new URL('.', import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const torch = await import('@fusor/tensor');
  const ir = await import('@fusor/ir');
  const doc = architectureDoc(torch, ir);
  const path = `${here}../docs/ARCHITECTURE.md`;
  if (process.argv.includes('--check')) {
    if (readFileSync(path, 'utf8') !== doc) {
      console.error('docs/ARCHITECTURE.md is stale: run node scripts/architecture.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(path, doc);
  }
}
