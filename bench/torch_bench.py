"""PyTorch's side of `pnpm bench`: the same cases as fusor, each measured plainly and at its best
(preallocated `out=` and in-place forms). Prints one JSON object on stdout.

Run by bench/run.mjs as `python3 torch_bench.py '<config json>'` with 2 threads and
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for this process only.
"""
import json
import os
import sys
import time

cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
mode = cfg.get("mode", "warm")

t_start = time.perf_counter()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(cfg.get("threads", 2))
t_import = time.perf_counter()


def mlp_setup(B=256, D=784, H=512, O=10):
    g = torch.Generator().manual_seed(0)
    w1 = (torch.randn(D, H, generator=g) * 0.05).requires_grad_()
    b1 = torch.zeros(H, requires_grad=True)
    w2 = (torch.randn(H, O, generator=g) * 0.05).requires_grad_()
    b2 = torch.zeros(O, requires_grad=True)
    x = torch.randn(B, D, generator=g)
    labels = torch.randint(0, O, (B,), generator=g)
    params = [w1, b1, w2, b2]

    def step():
        logits = torch.relu(x @ w1 + b1) @ w2 + b2
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-0.01)
                p.grad = None
        return loss

    return step


if mode == "cold":
    # a fresh process: import torch, build the MLP, run one training step, read the loss
    step = mlp_setup()
    loss = step().item()
    t_end = time.perf_counter()
    print(json.dumps({"import_ms": (t_import - t_start) * 1e3, "first_step_ms": (t_end - t_import) * 1e3, "total_ms": (t_end - t_start) * 1e3}))
    sys.exit(0)


def measure(fn, reps, budget_s=2.0, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    t0 = time.perf_counter()
    while len(times) < reps and (len(times) < 3 or time.perf_counter() - t0 < budget_s):
        a = time.perf_counter()
        fn()
        times.append((time.perf_counter() - a) * 1e3)
    times.sort()
    return {"median_ms": times[len(times) // 2], "min_ms": times[0], "reps": len(times)}


results = {}
g = torch.Generator().manual_seed(0)

# conv2d forward + backward of a ResNet block (the sizes of bench/common.mjs CONV2D)
cx = torch.randn(32, 64, 56, 56, generator=g)
cw = torch.randn(64, 64, 3, 3, generator=g) * 0.05
cg = torch.randn(32, 64, 56, 56, generator=g)


def conv_step():
    xi = cx.clone().requires_grad_()
    wi = cw.clone().requires_grad_()
    (F.conv2d(xi, wi, None, 1, 1) * cg).sum().backward()
    return xi.grad, wi.grad


r = measure(conv_step, 5, budget_s=20.0, warmup=1)
results["conv2d resnet block fwd+bwd"] = {"plain": r, "best": r}
if os.environ.get("BENCH_CASES"):
    print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "results": results}))
    sys.exit(0)

for n in cfg.get("matmul", [256, 512, 1024, 2048]):
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    c = torch.empty(n, n)
    reps = 20 if n <= 512 else 10 if n <= 1024 else 5
    results[f"matmul {n}"] = {
        "plain": measure(lambda: torch.mm(a, b), reps),
        "best": measure(lambda: torch.mm(a, b, out=c), reps),
        "best_form": "torch.mm(a, b, out=c)",
    }

N = 16 * 1024 * 1024
x = torch.randn(N, generator=g)
y = torch.randn(N, generator=g)
t = torch.empty(N)


def chain_plain():
    return torch.exp(torch.relu(x * 2 + 1) * y).sum()


def chain_inplace():
    torch.mul(x, 2, out=t)
    t.add_(1).relu_().mul_(y).exp_()
    return t.sum()


results["elementwise chain 16M"] = {
    "plain": measure(chain_plain, 5, warmup=1),
    "best": measure(chain_inplace, 10),
    "best_form": "torch.mul(x, 2, out=t); t.add_(1).relu_().mul_(y).exp_(); t.sum()",
}

s = torch.randn(4096, 1024, generator=g)
so = torch.empty(4096, 1024)
softmax_out = getattr(getattr(torch.ops.aten, "_softmax", None), "out", None)
results["softmax 4096x1024"] = {
    "plain": measure(lambda: torch.softmax(s, 1), 20),
    "best": measure(lambda: softmax_out(s, 1, False, out=so), 20) if softmax_out else None,
    "best_form": "torch.ops.aten._softmax.out(x, 1, False, out=o)",
}

step = mlp_setup()
r = measure(step, 20)
# for reference only (the goals compare against 2 threads): small ops pay for OpenMP's fork/join
torch.set_num_threads(1)
one = measure(mlp_setup(), 20)
torch.set_num_threads(cfg.get("threads", 2))
results["mlp step"] = {"plain": r, "best": r, "one_thread": one, "best_form": "in-place SGD (p.add_(g, alpha=-lr)), grads set to None"}

tiny = torch.ones(16)


def tiny_plain():
    v = tiny
    for i in range(1000):
        v = v + 1 if i % 2 == 0 else v * 0.5
    return v


def tiny_inplace():
    v = tiny.clone()
    for i in range(1000):
        if i % 2 == 0:
            v.add_(1)
        else:
            v.mul_(0.5)
    return v


results["1000 tiny ops"] = {"plain": measure(tiny_plain, 20), "best": measure(tiny_inplace, 20), "best_form": "in-place (v.add_(1), v.mul_(0.5))"}



def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


# the runtime issue's loop: MLP 784-512-10, batch 64, a new batch every step, the loss read every step
step64_params = None
g64 = torch.Generator().manual_seed(0)
w1 = (torch.randn(784, 512, generator=g64) * 0.05).requires_grad_()
b1 = torch.zeros(512, requires_grad=True)
w2 = (torch.randn(512, 10, generator=g64) * 0.05).requires_grad_()
b2 = torch.zeros(10, requires_grad=True)
mem = {}
for s_ in range(300):
    xb = torch.randn(64, 784, generator=g64)
    yb = torch.randint(0, 10, (64,), generator=g64)
    loss = F.cross_entropy(torch.relu(xb @ w1 + b1) @ w2 + b2, yb)
    loss.backward()
    with torch.no_grad():
        for p in (w1, b1, w2, b2):
            p.sub_(p.grad * 0.01)
            p.grad.zero_()
    loss.item()
    if s_ == 49:
        mem["at50"] = {"rss": rss()}
mem["at300"] = {"rss": rss()}
results["mlp loop memory"] = mem

print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "results": results}))
