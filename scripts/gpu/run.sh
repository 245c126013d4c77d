#!/usr/bin/env bash
# On a GPU machine (NVIDIA driver, python3 with PyTorch, no Node), from the repository root with
# .gpu/ beside it (made by scripts/gpu/prepare.sh): unpacks Node, runs the conformance suite on
# cuda and the benchmark against PyTorch, and writes the results to $OUT (default ./gpu-results):
#   env.txt           GPU, driver, Node, PyTorch, the libraries found
#   bench.txt         the benchmark's log; bench.md its table (for docs/BENCHMARKS.md); bench.json
#   conformance.txt   every failure and the summary line, diagnoses; conformance.json the same as data
#   checks.txt        vector and block kernels, GEMM routines and a jit training step at sizes
#                     the suite never reaches, against cpu
#   conformance-blocking.txt  the arg/min/max cases again with CUDA_LAUNCH_BLOCKING=1
#   nccl.txt          @fusor/distributed's backend 'nccl': collectives, a 64 MiB all-reduce, DDP
#                     steps against cpu; one process per GPU under mpirun when there is one, else
#                     world size 1 (NCCL from PyTorch's wheels unless FUSOR_LIBNCCL_PATH is set)
#   webgpu.txt        fusor's webgpu backend against tfjs-webgpu 4.22 in Node on the adapter Dawn
#                     finds (scripts/gpu/webgpu.sh): the Vulkan setup, whether the adapter is
#                     HARDWARE or SOFTWARE (a software one is not the GPU's figure), result checks,
#                     the table; webgpu.md the table (for docs/BENCHMARKS.md); webgpu.json.
#                     Without Vulkan or an adapter it says why and the run goes on (not a failure).
#                     The step comes last: with it the steps' timeouts add up to more than one
#                     10-minute device command, so on a lent machine run it as its own command
#                     (`bash scripts/gpu/webgpu.sh`) and this script with FUSOR_SKIP_WEBGPU=1.
# Exits non-zero if a step failed; every step runs regardless.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GPU=${FUSOR_GPU_DIR:-$ROOT/.gpu}
OUT=${OUT:-$ROOT/gpu-results}
mkdir -p "$OUT"
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-/tmp/fusor-cache}
step() { echo "[$(date +%T)] $*"; }
status=0

if [ ! -f "$GPU/node.xz" ]; then echo "no $GPU/node.xz: run scripts/gpu/prepare.sh first and carry .gpu" >&2; exit 2; fi
NODE=/tmp/fusor-node/node
mkdir -p /tmp/fusor-node
step "unpacking node"
if command -v xz >/dev/null; then
  xz -dc "$GPU/node.xz" > "$NODE"
else
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$GPU/node.xz" "$NODE"
fi
chmod +x "$NODE"

# NVRTC: fusor searches the toolkit and Python's site-packages itself; here the NVRTC of
# PyTorch's own CUDA wheels is preferred (known to match this driver), then the toolkit's, and its
# directory goes on the loader's path for libnvrtc-builtins
if [ -z "${FUSOR_NVRTC_PATH:-}" ]; then
  found=$(python3 - <<'PY' 2>/dev/null
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()]
try:
    roots.append(os.path.dirname(os.path.dirname(__import__("torch").__file__)))
except Exception:
    pass
for r in roots:
    for pat in ("nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib", "nvidia/cu12/lib", "torch/lib"):
        hits = sorted(h for h in glob.glob(os.path.join(r, pat, "libnvrtc*.so*")) if "builtins" not in h and "alt" not in h)
        if hits:
            print(hits[-1]); sys.exit(0)
PY
)
  [ -z "$found" ] && found=$(ls /usr/local/cuda*/lib64/libnvrtc.so* 2>/dev/null | sort -V | tail -n 1)
  [ -n "$found" ] && export FUSOR_NVRTC_PATH="$found"
