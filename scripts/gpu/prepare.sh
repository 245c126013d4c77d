#!/usr/bin/env bash
# Builds .gpu/ (git-ignored) here, for scripts/gpu/run.sh on a GPU machine that has the NVIDIA
# driver, PyTorch and python3 but no Node: a compressed Node binary, the conformance runner and
# the benchmark bundled into single files, the conformance fixtures, PyTorch's side of the
# benchmark, and koffi with its linux-x64 native module. Checks the bundles on cpu before it ends.
# For the webgpu step (scripts/gpu/webgpu.sh: fusor against tfjs-webgpu on the machine's own
# adapter) also Dawn's dawn.node from the `webgpu` package (xz, ~5 MiB), the webgpu benchmark
# bundled with tfjs-core and tfjs-backend-webgpu (bench-webgpu.mjs), and a Vulkan loader
# (vulkan/libvulkan.so.1 from .webgpu/, used only where the machine has none); that step is
# checked here on SwiftShader at small sizes (scripts/setup-webgpu.sh installs it if needed).
#   scripts/gpu/prepare.sh            (from anywhere; about 34 MiB)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.gpu
NODE_BIN=$(readlink -f "$(command -v node)")
STAMP="$(node --version) $(stat -c %s "$NODE_BIN")"
# the compressed node takes minutes to make: keep it when the node binary is the same
KEEP=$(mktemp -d)
if [ -f "$OUT/node.xz" ] && [ "$(cat "$OUT/node.stamp" 2>/dev/null)" = "$STAMP" ]; then mv "$OUT/node.xz" "$OUT/node.stamp" "$KEEP/"; fi
# Dawn for Node: the webgpu package's linux-x64 native module, kept compressed the same way
WEBGPU_PKG=$(readlink -f packages/backend-webgpu/node_modules/webgpu)
DAWN_BIN="$WEBGPU_PKG/dist/linux-x64/dawn.node"
[ -f "$DAWN_BIN" ] || { echo "error: no $DAWN_BIN (pnpm install)" >&2; exit 1; }
DAWN_STAMP="$(basename "$(dirname "$(dirname "$WEBGPU_PKG")")") $(stat -c %s "$DAWN_BIN")"
if [ -f "$OUT/dawn.node.xz" ] && [ "$(cat "$OUT/dawn.node.stamp" 2>/dev/null)" = "$DAWN_STAMP" ]; then mv "$OUT/dawn.node.xz" "$OUT/dawn.node.stamp" "$KEEP/"; fi
rm -rf "$OUT"
mkdir -p "$OUT/node_modules/@koromix"

echo "bundling the conformance runner and the benchmark…"
node scripts/gpu/bundle.mjs "$OUT"
cp scripts/gpu/bench_torch.py "$OUT/"
cp -r packages/conformance/fixtures "$OUT/fixtures"

