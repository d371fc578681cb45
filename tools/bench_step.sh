#!/bin/bash
# bench_step.sh — SimCLR training-step speed against the PyTorch peer, measured in the
# same session: `vkcontrast bench --batch B --steps N --json` and
# `tools/bench_torch.py --mode speed` (same model, augmentations, loss and optimizer),
# alternated back to back for --rounds rounds so that both see the same machine load.
# Prints every measurement, then the images/s ratio vkcontrast / PyTorch (median of each
# side over the rounds); the last line is one JSON object.
#
#   tools/bench_step.sh [--batch 256] [--steps 10] [--rounds 2] [--subset 10000] [--data PATH]
#
# A step is: augment 2 views of B images, forward, NT-Xent, backward, SGD; images/s counts
# images (B per step), not views. Run it on a quiet machine: on lavapipe both sides use
# every core.
set -euo pipefail
cd "$(dirname "$0")/.."

batch=256 steps=10 rounds=2 subset=10000 data=/usr/share/datasets/fashion-mnist
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
need_int() { # flag value
  case "$2" in '' | *[!0-9]*) echo "bench_step: $1 '$2': expected a positive integer" >&2; exit 2 ;; esac
  [ "$2" -ge 1 ] || { echo "bench_step: $1 $2: expected a positive integer" >&2; exit 2; }
}
while [ $# -gt 0 ]; do
  case "$1" in
    --batch) need_int "$1" "${2-}"; batch="$2"; shift 2 ;;
    --steps) need_int "$1" "${2-}"; steps="$2"; shift 2 ;;
    --rounds) need_int "$1" "${2-}"; rounds="$2"; shift 2 ;;
    --subset) need_int "$1" "${2-}"; subset="$2"; shift 2 ;;
    --data) data="${2-}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench_step: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
bin=${VKCONTRAST_BIN:-build/vkcontrast}
[ -x "$bin" ] || { echo "bench_step: $bin not found: build first (ninja -C build)" >&2; exit 2; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
  { echo "bench_step: /usr/bin/python3 with torch is needed (Debian python3-torch)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The last line of stdout that is a JSON object with the key images_per_s.
json_line() { grep '^{.*"images_per_s"' "$1" | tail -n 1; }

results="$tmp/results.jsonl"
: > "$results"
for r in $(seq 1 "$rounds"); do
  if ! "$bin" bench --data "$data" --subset "$subset" --batch "$batch" --steps "$steps" --json \
      > "$tmp/vk.out" 2> "$tmp/vk.err" || [ -z "$(json_line "$tmp/vk.out")" ]; then
    tail -n 5 "$tmp/vk.err" >&2
    echo "bench_step: \`vkcontrast bench --batch $batch --steps $steps --json\` failed or printed no JSON with" \
         "images_per_s (does this build have the bench step mode?)" >&2
    exit 1
  fi
  vk=$(json_line "$tmp/vk.out")
  /usr/bin/python3 tools/bench_torch.py --mode speed --data "$data" --subset "$subset" --batch "$batch" \
    --steps "$steps" --json > "$tmp/pt.out" 2> "$tmp/pt.err" ||
    { tail -n 5 "$tmp/pt.err" >&2; echo "bench_step: tools/bench_torch.py --mode speed failed" >&2; exit 1; }
  pt=$(json_line "$tmp/pt.out")
  printf '{"round": %d, "vkcontrast": %s, "torch": %s}\n' "$r" "$vk" "$pt" >> "$results"
  python3 - "$r" "$vk" "$pt" <<'EOF'
import json, sys
vk, pt = json.loads(sys.argv[2]), json.loads(sys.argv[3])
print("round %s  vkcontrast %.1f img/s (%.0f ms/step)   PyTorch %.1f img/s (%.0f ms/step)" %
      (sys.argv[1], vk["images_per_s"], vk.get("ms_per_step_median", float("nan")), pt["images_per_s"],
       pt["ms_per_step_median"]))
EOF
done
python3 - "$results" "$batch" "$steps" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
vk = statistics.median(r["vkcontrast"]["images_per_s"] for r in rows)
pt = statistics.median(r["torch"]["images_per_s"] for r in rows)
print("SimCLR step, batch %s: vkcontrast %.1f img/s, PyTorch %.1f img/s (medians of %d rounds): ratio vkcontrast/PyTorch %.2fx"
      % (sys.argv[2], vk, pt, len(rows), vk / pt))
print(json.dumps({"batch": int(sys.argv[2]), "steps": int(sys.argv[3]), "rounds": len(rows),
                  "vkcontrast_images_per_s": vk, "torch_images_per_s": pt, "ratio": vk / pt,
                  "per_round": [[r["vkcontrast"]["images_per_s"], r["torch"]["images_per_s"]] for r in rows]}))
EOF
