#!/usr/bin/env bash
# Alternate two semel command lines N times and print each run's wall time, stage times and kept count,
# so a change is judged against its baseline under the same machine load (quote medians).
#
#   bash bench/ab_stages.sh 3 \
#     "PYTHONPATH=/tmp/wt-base .venv/bin/python -m semel dedup CORPUS -o /tmp/ab-out -q" \
#     ".venv/bin/semel dedup CORPUS -o /tmp/ab-out -q"
#
# Both commands must write their output folder to /tmp/ab-out (removed before each run).
set -euo pipefail
n=$1; a=$2; b=$3
for _ in $(seq "$n"); do
  for which in A B; do
    cmd=$a; [ "$which" = B ] && cmd=$b
    rm -rf /tmp/ab-out
    start=$(date +%s.%N); eval "$cmd" > /dev/null 2>&1; end=$(date +%s.%N)
    python3 - "$which" "$start" "$end" <<'PY'
import json, sys
which, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
stats = json.load(open("/tmp/ab-out/stats.json"))["stats"]
stages = " ".join(f"{s['name']}={s['seconds']:.2f}" for s in stats["stages"])
print(f"{which} {end - start:6.2f} s  {stages}  kept={stats['kept']}")
PY
  done
done
