#!/bin/sh
# setup.sh — install what vkcontrast needs on Debian 12 (idempotent; quiet when all is there).
# Build: meson, ninja, glslc and Vulkan headers. Run: the Vulkan loader, Mesa's lavapipe
# (so a machine without a GPU works), the validation layer (tests), stb, zlib.
# Data: Debian's Fashion-MNIST. Benchmarks: OpenBLAS (GEMM peer). python3-torch is only
# for tools/gen_golden.py and the PyTorch benchmarks and is not installed here.
set -eu
pkgs="build-essential pkg-config meson ninja-build python3 glslc glslang-tools spirv-tools
libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools libstb-dev zlib1g-dev
libopenblas-dev dataset-fashion-mnist"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
