#!/usr/bin/env bash
# Runs the TensorFlow and PyTorch character-LSTM baselines and records the load average beside
# every figure. Usage:
#   PYTHON=/tmp/baselines/lstm-venv/bin/python run_lstm_baselines.sh [-t TEXT] [-o OUTDIR] [-r REPEATS] [PARTS...]
# PARTS (default: quality speed large): quality (7001 steps, course config, eval every 1000),
# speed (course config, timed 2000 steps), large (512 nodes, batch 128, 10 unrollings, 30 timed
# steps), large50 (the same with 50 unrollings).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-/tmp/baselines/lstm-venv/bin/python}"
TEXT="$here/../../../../shared/data/corpus/prose8.txt"
OUT="$here/results"
REPEATS=3
while getopts "t:o:r:" o; do
  case $o in t) TEXT=$OPTARG;; o) OUT=$OPTARG;; r) REPEATS=$OPTARG;; *) exit 2;; esac
done
shift $((OPTIND-1))
parts=("$@"); [ ${#parts[@]} -eq 0 ] && parts=(quality speed large)
mkdir -p "$OUT"
log="$OUT/runs.log"

run() {  # name, script, args...
  local name=$1 script=$2; shift 2
  local before after line
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  line=$("$PYTHON" "$here/$script" --text "$TEXT" --summary-every 0 --json "$OUT/$name.json" "$@" 2>"$OUT/$name.err" | tail -1)
  after=$(cut -d' ' -f1-3 /proc/loadavg)
  printf '%s\t%s\tload before %s\tafter %s\t%s %s\n' "$(date +%H:%M:%S)" "$name" "$before" "$after" "$script" "$*" | tee -a "$log"
  printf '    %s\n' "$line" | tee -a "$log"
}

for part in "${parts[@]}"; do
  case $part in
    quality)
      for s in 1 2 3; do
        run tf-course-7001-seed$s lstm_tf.py --steps 7001 --eval-every 1000 --seed $s
        run torch-course-7001-seed$s lstm_torch.py --steps 7001 --eval-every 1000 --seed $s
      done ;;
    speed)
      for r in $(seq "$REPEATS"); do
        run tf-course-speed-r$r lstm_tf.py --time-steps 2000
        run torch-course-speed-r$r lstm_torch.py --time-steps 2000
      done ;;
    large)
      for r in $(seq "$REPEATS"); do
        run tf-h512-b128-t10-r$r lstm_tf.py --hidden 512 --batch 128 --unrollings 10 --time-steps 30
        run torch-h512-b128-t10-r$r lstm_torch.py --hidden 512 --batch 128 --unrollings 10 --time-steps 30
      done ;;
    large50)
      for r in $(seq "$REPEATS"); do
        run tf-h512-b128-t50-r$r lstm_tf.py --hidden 512 --batch 128 --unrollings 50 --time-steps 30
        run torch-h512-b128-t50-r$r lstm_torch.py --hidden 512 --batch 128 --unrollings 50 --time-steps 30
      done ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done