fi
[ -n "${FUSOR_NVRTC_PATH:-}" ] && export LD_LIBRARY_PATH="$(dirname "$FUSOR_NVRTC_PATH")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step "environment"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
  echo "node: $("$NODE" --version)"
  python3 -c 'import torch; print("torch:", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)' 2>&1
  echo "FUSOR_NVRTC_PATH=${FUSOR_NVRTC_PATH:-(unset: fusor searches)}"
  ls /usr/local/cuda*/lib64/libnvrtc.so* 2>/dev/null
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# the timeouts add up to under 10 minutes (one device command): the suite first (its result
# decides the issue; it stops starting checks after 200 s and still prints its summary), then the
# checks of the larger code paths, then the benchmark (it caps its own repeats). Run with
# OUT=<dir> to write the results there as they come (the device tool's $OUT), so a step cut off
# by its timeout still leaves the earlier ones.
step "conformance suite on cuda"
timeout 240 "$NODE" "$GPU/conformance-cuda.mjs" cuda --budget "${FUSOR_CONFORMANCE_BUDGET:-200}" --diagnose "${FUSOR_DIAGNOSE:-^argmin/i32/all$}" --json "$OUT/conformance.json" > "$OUT/conformance.txt" 2>&1 || status=1
tail -n 25 "$OUT/conformance.txt"

# the same ops once more with every launch waited for: a case that passes only here points at
# ordering between launches, copies and frees rather than at a kernel
step "arg/min/max cases with CUDA_LAUNCH_BLOCKING=1"
CUDA_LAUNCH_BLOCKING=1 timeout 40 "$NODE" "$GPU/conformance-cuda.mjs" cuda --only "${FUSOR_BLOCKING_ONLY:-^(arg|max|min)}" > "$OUT/conformance-blocking.txt" 2>&1 || status=1
tail -n 5 "$OUT/conformance-blocking.txt"

step "cuda code paths the conformance cases are too small for, against cpu"
timeout 100 "$NODE" "$GPU/check-cuda.mjs" > "$OUT/checks.txt" 2>&1 || status=1
tail -n 25 "$OUT/checks.txt"

# NCCL: PyTorch's own copy (nvidia/nccl/lib in site-packages, or torch/lib) unless given
if [ -z "${FUSOR_LIBNCCL_PATH:-}" ]; then
  found=$(python3 - <<'PY' 2>/dev/null
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()]
try:
    roots.append(os.path.dirname(os.path.dirname(__import__("torch").__file__)))
except Exception:
    pass
for r in roots:
    for pat in ("nvidia/nccl/lib/libnccl.so*", "torch/lib/libnccl*.so*"):
        hits = sorted(glob.glob(os.path.join(r, pat)))
        if hits:
            print(hits[-1]); sys.exit(0)
PY
)
  [ -n "$found" ] && export FUSOR_LIBNCCL_PATH="$found"
fi
step "nccl: collectives and DDP on the GPUs (FUSOR_LIBNCCL_PATH=${FUSOR_LIBNCCL_PATH:-unset})"
GPUS=$(nvidia-smi -L 2>/dev/null | wc -l)
if [ "${GPUS:-0}" -gt 1 ] && command -v mpirun >/dev/null; then
  timeout 45 mpirun --allow-run-as-root --oversubscribe -x FUSOR_LIBNCCL_PATH -x LD_LIBRARY_PATH -n "$GPUS" "$NODE" "$GPU/check-nccl.mjs" > "$OUT/nccl.txt" 2>&1 || status=1
else
  # one process: world size 1 (needs no MPI); a machine with more GPUs but no mpirun tests one
  timeout 45 "$NODE" "$GPU/check-nccl.mjs" > "$OUT/nccl.txt" 2>&1 || status=1
fi
tail -n 15 "$OUT/nccl.txt"

step "benchmark: fusor on cuda vs PyTorch"
timeout 170 "$NODE" --expose-gc --max-old-space-size=16384 "$GPU/bench-cuda.mjs" --out "$OUT" ${FUSOR_BENCH_ARGS:-} > "$OUT/bench.txt" 2>&1 || status=1
cat "$OUT/bench.txt"

if [ -n "${FUSOR_SKIP_WEBGPU:-}" ]; then
  step "webgpu: skipped (FUSOR_SKIP_WEBGPU is set)"
else
  step "webgpu: fusor vs tfjs-webgpu on the adapter Dawn finds"
  FUSOR_NODE="$NODE" OUT="$OUT" bash "$ROOT/scripts/gpu/webgpu.sh" > /dev/null 2>&1
  rc=$?
  # 3: no adapter (no Vulkan driver here): reported in webgpu.txt, not a failure of the run
  [ $rc -ne 0 ] && [ $rc -ne 3 ] && status=1
  cat "$OUT/webgpu.txt"
fi

step "done (status $status); results in $OUT: $(ls "$OUT" | tr '\n' ' ')"
exit $status
