#!/usr/bin/env bash
# Data-parallel scaling on this machine: the same global work on 1 rank (all cores) and on N ranks
# (`mpirun -np N`, the cores split among them), one run after the other, and what the
# communication costs. Prints Markdown tables (the ones in Benchmarks/RESULTS.md).
#
#   Benchmarks/scaling.sh [RANKS]        (default 2)
#
# LSTM: a character LSTM on tiny-shakespeare, global batch 64 either way; steps/s, and per rank
# the seconds of the gradient allreduce and of the host copies around it against the whole run.
# word2vec: skip-gram with negative sampling on the prose8 corpus, 1 epoch either way; words/s,
# model averages and their seconds, and the analogy accuracy of the vectors (questions-words).
# Needs Open MPI's mpirun (scripts/setup.sh installs it) and the release build.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
data=$(cd "$repo/.." && pwd)/shared/data
ranks=${1:-2}
loom="$repo/.build/release/loom"
[ -x "$loom" ] || { echo "scaling: build first: swift build -c release" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "scaling: mpirun is missing (apt install openmpi-bin)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 LOOM_DEVICE=cpu
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "Machine: $cores cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Open MPI $(mpirun --version | head -1 | awk '{print $NF}'), loopback (shared memory)."
echo
echo "| LSTM (tiny-shakespeare, bytes, 2 × 256, Adam, batch 64, 10 unrollings, 300 steps) | steps/s | chars/s | allreduce s / rank | host copies s / rank | run s |"
echo "|---|--:|--:|--:|--:|--:|"
lstm=(lstm train --text "$data/charlm/tinyshakespeare.txt" --alphabet bytes --embedding 32 --layers 2 --hidden 256 --optimizer adam
      --batch-size 64 --steps 300 --report-every 100 --eval-every 0 --valid-size 1000 --validation batched)
run_lstm() {  # label, then the command
    local label=$1; shift
    "$@" > "$work/out" 2> "$work/err"
    local rate; rate=$(grep -o '([0-9.]* steps/s' "$work/out" | tr -d '(' | awk '{print $1}' || true)
    local comm; comm=$( (grep -o 'gradient allreduce [0-9.]* s, host copies [0-9.]* s, of [0-9.]* s' "$work/err" || true) \
        | awk '{a += $3; h += $7; t = $10; n++} END {if (n) printf "%.2f | %.2f | %.1f", a / n, h / n, t; else printf "– | – | –"}')
    echo "| $label | $rate | $(awk -v r="$rate" 'BEGIN {printf "%.0f", r * 640}') | $comm |"
}
run_lstm "1 rank, $cores threads" "$loom" "${lstm[@]}" --threads "$cores"
run_lstm "$ranks ranks, $((cores / ranks > 0 ? cores / ranks : 1)) thread(s) each" mpirun -np "$ranks" --oversubscribe "$loom" "${lstm[@]}"

echo
echo "| word2vec (prose8, skip-gram, negative 5, window 5, dim 128, 1 epoch) | words/s | averages | averaging s / rank | run s | analogy accuracy |"
echo "|---|--:|--:|--:|--:|--:|"
w2v=(word2vec train --corpus "$data/corpus/prose8.txt" --loss negative --window 5 --optimizer sgd --dim 128
     --epochs 1 --eval-every 0 --report-every 1000)
run_w2v() {  # label, vectors file, then the command
    local label=$1 vectors=$2; shift 2
    "$@" --output "$vectors" > "$work/out" 2> "$work/err"
    local rate; rate=$(grep -o '([0-9.]*[kM]* words/s' "$work/out" | tr -d '(' | awk '{print $1}' || true)
    local seconds; seconds=$(grep -o 'words in [0-9.]* s' "$work/out" | awk '{print $3}' || true)
    local avg; avg=$( (grep -o '[0-9]* model averages took [0-9.]* s' "$work/err" || true) \
        | awk '{c = $1; s += $5; n++} END {if (n) printf "%d | %.2f", c, s / n; else printf "– | –"}')
    local acc; acc=$("$loom" eval analogies --vectors "$vectors" "$data/eval/questions-words.txt" 2>/dev/null \
        | grep -o 'total accuracy: [0-9.]*%' | awk '{print $3}' || true)
    echo "| $label | $rate | $avg | $seconds | $acc |"
}
run_w2v "1 rank, $cores threads" "$work/v1.bin" "$loom" "${w2v[@]}" --threads "$cores"
for sync in 1048576 131072; do
    run_w2v "$ranks ranks, averaged every $((sync / 1024))k words" "$work/v$ranks-$sync.bin" \
        mpirun -np "$ranks" --oversubscribe "$loom" "${w2v[@]}" --sync-words "$sync"
done
