"""PyTorch's side of scripts/gpu/bench-cuda.mjs: the same workloads on the same GPU, timed with
CUDA events (median of repeats after warm-up). Prints one JSON object on stdout.

    python3 bench_torch.py [--elements N] [--matmul N] [--device cuda]
"""
import argparse
import json
import statistics
import sys

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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--elements", type=int, default=256 << 20)
    p.add_argument("--matmul", type=int, default=4096)
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
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
