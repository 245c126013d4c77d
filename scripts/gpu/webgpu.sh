#!/usr/bin/env bash
# fusor's webgpu backend against tfjs-webgpu 4.22 on a GPU machine's own WebGPU adapter (Dawn on
# its Vulkan driver), in Node: issue 15's webgpu cases (matmul 256/512/1024, the MLP step, softmax
# 4096×1024, an elementwise chain over 1M floats), both libraries in one process on the same
# adapter, case by case, after a check that both compute the same products and softmax. Needs
# only .gpu/ (scripts/gpu/prepare.sh: node.xz, dawn.node.xz, bench-webgpu.mjs, vulkan/) and
# python3 or xz; no Node, npm or network. Run by run.sh as its last step, or alone (about a
# minute on a GPU; it fits one device command by itself):
#   bash scripts/gpu/webgpu.sh               # results in $OUT (default ./gpu-results)
# Writes to $OUT:
#   webgpu.txt   the Vulkan setup found (loader, ICD manifests, NVIDIA's Vulkan library), the
#                adapter Dawn chose and whether it is HARDWARE or SOFTWARE, the result checks,
#                the table; webgpu.md the table alone (for docs/BENCHMARKS.md); webgpu.json data
# A software adapter (SwiftShader, llvmpipe) on the GPU machine runs, but its figures are not the
# hardware figures issue 15 asks for: the files say so plainly. Without any adapter (no Vulkan
# loader, no driver manifest: a container without NVIDIA_DRIVER_CAPABILITIES=graphics) the step
# writes why and exits 3. Exit: 0 a table (either kind), 3 no adapter, other a failure.
# Knobs: FUSOR_WEBGPU_ARGS (e.g. --quick), FUSOR_WEBGPU_TIMEOUT (seconds, default 180),
# FUSOR_DAWN_FLAGS (Dawn's create() flags, e.g. "adapter=NVIDIA"), VK_ICD_FILENAMES (the driver
# manifests to use instead of the loader's search), FUSOR_NODE (a node binary to use as is).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GPU=${FUSOR_GPU_DIR:-$ROOT/.gpu}
OUT=${OUT:-$ROOT/gpu-results}
WORK=${FUSOR_WEBGPU_WORK:-/tmp/fusor-node}
mkdir -p "$OUT" "$WORK"
TXT="$OUT/webgpu.txt"
: > "$TXT"
say() { echo "$*" | tee -a "$TXT"; }
unxz_to() { # unxz_to FILE.xz DEST (xz, else Python's lzma)
  if command -v xz >/dev/null; then xz -dc "$1" > "$2"; else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}

for f in bench-webgpu.mjs dawn.node.xz; do
  if [ ! -f "$GPU/$f" ]; then say "webgpu not run: no $GPU/$f (run scripts/gpu/prepare.sh and carry .gpu)"; exit 2; fi
done
NODE=${FUSOR_NODE:-$WORK/node}
if [ ! -x "$NODE" ]; then
  [ -f "$GPU/node.xz" ] || { say "webgpu not run: no $GPU/node.xz"; exit 2; }
  unxz_to "$GPU/node.xz" "$NODE" && chmod +x "$NODE"
fi
DAWN=$WORK/dawn.node
unxz_to "$GPU/dawn.node.xz" "$DAWN" || { say "webgpu not run: dawn.node.xz did not unpack"; exit 2; }

