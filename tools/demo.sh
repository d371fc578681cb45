#!/bin/sh
# demo.sh — set up, build, and run the main job: SimCLR on Fashion-MNIST with a progress
# bar, then kNN accuracy. On a CPU device (lavapipe) it trains on a 2048-image subset for
# 2 epochs so it ends in minutes; on a GPU it trains on all 60000 images for 10 epochs.
# Extra arguments go to `vkcontrast train` (e.g. tools/demo.sh --epochs 5).
set -eu
cd "$(dirname "$0")/.."
sh tools/setup.sh
if [ -d build ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build >/dev/null
./build/vkcontrast devices
# the type of the device training will use (the entry marked "default": true)
type=$(./build/vkcontrast devices --json | tr -d '\n' | sed -n 's/.*"type": "\([a-z]*\)", "driver"[^}]*"default": true.*/\1/p')
out=runs/demo-$(date +%Y%m%d-%H%M%S)
if [ "$type" = "cpu" ]; then
  echo "demo: CPU device (lavapipe): SimCLR on a 2048-image subset, 2 epochs, batch 128"
  set -- --subset 2048 --epochs 2 --batch 128 --knn-every 2 "$@"
else
  echo "demo: GPU device: SimCLR on all 60000 images, 10 epochs, batch 256"
  set -- --epochs 10 --batch 256 --knn-every 5 "$@"
fi
./build/vkcontrast train --out "$out" "$@"
echo "demo: last epoch (kNN: weighted k=200 on the 128-d representation, training images as the bank, 10000 test images scored):"
tail -n 1 "$out/metrics.jsonl"
echo "demo: run folder $out (config.json, metrics.jsonl, checkpoint.safetensors)"
