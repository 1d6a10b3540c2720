#!/usr/bin/env bash
# The full main job (npm start) on 2 cores, timed: prints the summary line
# and the wall-clock seconds. Usage: bench/main-job.sh [NAME] [extra tsnas main flags]
# It starts from scratch (removes runs/NAME first); run `npm start` to resume instead.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-bench-main}"
shift || true
rm -rf "runs/$name"
start=$(date +%s.%N)
# taskset keeps it on two cores even on a bigger machine.
cores=$(nproc)
pin=""
if [ "$cores" -gt 2 ] && command -v taskset >/dev/null; then pin="taskset -c 0,1"; fi
$pin node bin/tsnas.js main --name "$name" --threads 2 --quiet "$@" | tee "/tmp/$name.summary"
end=$(date +%s.%N)
echo "wall_seconds $(echo "$end - $start" | bc)"
