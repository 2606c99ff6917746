#!/usr/bin/env bash
# The webgpu backend on this machine's GPU, in one command (docs/performance.md, "webgpu on a GPU"): prints the adapter,
# the full-size UNet forward at batch 1 and 16, the 50-step image time and the image difference against the cpu
# backend (bench/gpu-check.ts). Needs Node >= 20, npm, and on Linux the Vulkan loader and the GPU's Vulkan driver
# (`vulkaninfo --summary` lists the GPU; Debian/Ubuntu: libvulkan1 and the vendor's driver, e.g. NVIDIA's
# libnvidia-gl / nvidia-driver packages, which install /usr/share/vulkan/icd.d/nvidia_icd.json).
#   bench/gpu-check.sh [--model google/ddpm-cifar10-32] [--reference cpu|wasm] [--steps 50] [--runs 5]
# TFJS_DIFFUSERS_WEBGPU_ADAPTER=<index or name part> picks another adapter than Dawn's high-performance one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)" = Linux ] && ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  echo "gpu-check: no Vulkan loader (libvulkan.so.1): apt-get install -y libvulkan1, plus the GPU's Vulkan driver" >&2
  exit 1
fi
[ -d node_modules/webgpu ] || npm ci
npx tsc -p bench/tsconfig.json
node build/bench/gpu-check.js "$@"