echo "copying koffi and its linux-x64 native module…"
KOFFI=$(readlink -f packages/backend-cuda/node_modules/koffi)
NATIVE=$(readlink -f "$KOFFI/../@koromix/koffi-linux-x64")
mkdir -p "$OUT/node_modules/koffi/src/koffi/src" "$OUT/node_modules/@koromix/koffi-linux-x64/linux_x64"
cp "$KOFFI"/package.json "$KOFFI"/index.js "$KOFFI"/index.cjs "$KOFFI"/LICENSE.txt "$OUT/node_modules/koffi/"
cp "$KOFFI"/src/koffi/*.js "$KOFFI"/src/koffi/*.cjs "$OUT/node_modules/koffi/src/koffi/"
cp "$KOFFI"/src/koffi/src/*.js "$KOFFI"/src/koffi/src/*.cjs "$OUT/node_modules/koffi/src/koffi/src/"
cp "$NATIVE"/package.json "$NATIVE"/index.js "$OUT/node_modules/@koromix/koffi-linux-x64/"
cp "$NATIVE"/linux_x64/koffi.node "$OUT/node_modules/@koromix/koffi-linux-x64/linux_x64/"

if [ -f "$KEEP/node.xz" ]; then
  mv "$KEEP/node.xz" "$KEEP/node.stamp" "$OUT/"
  xz -dc "$OUT/node.xz" > "$OUT/node"
else
  echo "compressing node $(node --version)…"
  if command -v strip >/dev/null; then strip -o "$OUT/node" "$NODE_BIN"; else cp "$NODE_BIN" "$OUT/node"; fi
  xz -T0 -6 -c "$OUT/node" > "$OUT/node.xz"
  echo "$STAMP" > "$OUT/node.stamp"
fi
if [ -f "$KEEP/dawn.node.xz" ]; then
  mv "$KEEP/dawn.node.xz" "$KEEP/dawn.node.stamp" "$OUT/"
else
  echo "compressing dawn.node ($DAWN_STAMP)…"
  xz -T1 -6 -c "$DAWN_BIN" > "$OUT/dawn.node.xz"
  echo "$DAWN_STAMP" > "$OUT/dawn.node.stamp"
fi
rmdir "$KEEP" 2>/dev/null || true

# SwiftShader (for the check below) and its Vulkan loader, which travels as the fallback loader
SWIFTSHADER=$(bash scripts/setup-webgpu.sh)
mkdir -p "$OUT/vulkan"
cp .webgpu/libvulkan.so.1 "$OUT/vulkan/"

echo "checking the bundles with that node on cpu…"
trap 'rm -f "$OUT/node"' EXIT
chmod +x "$OUT/node"
# the runner must run to its summary; failing checks are the cpu backend's business, not the bundle's
"$OUT/node" "$OUT/conformance-cuda.mjs" cpu --only '^(add|matmul|sum|softmax)/' > "$OUT/check.txt" 2>&1 || true
grep '^conformance on cpu: [0-9]* passed' "$OUT/check.txt" || { cat "$OUT/check.txt" >&2; echo "error: the bundled conformance runner did not run" >&2; exit 1; }
rm "$OUT/check.txt"
"$OUT/node" --expose-gc "$OUT/bench-cuda.mjs" --device cpu --quick --elements 4096 --matmul 16 --matmul16 16 --softmax-cols 16 > "$OUT/check.txt" 2>&1 || { cat "$OUT/check.txt" >&2; echo "error: the bundled benchmark did not run" >&2; exit 1; }
rm "$OUT/check.txt"
{ "$OUT/node" "$OUT/check-cuda.mjs" 2>&1 || true; } | grep -q '^checks on cuda: not run — cuda is unavailable' || { echo "error: the bundled cuda checks did not load" >&2; exit 1; }
{ "$OUT/node" "$OUT/check-nccl.mjs" 2>&1 || true; } | grep -q '^nccl checks: not run — ' || { echo "error: the bundled nccl checks did not load" >&2; exit 1; }
"$OUT/node" -e "import('$PWD/$OUT/node_modules/koffi/index.js').then((k) => console.log('koffi', k.default.version, 'loads'))"
# the webgpu step as run.sh runs it, on SwiftShader at small sizes, with the carried loader (only
# the manifest is given): it must print its table and say the adapter is a software one
echo "checking the webgpu step on SwiftShader (--quick)…"
CHECK=$(mktemp -d)
VK=$(echo "$SWIFTSHADER" | sed -n 's/^export VK_ICD_FILENAMES="\(.*\)"$/\1/p')
if ! VK_ICD_FILENAMES="$VK" FUSOR_NODE="$PWD/$OUT/node" FUSOR_WEBGPU_WORK="$CHECK" OUT="$CHECK" FUSOR_WEBGPU_ARGS=--quick FUSOR_WEBGPU_TIMEOUT=300 \
  nice bash scripts/gpu/webgpu.sh > "$CHECK/log" 2>&1 ||
  ! grep -q '^| case | fusor webgpu ms | tfjs webgpu ms | tfjs / fusor |$' "$CHECK/webgpu.md" ||
  ! grep -q '^RESULT: a SOFTWARE adapter' "$CHECK/webgpu.txt"; then
  cat "$CHECK/log" >&2
  echo "error: the bundled webgpu benchmark did not print its table on SwiftShader" >&2
  rm -rf "$CHECK"
  exit 1
fi
grep -E '^(adapter|check|RESULT)' "$CHECK/webgpu.txt"
cat "$CHECK/webgpu.md"
rm -rf "$CHECK"
rm "$OUT/node"

du -sh "$OUT"
SIZE=$(du -sm "$OUT" | cut -f1)
if [ "$SIZE" -ge 60 ]; then echo "error: $OUT is ${SIZE} MiB (the GPU tool carries at most 64 MiB)" >&2; exit 1; fi
echo "ready: carry .gpu and run scripts/gpu/run.sh on the GPU machine"