# the Vulkan loader: the system's when it has one, else the one carried in .gpu/vulkan
libdirs() { echo "${LD_LIBRARY_PATH:-}" | tr ':' '\n'; echo /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib | tr ' ' '\n'; }
find_lib() { # find_lib NAME: its path, from ldconfig's cache or the usual directories
  local hit
  hit=$( { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }')
  if [ -z "$hit" ]; then
    for d in $(libdirs); do [ -n "$d" ] && [ -e "$d/$1" ] && { hit="$d/$1"; break; }; done
  fi
  echo "$hit"
}
say "webgpu on this machine's adapter, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/GPU: /' | tee -a "$TXT"
say "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-(unset)} (a container needs 'graphics' among them for the NVIDIA Vulkan driver)"
LOADER=$(find_lib libvulkan.so.1)
if [ -n "$LOADER" ]; then
  say "Vulkan loader: $LOADER (the system's)"
elif [ -f "$GPU/vulkan/libvulkan.so.1" ]; then
  export LD_LIBRARY_PATH="$GPU/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "Vulkan loader: none on the system; using the carried $GPU/vulkan/libvulkan.so.1"
else
  say "Vulkan loader: none on the system and none carried"
fi

# the drivers: the manifests the loader will read, and NVIDIA's Vulkan driver library
NV_LIB=$(find_lib libGLX_nvidia.so.0)
say "NVIDIA Vulkan driver library (libGLX_nvidia.so.0): ${NV_LIB:-not found}"
SPIRV=$(find_lib libnvidia-glvkspirv.so.$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1))
[ -n "$NV_LIB" ] && say "its SPIR-V compiler (libnvidia-glvkspirv): ${SPIRV:-not found}"
MANIFESTS=()
for d in ${XDG_CONFIG_DIRS:-/etc/xdg} /etc /usr/local/share /usr/share; do
  for f in "$d"/vulkan/icd.d/*.json; do [ -f "$f" ] && MANIFESTS+=("$f"); done
done
if [ -n "${VK_ICD_FILENAMES:-}" ]; then
  say "Vulkan drivers: VK_ICD_FILENAMES=$VK_ICD_FILENAMES (given)"
else
  for f in "${MANIFESTS[@]}"; do say "Vulkan driver manifest: $f → $(grep -o '"library_path"[^,}]*' "$f" | head -n 1)"; done
  [ ${#MANIFESTS[@]} -eq 0 ] && say "Vulkan driver manifests: none in */vulkan/icd.d"
  # NVIDIA's library without its manifest (some container setups mount one and not the other):
  # the manifest is three lines naming the library, so write it
  if [ -n "$NV_LIB" ] && ! grep -qs libGLX_nvidia "${MANIFESTS[@]}" /dev/null; then
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' "$NV_LIB" > "$WORK/nvidia_icd.json"
    export VK_ICD_FILENAMES="$WORK/nvidia_icd.json"
    say "Vulkan drivers: no manifest names NVIDIA's library; wrote $VK_ICD_FILENAMES for it"
  fi
fi

TIMEOUT=${FUSOR_WEBGPU_TIMEOUT:-180}
say "running: node bench-webgpu.mjs ${FUSOR_WEBGPU_ARGS:-} (Dawn flags: ${FUSOR_DAWN_FLAGS:-none}; timeout ${TIMEOUT} s)"
# shellcheck disable=SC2086 # FUSOR_WEBGPU_ARGS is a list of options
timeout "$TIMEOUT" "$NODE" "$GPU/bench-webgpu.mjs" --dawn "$DAWN" --json "$OUT/webgpu.json" --md "$OUT/webgpu.md" ${FUSOR_WEBGPU_ARGS:-} >> "$TXT" 2>&1
rc=$?
case $rc in
  0)
    if grep -q '^adapter kind: hardware' "$TXT"; then
      say "RESULT: a HARDWARE adapter ($(sed -n 's/^adapter: //p' "$TXT" | head -n 1)): these are the GPU figures issue 15 asks for"
    else
      say "RESULT: a SOFTWARE adapter ($(sed -n 's/^adapter: //p' "$TXT" | head -n 1)): Dawn did not use the GPU; these are NOT the hardware figures issue 15 asks for"
    fi
    ;;
  3) say "RESULT: no WebGPU adapter here ($(sed -n 's/^webgpu benchmark not run: //p' "$TXT" | head -n 1)); see the Vulkan lines above" ;;
  124) say "RESULT: the runner was stopped after ${TIMEOUT} s (FUSOR_WEBGPU_TIMEOUT); the cases it finished are above" ;;
  *) say "RESULT: the runner failed (exit $rc); its output is above" ;;
esac
rm -f "$DAWN"
exit $rc
