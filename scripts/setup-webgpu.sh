#!/usr/bin/env bash
# Sets up a WebGPU adapter that runs on the CPU, for @fusor/backend-webgpu in Node:
# SwiftShader's Vulkan driver, taken from Debian's `chromium-common` package (not installed,
# only unpacked) into .webgpu/ at the repository root (git-ignored). Dawn (the `webgpu` npm
# package) then finds it through the Vulkan loader.
#
#   eval "$(bash scripts/setup-webgpu.sh)"     # exports LD_LIBRARY_PATH and VK_ICD_FILENAMES
#   bash scripts/setup-webgpu.sh --browser      # also installs Debian's chromium (the browser test)
#
# Idempotent: a second run only prints the variables. Progress goes to stderr; stdout carries
# only the `export` lines. Needs apt-get (Debian/Ubuntu); works as root or with sudo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.webgpu"
FILES=(libvk_swiftshader.so libvulkan.so.1 vk_swiftshader_icd.json)

log() { printf 'setup-webgpu: %s\n' "$*" >&2; }

BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) BROWSER=1 ;;
    *) log "unknown option $arg"; exit 2 ;;
  esac
done
SUDO=""
if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi

have_all() {
  local f
  for f in "${FILES[@]}"; do [[ -f "$DIR/$f" ]] || return 1; done
}

if ! have_all; then
  command -v apt-get >/dev/null || { log "apt-get not found: install SwiftShader's Vulkan ICD by hand into $DIR"; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "downloading chromium-common (SwiftShader) with apt-get"
  if ! (cd "$work" && apt-get download chromium-common >/dev/null 2>&1); then
    log "apt-get update"
    $SUDO apt-get update >/dev/null
    (cd "$work" && apt-get download chromium-common >/dev/null)
  fi
  dpkg -x "$work"/chromium-common_*.deb "$work/x"
  mkdir -p "$DIR"
  for f in "${FILES[@]}"; do
    src="$(find "$work/x" -name "$f" -print -quit)"
    [[ -n "$src" ]] || { log "$f not found in chromium-common"; exit 1; }
    cp "$src" "$DIR/$f"
  done
  # the ICD manifest names the driver relative to itself
  sed -i 's#"library_path": *"[^"]*"#"library_path": "./libvk_swiftshader.so"#' "$DIR/vk_swiftshader_icd.json"
  log "SwiftShader installed in $DIR"
fi

if (( BROWSER )) && [[ ! -x /usr/lib/chromium/chromium ]]; then
  log "installing chromium with apt-get (headless WebGPU for the browser test)"
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/dev/null 2>&1; then
    $SUDO apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/dev/null
  fi
fi

echo "export LD_LIBRARY_PATH=\"$DIR\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
echo "export VK_ICD_FILENAMES=\"$DIR/vk_swiftshader_icd.json\""
