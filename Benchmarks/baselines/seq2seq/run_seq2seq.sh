#!/usr/bin/env bash
# Sequence-to-sequence figures: for each task, Loom trains for a time budget and is scored on the
# task's test pairs, then the PyTorch baseline (seq2seq_torch.py: the same model sizes, optimiser,
# batches and pairs files) trains for the same budget and is scored the same way; then
# `loom-bench seq2seq` times training and decoding. One after another, never side by side.
#
#   Benchmarks/baselines/seq2seq/run_seq2seq.sh OUT_DIR [TASK ...]
#
#   TASK  reverse-words g2p translation (default: all three)
#   Environment: LSTM_PYTHON (torch and sacrebleu; default /tmp/baselines/lstm-venv/bin/python),
#   THREADS (2), and per task the budget in minutes: REVERSE_MINUTES (15), G2P_MINUTES (30),
#   TRANSLATION_MINUTES (15), BASELINE_MINUTES (default: the same budget as Loom's);
#   TRANSLATION_UNITS (char; or word — PyTorch's script has no subword units).
#
# Writes OUT_DIR/<task>/: pairs (train/valid/test.tsv), loom-train.jsonl (the run log),
# loom-train.txt, loom-eval.json (scores, examples, per length), torch.json; OUT_DIR/bench.json.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
shared=$(cd "$repo/.." && pwd)/shared/data
out=${1:?usage: run_seq2seq.sh OUT_DIR [TASK ...]}
shift
tasks=("$@"); [ ${#tasks[@]} -eq 0 ] && tasks=(reverse-words g2p translation)
LSTM_PYTHON=${LSTM_PYTHON:-/tmp/baselines/lstm-venv/bin/python}
THREADS=${THREADS:-2}
loom="$repo/.build/release/loom"
[ -x "$loom" ] || { echo "run_seq2seq: build first: swift build -c release" >&2; exit 1; }
"$LSTM_PYTHON" -c "import torch, sacrebleu" || { echo "run_seq2seq: $LSTM_PYTHON lacks torch or sacrebleu" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$out"
"$LSTM_PYTHON" - "$out/machine.json" "$repo" <<'PY'
import json, os, subprocess, sys, datetime, torch, sacrebleu
repo = sys.argv[2]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
git = lambda *a: subprocess.run(["git", "-C", repo, *a], capture_output=True, text=True).stdout.strip()
json.dump({"cpu": cpu, "cores": os.cpu_count(), "date": datetime.date.today().isoformat(), "commit": git("rev-parse", "HEAD"),
           "uncommitted": bool(git("status", "--porcelain", "--untracked-files=no")), "torch": torch.__version__,
           "sacrebleu": sacrebleu.__version__, "loadavg": open("/proc/loadavg").read().split()[:3]},
          open(sys.argv[1], "w"), indent=1)
PY

for task in "${tasks[@]}"; do
    dir="$out/$task"
    mkdir -p "$dir"
    case $task in
        reverse-words)
            minutes=${REVERSE_MINUTES:-15}
            data=(--task reverse-words --text "$shared/corpus/prose8.txt")
            train_opts=()                                     # the task's defaults
            eval_opts=(--beam 4)
            torch_units=(--units char)
            torch_opts=(--lr 0.002 --decay 0.5 --decay-every 2500
                        --groups "2–6 words, as in training:1500;7–10 words, longer than any in training:500") ;;
        g2p)
            minutes=${G2P_MINUTES:-30}
            data=(--task g2p --dictionary "$shared/g2p")
            train_opts=()                                     # the task's defaults
            eval_opts=(--beam 4)
            torch_units=(--units char --target-units symbol)
            torch_opts=(--lr 0.002 --decay 0.5 --decay-every 8000 --dropout 0.1) ;;
        translation)
            minutes=${TRANSLATION_MINUTES:-15}
            data=(--pairs "$shared/translation/train.tsv")
            units=${TRANSLATION_UNITS:-char}
            decay_every=$([ "$units" = word ] && echo 1500 || echo 2500)
            train_opts=(--valid-pairs "$shared/translation/valid.tsv" --units "$units" --dropout 0.3
                        --decay-every "$decay_every" --best "$dir/loom-best.ckpt")
            eval_opts=(--beam 4)
            torch_units=(--units "$units")
            torch_opts=(--lr 0.002 --decay 0.5 --decay-every "$decay_every" --dropout 0.3) ;;
        *) echo "run_seq2seq: unknown task '$task'" >&2; exit 2 ;;
    esac
    if [ "$task" = translation ]; then
        cp "$shared/translation/train.tsv" "$shared/translation/valid.tsv" "$shared/translation/test.tsv" "$dir/"
        eval_data=(--pairs "$shared/translation/test.tsv")
    else
        "$loom" seq2seq pairs "${data[@]}" --out "$dir" > /dev/null
        eval_data=("${data[@]}")
    fi
    log "$task: Loom, $minutes minutes"
    "$loom" seq2seq train "${data[@]}" "${train_opts[@]}" --steps 1000000 --max-minutes "$minutes" --device cpu \
        --threads "$THREADS" --checkpoint "$dir/loom.ckpt" --log "$dir/loom-train.jsonl" > "$dir/loom-train.txt" 2> "$dir/loom-train.err"
    ckpt="$dir/loom.ckpt"
    if [ -f "$dir/loom-best.ckpt" ]; then
        # Scored both ways: the last checkpoint (as the baseline's), and the best by validation chrF.
        "$loom" seq2seq eval --checkpoint "$ckpt" "${eval_data[@]}" "${eval_opts[@]}" --device cpu --threads "$THREADS" \
            --json "$dir/loom-eval-last.json" > "$dir/loom-eval-last.txt"
        ckpt="$dir/loom-best.ckpt"
    fi
    "$loom" seq2seq eval --checkpoint "$ckpt" "${eval_data[@]}" "${eval_opts[@]}" --device cpu --threads "$THREADS" \
        --json "$dir/loom-eval.json" > "$dir/loom-eval.txt"
    "$loom" seq2seq eval --checkpoint "$ckpt" "${eval_data[@]}" --greedy --device cpu --threads "$THREADS" \
        --json "$dir/loom-eval-greedy.json" > "$dir/loom-eval-greedy.txt"
    log "$task: PyTorch, ${BASELINE_MINUTES:-$minutes} minutes"
    "$LSTM_PYTHON" "$here/seq2seq_torch.py" --train "$dir/train.tsv" --test "$dir/test.tsv" "${torch_units[@]}" \
        --attention general --bidirectional "${torch_opts[@]}" --minutes "${BASELINE_MINUTES:-$minutes}" --threads "$THREADS" > "$dir/torch.json"
    # The checkpoints stay (they are not committed: see .gitignore).
done
log "loom-bench seq2seq"
"$repo/.build/release/loom-bench" seq2seq --devices cpu --threads "$THREADS" --json "$out/bench.json" > "$out/bench.txt"
log "done: $out"
