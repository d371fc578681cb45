#!/bin/sh
# demo.sh — set up, build, and run the main job: SimCLR on Fashion-MNIST, then kNN accuracy.
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build >/dev/null
./build/vkcontrast devices
if ./build/vkcontrast train --help >/dev/null 2>&1; then
  ./build/vkcontrast train "$@"
else
  echo "training arrives with SimCLR (issue 3); the engine and its tests are in place: tools/test.sh"
fi
