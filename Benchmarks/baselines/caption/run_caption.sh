#!/usr/bin/env bash
# Loom's captioner and the PyTorch baseline on the same Fashion-MNIST scenes, back to back, at
# equal time budgets; then `loom-bench caption`.
#
#   Benchmarks/baselines/caption/run_caption.sh OUT_DIR [MINUTES ...]      (default budgets: 5 15)
#
#   Environment: LSTM_PYTHON (torch, pillow and sacrebleu; default /tmp/baselines/lstm-venv/bin/python),
#   THREADS (2), TRAIN_SCENES (60000), TEST_SCENES (1000), BASELINE (1: also run PyTorch).
#
# Writes OUT_DIR/scenes/{train,test}/ (PNG + captions.tsv), and per budget OUT_DIR/<M>min/:
# loom-train.jsonl, loom-train.txt, loom-eval.json (beam 3), loom-eval-greedy.json, grid.svg, torch.json;
# OUT_DIR/bench.json.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
out=${1:?usage: run_caption.sh OUT_DIR [MINUTES ...]}
shift
budgets=("$@"); [ ${#budgets[@]} -eq 0 ] && budgets=(5 15)
LSTM_PYTHON=${LSTM_PYTHON:-/tmp/baselines/lstm-venv/bin/python}
THREADS=${THREADS:-2}
loom="$repo/.build/release/loom"
[ -x "$loom" ] || { echo "run_caption: build first: swift build -c release" >&2; exit 1; }
if [ "${BASELINE:-1}" = 1 ]; then
    "$LSTM_PYTHON" -c "import torch, PIL, sacrebleu" || { echo "run_caption: $LSTM_PYTHON lacks torch, pillow or sacrebleu" >&2; exit 1; }
fi
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$out"
if [ ! -f "$out/scenes/test/captions.tsv" ]; then
    log "scenes"
    "$loom" caption scenes --out "$out/scenes" --train "${TRAIN_SCENES:-60000}" --test "${TEST_SCENES:-1000}"
fi
for minutes in "${budgets[@]}"; do
    dir="$out/${minutes}min"
    mkdir -p "$dir"
    log "Loom, $minutes minutes"
    "$loom" caption train --images "$out/scenes/train" --steps 1000000 --max-minutes "$minutes" --device cpu --threads "$THREADS" \
        --checkpoint "$dir/loom.ckpt" --log "$dir/loom-train.jsonl" > "$dir/loom-train.txt" 2> "$dir/loom-train.err"
    "$loom" caption eval --checkpoint "$dir/loom.ckpt" --images "$out/scenes/test" --beam 3 --device cpu --threads "$THREADS" \
        --json "$dir/loom-eval.json" --grid "$dir/grid.svg" > "$dir/loom-eval.txt"
    "$loom" caption eval --checkpoint "$dir/loom.ckpt" --images "$out/scenes/test" --greedy --device cpu --threads "$THREADS" \
        --json "$dir/loom-eval-greedy.json" > "$dir/loom-eval-greedy.txt"
    if [ "${BASELINE:-1}" = 1 ]; then
        log "PyTorch, $minutes minutes"
        "$LSTM_PYTHON" "$here/caption_torch.py" --train "$out/scenes/train" --test "$out/scenes/test" --minutes "$minutes" \
            --threads "$THREADS" > "$dir/torch.json"
    fi
done
log "loom-bench caption"
"$repo/.build/release/loom-bench" caption --devices cpu --threads "$THREADS" --json "$out/bench.json" > "$out/bench.txt"
log "done: $out"
