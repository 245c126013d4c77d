"""PyTorch's side of scripts/gpu/bench-cuda.mjs: the same workloads on the same GPU, timed with
CUDA events (median of repeats after warm-up). Prints one JSON object on stdout.

    python3 bench_torch.py [--elements N] [--matmul N] [--device cuda]
"""
import argparse
import json
import statistics
import sys
import time

import torch


def timed(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def mlp_step_ms(dev, batch, input, hidden, classes, lr, steps=50):
    """Wall milliseconds per eager training step (forward, cross-entropy, backward, SGD in place),
    steps issued back to back and synchronized once, as fusor's are measured."""
    g = torch.Generator(device=dev).manual_seed(0)
    w1 = (torch.randn(input, hidden, device=dev, generator=g) * 0.05).requires_grad_()
    b1 = torch.zeros(hidden, device=dev, requires_grad=True)
    w2 = (torch.randn(hidden, classes, device=dev, generator=g) * 0.05).requires_grad_()
    b2 = torch.zeros(classes, device=dev, requires_grad=True)
    x = torch.randn(batch, input, device=dev, generator=g)
    labels = torch.randint(0, classes, (batch,), device=dev, generator=g)
    params = [w1, b1, w2, b2]

    def step():
        logits = torch.relu(x @ w1 + b1) @ w2 + b2
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-lr)
                p.grad = None
        return loss

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / steps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--elements", type=int, default=256 << 20)
    p.add_argument("--matmul", type=int, default=4096)
    p.add_argument("--matmul16", type=int, default=8192)
    p.add_argument("--softmax-cols", type=int, default=4096)
    p.add_argument("--mlps", default="[]", help="JSON list of {batch, input, hidden, classes, lr}")
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"error": "torch.cuda is not available", "torch": torch.__version__}))
        return 0
    # fp32 matmul in true fp32 (no TF32), as fusor computes it
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "cuda": torch.version.cuda}

    n = args.elements
    x = torch.rand(n, device=dev)
    y = torch.empty_like(x)
    out["copy_ms"] = timed(lambda: y.copy_(x), args.repeats)
    chain = lambda: x.mul(1.5).add(0.5).relu().mul(x).sub(0.25)
    out["chain_ms"] = timed(chain, args.repeats)
    ref = chain()
    out["chain_checksum"] = float(ref[: 1 << 20].double().sum())
    del ref, y

    m = args.matmul
    a = torch.rand(m, m, device=dev)
    b = torch.rand(m, m, device=dev)
    out["matmul_ms"] = timed(lambda: a @ b, args.repeats)
    del a, b
    m = args.matmul16
    a = torch.rand(m, m, device=dev, dtype=torch.bfloat16)
    b = torch.rand(m, m, device=dev, dtype=torch.bfloat16)
    out["matmul16_ms"] = timed(lambda: a @ b, args.repeats)
    del a, b

    out["sum_ms"] = timed(lambda: x.sum(), args.repeats)
    s = torch.randn(4096, args.softmax_cols, device=dev)
    out["softmax_ms"] = timed(lambda: torch.softmax(s, 1), args.repeats)
    del s, x

    out["mlp"] = [{"eager_ms": mlp_step_ms(dev, **sizes)} for sizes in json.loads(args.mlps)]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
