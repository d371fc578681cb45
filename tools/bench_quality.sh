#!/bin/bash
# bench_quality.sh — training quality against the PyTorch peer: the same method, subset,
# epochs and batch through `vkcontrast train` and tools/bench_torch.py (same model,
# augmentations, loss, optimizer, schedule and kNN; see that script's header), then both
# kNN top-1 accuracies, their difference and both training speeds with their ratio.
#
#   tools/bench_quality.sh [--method simclr|moco|membank] [--subset 10000] [--epochs 5]
#                          [--batch 256] [--threads N] [--data PATH] [--out DIR]
#                          [--seed S] [--moco-version 1|2] [--negatives K|all]
#
# The acceptance figure is the default: 10,000 images x 5 epochs, batch 256, where
# vkcontrast should be within 1 kNN point of PyTorch or better. --threads sets both sides'
# CPU threads (LP_NUM_THREADS for lavapipe, torch threads; default nproc). The two runs go
# one after the other. Logs and the run folder go under --out (default
# runs/bench-quality-<method>-<time>); the last line printed is one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."

method=simclr subset=10000 epochs=5 batch=256 data=/usr/share/datasets/fashion-mnist out="" threads=$(nproc)
extra=() # --seed and method options, given to both sides
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
need_int() { # flag value
  case "$2" in '' | *[!0-9]*) echo "bench_quality: $1 '$2': expected a positive integer" >&2; exit 2 ;; esac
  [ "$2" -ge 1 ] || { echo "bench_quality: $1 $2: expected a positive integer" >&2; exit 2; }
}
while [ $# -gt 0 ]; do
  case "$1" in
    --method) method="${2-}"; shift 2 ;;
    --subset) need_int "$1" "${2-}"; subset="$2"; shift 2 ;;
    --epochs) need_int "$1" "${2-}"; epochs="$2"; shift 2 ;;
    --batch) need_int "$1" "${2-}"; batch="$2"; shift 2 ;;
    --threads) need_int "$1" "${2-}"; threads="$2"; shift 2 ;;
    --seed | --moco-version | --negatives) [ -n "${2-}" ] || { echo "bench_quality: $1: expected a value" >&2; exit 2; }
      extra+=("$1" "$2"); shift 2 ;;
    --data) data="${2-}"; shift 2 ;;
    --out) out="${2-}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench_quality: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$method" in
  simclr | moco | membank) ;;
  *) echo "bench_quality: --method $method: the PyTorch peer (tools/bench_torch.py) implements simclr, moco and membank" >&2
     exit 2 ;;
esac
bin=${VKCONTRAST_BIN:-build/vkcontrast}
[ -x "$bin" ] || { echo "bench_quality: $bin not found: build first (ninja -C build)" >&2; exit 2; }
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "bench_quality: /usr/bin/python3 with torch is needed (Debian python3-torch)" >&2; exit 2; }
out=${out:-runs/bench-quality-$method-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"

echo "bench_quality: $method${extra[*]:+ ${extra[*]}}, first $subset images of $data, $epochs epochs, batch $batch," \
  "$threads threads; logs in $out"
echo "bench_quality: vkcontrast train ..."
LP_NUM_THREADS=$threads "$bin" train --method "$method" ${extra[@]+"${extra[@]}"} --data "$data" --subset "$subset" \
  --epochs "$epochs" --batch "$batch" --knn-every "$epochs" --progress lines --out "$out/vkcontrast" \
  2> "$out/vkcontrast.log" ||
  { tail -n 5 "$out/vkcontrast.log" >&2; echo "bench_quality: vkcontrast train failed (log: $out/vkcontrast.log)" >&2; exit 1; }
echo "bench_quality: PyTorch peer ..."
/usr/bin/python3 tools/bench_torch.py --mode quality --method "$method" ${extra[@]+"${extra[@]}"} --data "$data" \
  --subset "$subset" --epochs "$epochs" --batch "$batch" --threads "$threads" --json > "$out/torch.json" \
  2> "$out/torch.log" ||
  { tail -n 5 "$out/torch.log" >&2; echo "bench_quality: bench_torch.py failed (log: $out/torch.log)" >&2; exit 1; }

python3 - "$out/vkcontrast/metrics.jsonl" "$out/torch.json" "$method" "$threads" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
if not rows or "knn_top1" not in rows[-1]:
    sys.exit("bench_quality: %s has no kNN result in its last epoch" % sys.argv[1])
torch = json.load(open(sys.argv[2]))
vk_knn, pt_knn = rows[-1]["knn_top1"], torch["knn_top1"]
# overall training speed: every epoch trains the same number of images
vk_ips = len(rows) / sum(1.0 / r["images_per_s"] for r in rows)
pt_ips = torch["images_per_s"]
diff = 100 * (vk_knn - pt_knn)
print("kNN top-1    vkcontrast %.2f%%   PyTorch %.2f%%   difference %+.2f points (%s)" %
      (100 * vk_knn, 100 * pt_knn, diff, "within 1 point or better" if diff >= -1 else "WORSE by more than 1 point"))
print("train speed  vkcontrast %.1f img/s   PyTorch %.1f img/s   ratio vkcontrast/PyTorch %.2fx" %
      (vk_ips, pt_ips, vk_ips / pt_ips))
print(json.dumps({"method": sys.argv[3], "threads": int(sys.argv[4]), "temperature": torch["temperature"],
                  "subset": torch["subset"], "batch": torch["batch"], "vkcontrast_knn_top1": vk_knn, "torch_knn_top1": pt_knn, "knn_diff_points": diff,
                  "vkcontrast_images_per_s": vk_ips, "torch_images_per_s": pt_ips, "speed_ratio": vk_ips / pt_ips,
                  "epochs": len(rows), "loss_vkcontrast": rows[-1]["loss"], "loss_torch": torch["loss"]}))
EOF
