#!/usr/bin/env bash
# Memory and speed of word2vec on corpora larger than memory would allow in-memory: generates
# Zipf-distributed corpora of 10⁸ and 10⁹ words (Benchmarks/corpus/zipf_corpus.c; 0.33 and 3.3 GB,
# in SCRATCH, not committed), then runs `loom word2vec train` on each with /usr/bin/time: the
# first run builds the id cache (one streaming pass for the vocabulary, one writing the ids),
# the second maps it; the in-memory path (`--no-id-cache`) for comparison. Each run trains 20
# fused steps (about 2·10⁷ words) and writes the vectors. Prints a Markdown table.
#
#   Benchmarks/big-corpus.sh [SCRATCH]      (default /tmp/loom-big-corpus; needs about 8 GB)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
scratch=${1:-/tmp/loom-big-corpus}
loom="$repo/.build/release/loom"
[ -x "$loom" ] || { echo "big-corpus: build first: swift build -c release" >&2; exit 1; }
mkdir -p "$scratch"
cc -O2 -o "$scratch/zipf_corpus" "$here/corpus/zipf_corpus.c" -lm
export LOOM_CACHE_DIR="$scratch/cache" LOOM_DEVICE=cpu
rm -rf "$LOOM_CACHE_DIR"

echo "| corpus | run | corpus load s | words/s (training) | peak RSS | id cache |"
echo "|---|---|--:|--:|--:|--:|"
for words in 100000000 1000000000; do
    corpus="$scratch/zipf-$words.txt"
    [ -s "$corpus" ] || "$scratch/zipf_corpus" "$words" 200000 1.0 7 > "$corpus"
    label="$((words / 1000000))M words ($(du -BM "$corpus" | cut -f1))"
    for run in build mapped memory; do
        extra=()
        [ "$run" = memory ] && extra=(--no-id-cache)
        /usr/bin/time -f "%M" -o "$scratch/rss" "$loom" word2vec train --corpus "$corpus" --loss negative --window 5 \
            --optimizer sgd --dim 128 --min-count 5 --steps 20 --eval-every 0 --report-every 20 \
            --output "$scratch/vectors.bin" "${extra[@]}" > "$scratch/out" 2> "$scratch/err" \
            || { tail -5 "$scratch/err" >&2; exit 1; }
        load=$(grep -o 'vocabulary [0-9]* ([0-9.]* s' "$scratch/err" | awk '{print $3}' | tr -d '(')
        rate=$(grep -o '([0-9.]*[kM]* words/s' "$scratch/out" | tr -d '(' | awk '{print $1}')
        rss=$(awk '{printf "%.0f MB", $1 / 1024}' "$scratch/rss")
        cache=$(du -sBM "$LOOM_CACHE_DIR" 2>/dev/null | cut -f1 || echo –)
        [ "$run" = memory ] && cache="–"
        echo "| $label | $run | $load | $rate | $rss | $cache |"
    done
done
