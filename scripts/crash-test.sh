#!/usr/bin/env bash
# Kills real `loom` training runs with SIGKILL at random moments and checks that nothing is lost:
# after every kill the checkpoint (when one was written) loads, the run resumed from it ends with
# exactly the bytes of an uninterrupted run of the same seed (CPU backend, fixed threads; word2vec
# with --workers 1), and no temporary file of a killed writer is left once the next one has run.
#
#   scripts/crash-test.sh [KILLS] [OUT_DIR]      KILLS per model (default 50; CI runs 3)
#
# Models: word2vec (fused skip-gram, a checkpoint every step) and the character LSTM (a checkpoint
# every 25 steps). Prints one line per kill and a summary; exits non-zero on the first loss.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-50}
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/loom-crash.XXXXXX")}
loom=${LOOM:-.build/release/loom}
[ -x "$loom" ] || { echo "crash-test: build first (swift build -c release)" >&2; exit 1; }
mkdir -p "$out"
log() { echo "[crash-test] $*"; }

# Data made here, the same every time: a word corpus with some structure, and a text.
awk 'BEGIN { srand(7); for (i = 0; i < 60000; i++) { g = int(rand() * 40); printf "c%d_%d w%d c%d_%d f%d ", g, int(rand() * 3), g, g, int(rand() * 3), int(rand() * 200) } }' \
    > "$out/corpus.txt"
awk 'BEGIN { srand(3); for (i = 0; i < 4000; i++) { printf "%s ", substr("the quick brown fox jumps over a lazy dog and runs", 1 + int(rand() * 40), 1 + int(rand() * 9)) } }' \
    > "$out/text.txt"

w2v_args=(word2vec train --corpus "$out/corpus.txt" --window 5 --loss negative --epochs 8 --dim 32 --min-count 1
          --workers 1 --threads 2 --device cpu --seed 3 --save-every 1 --report-every 1 --eval-every 0)
lstm_args=(lstm train --text "$out/text.txt" --hidden 64 --batch-size 32 --unrollings 20 --steps 600 --valid-size 200
           --threads 2 --device cpu --seed 5 --save-every 25 --eval-every 0)

run_w2v() { "$loom" "${w2v_args[@]}" --checkpoint "$1" --output "$2" "${@:3}"; }
run_lstm() { "$loom" "${lstm_args[@]}" --checkpoint "$1" "${@:2}"; }

log "reference runs (uninterrupted) in $out"
start=$(date +%s.%N)
run_w2v "$out/w2v-ref.ckpt" "$out/w2v-ref.bin" > /dev/null 2>&1
w2v_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
start=$(date +%s.%N)
run_lstm "$out/lstm-ref.ckpt" > /dev/null 2>&1
lstm_seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
log "word2vec takes ${w2v_seconds}s, the LSTM ${lstm_seconds}s uninterrupted"

# kill_at MODEL SECONDS: starts a run, SIGKILLs it after SECONDS, resumes it to the end, compares.
survived=0 late=0
kill_once() {
    local model=$1 delay=$2 n=$3 ck="$out/$1-run.ckpt" pid
    rm -f "$ck" "$out/$model-run.bin"
    # loom itself must be the background job ($! its pid), not a shell function running it.
    if [ "$model" = w2v ]; then
        "$loom" "${w2v_args[@]}" --checkpoint "$ck" --output "$out/w2v-run.bin" > /dev/null 2>&1 &
    else
        "$loom" "${lstm_args[@]}" --checkpoint "$ck" > /dev/null 2>&1 &
    fi
    pid=$!
    sleep "$delay"
    local killed=1
    kill -9 "$pid" 2> /dev/null || killed=0   # 0: it had already finished
    wait "$pid" 2> /dev/null || true
    if kill -0 "$pid" 2> /dev/null; then log "FAIL: the killed $model run is still alive"; exit 1; fi
    local resumed=()
    [ -f "$ck" ] && resumed=(--resume "$ck")
    if [ "$model" = w2v ]; then
        run_w2v "$ck" "$out/w2v-run.bin" "${resumed[@]}" > "$out/last.out" 2> "$out/last.err" \
            || { log "FAIL: word2vec did not resume after a kill at ${delay}s"; cat "$out/last.err"; exit 1; }
        cmp -s "$out/w2v-run.bin" "$out/w2v-ref.bin" \
            || { log "FAIL: word2vec resumed after a kill at ${delay}s differs from the uninterrupted run"; exit 1; }
    else
        run_lstm "$ck" "${resumed[@]}" > "$out/last.out" 2> "$out/last.err" \
            || { log "FAIL: the LSTM did not resume after a kill at ${delay}s"; cat "$out/last.err"; exit 1; }
        cmp -s "$ck" "$out/lstm-ref.ckpt" \
            || { log "FAIL: the LSTM resumed after a kill at ${delay}s differs from the uninterrupted run"; exit 1; }
    fi
    local stale
    stale=$(find "$out" -maxdepth 1 -name ".$model-run.ckpt.tmp-*" | wc -l)
    [ "$stale" -eq 0 ] || { log "FAIL: $stale temporary files of killed writers left beside $ck"; exit 1; }
    if [ "$killed" = 1 ]; then
        survived=$((survived + 1))
        log "$model kill $n at ${delay}s: $([ ${#resumed[@]} -gt 0 ] && echo "resumed from its checkpoint" || echo "no checkpoint yet, ran again"); identical"
    else
        late=$((late + 1))
        log "$model kill $n at ${delay}s: the run had already finished (not counted)"
    fi
}

for ((i = 1; i <= kills; i++)); do
    kill_once w2v "$(awk -v s="$RANDOM" -v t="$w2v_seconds" 'BEGIN { srand(s); printf "%.3f", 0.05 + rand() * 0.9 * t }')" "$i"
    kill_once lstm "$(awk -v s="$RANDOM" -v t="$lstm_seconds" 'BEGIN { srand(s); printf "%.3f", 0.05 + rand() * 0.9 * t }')" "$i"
done
log "$survived kills survived ($late more came after the run had finished): every resumed run identical to the uninterrupted one, no stale temporaries"
