#!/usr/bin/env bash
# Loom's word2vec beside its baselines, the original word2vec C tool and gensim 4.4.0: every tool
# trained on the same corpus with the configurations of ../shared/ANCHORS.md, each run timed as a
# whole process (reading, vocabulary, training, writing vectors), and every model scored by the
# same code (eval_vectors.py). Repeats are interleaved (repeat 1 of every tool, then repeat 2, ...)
# so that drift on these shared machines hits the tools alike.
#
# Usage:
#   WORD2VEC_C=/path/to/word2vec.c Benchmarks/baselines/run_baselines.sh [options]
#
# Options (each also settable through the environment variable in brackets):
#   -c FILE   corpus, text8 format                 [CORPUS, default ../shared/data/corpus/prose8.txt
#                                                   beside the repository]
#   -t N      threads for both tools               [THREADS, default 2]
#   -e N      epochs                               [EPOCHS, default 1]
#   -d N      vector size                          [DIM, default 128]
#   -o DIR    output folder                        [OUT, default /tmp/loom-baselines]
#   -C LIST   configurations, comma-separated      [CONFIGS, default sg5,sg1n64,cbow5]
#               sg5    skip-gram, window 5, negative 5
#               sg1n64 skip-gram, window 1, negative 64 (the course-like "window 1, 64 negatives")
#               cbow5  CBOW, window 5, negative 5
#               course the course's skip-gram (skip_window 1, num_skips 2, sampled softmax 64,
#                      Adagrad 1.0, 50,000 words); Loom only: the other tools have no sampled softmax
#   -T LIST   tools, comma-separated               [TOOLS, default loom,c,gensim]
#               loom       `loom word2vec train` ($LOOM, default .build/release/loom)
#               c          the word2vec C tool compiled from $WORD2VEC_C
#               gensim     gensim Word2Vec(corpus_file=...)
#               gensim-ls  gensim Word2Vec(LineSentence(...)); sg5 only, as in ANCHORS.md
#   -r N      repeats of each training run; the table shows the median [REPEATS, default 1]
#   -n N      use only the first N words of the corpus (ANCHORS.md used 5,000,000) [MAX_WORDS]
#   -p PY     python with gensim 4.4.0             [PYTHON, default python3]
#   -U        accept a word2vec.c other than the published one [ALLOW_OTHER_C=1]; it is recorded
#             as such in bin/build.json and in every table made from it
# Also: LOOM (the loom binary), EVAL_DATA (folder with questions-words.txt, wordsim353.tsv,
#       simlex999.txt; default ../shared/data/eval beside the repository), SKIP_EVAL=1 to time only.
#
# All runs use: vector size DIM (128), sample 1e-3, min-count 5, hs 0. The C tool is compiled with the
# flags of its makefile: -lm -pthread -O3 -march=native -Wall -funroll-loops -Wno-unused-result.
#
# Output folder:
#   summary.md / summary.json   the table and every figure
#   runs/*.json                 one record per training run (timings, peak RSS, load average)
#   eval/*.json, eval/*.txt     evaluation of each tool/configuration (last repeat's vectors)
#   logs/*                      the tools' own output and /usr/bin/time -v reports
#   vectors/*.bin               the trained vectors (word2vec binary format)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=$(cd "$repo/.." && pwd)/shared

CORPUS=${CORPUS:-$shared/data/corpus/prose8.txt}
THREADS=${THREADS:-2}
EPOCHS=${EPOCHS:-1}
DIM=${DIM:-128}
OUT=${OUT:-${TMPDIR:-/tmp}/loom-baselines}
CONFIGS=${CONFIGS:-sg5,sg1n64,cbow5}
TOOLS=${TOOLS:-loom,c,gensim}
REPEATS=${REPEATS:-1}
MAX_WORDS=${MAX_WORDS:-}
PYTHON=${PYTHON:-python3}
EVAL_DATA=${EVAL_DATA:-$shared/data/eval}
SKIP_EVAL=${SKIP_EVAL:-0}
LOOM=${LOOM:-$repo/.build/release/loom}
ALLOW_OTHER_C=${ALLOW_OTHER_C:-0}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "c:t:e:d:o:C:T:r:n:p:Uh" opt; do
    case $opt in
        c) CORPUS=$OPTARG ;; t) THREADS=$OPTARG ;; e) EPOCHS=$OPTARG ;; d) DIM=$OPTARG ;; o) OUT=$OPTARG ;;
        C) CONFIGS=$OPTARG ;; T) TOOLS=$OPTARG ;; r) REPEATS=$OPTARG ;; n) MAX_WORDS=$OPTARG ;;
        p) PYTHON=$OPTARG ;; U) ALLOW_OTHER_C=1 ;; h) usage 0 ;; *) usage 1 ;;
    esac
done

# sha256 of tmikolov/word2vec's word2vec.c at commit e092540633572b883e25b367938b0cca2cf3c0e7
# (the version with -iter; see README.md). Another source is refused unless -U is given.
KNOWN_SHA256=df07a1d504c22aa747f9fc40ddc6cfed52e12c3a402861398426829b83d96ef4
CFLAGS=(-lm -pthread -O3 -march=native -Wall -funroll-loops -Wno-unused-result)

die() { echo "run_baselines: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
has() { [[ ",$2," == *",$1,"* ]]; }

# --- checks ---------------------------------------------------------------------------------------
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for peak RSS: apt-get install time"
[ -f "$CORPUS" ] || die "corpus not found: $CORPUS"
if has c "$TOOLS"; then
    [ -n "${WORD2VEC_C:-}" ] || die "set WORD2VEC_C=/path/to/word2vec.c (see README.md), or leave 'c' out of TOOLS"
    [ -f "$WORD2VEC_C" ] || die "WORD2VEC_C=$WORD2VEC_C: no such file"
    command -v gcc >/dev/null || die "gcc not found"
    sha=$(sha256sum "$WORD2VEC_C" | cut -d' ' -f1)
    [ "$sha" = "$KNOWN_SHA256" ] || [ "$ALLOW_OTHER_C" = 1 ] \
        || die "$WORD2VEC_C is not the published word2vec.c (sha256 $sha, expected $KNOWN_SHA256 from tmikolov/word2vec e092540); use -U to run it anyway, recorded as another source"
fi
if has loom "$TOOLS"; then
    [ -x "$LOOM" ] || die "no loom binary at $LOOM: swift build -c release (or set LOOM=...)"
fi
if has gensim "$TOOLS" || has gensim-ls "$TOOLS" || [ "$SKIP_EVAL" != 1 ]; then
    gv=$("$PYTHON" -c 'import gensim; print(gensim.__version__)' 2>/dev/null) \
        || die "$PYTHON cannot import gensim: python3 -m pip install gensim==4.4.0 (see README.md)"
    [ "$gv" = 4.4.0 ] || log "warning: gensim $gv, the baseline is 4.4.0"
fi

mkdir -p "$OUT"/{bin,logs,runs,eval,vectors}
OUT=$(cd "$OUT" && pwd)

# --- corpus ---------------------------------------------------------------------------------------
if [ -n "$MAX_WORDS" ]; then
    # The first MAX_WORDS words, written as one line like text8.
    sliced="$OUT/corpus-first-$MAX_WORDS.txt"
    "$PYTHON" - "$CORPUS" "$MAX_WORDS" "$sliced" <<'EOF'
import sys
words = open(sys.argv[1], encoding="utf-8").read().split()[: int(sys.argv[2])]
open(sys.argv[3], "w", encoding="utf-8").write(" " + " ".join(words))
EOF
    CORPUS=$sliced
fi
corpus_words=$(wc -w < "$CORPUS")

# gensim's corpus_file reader trains on only the first ~10,000 words of each worker's share when a
# line is longer than 10,000 words (see gensim_baseline.py), and text8 is one line. It gets a copy
# with every line cut into lines of at most 10,000 words: the same words, and the same sentences
# that LineSentence makes of the original (it cuts lines into 10,000-word chunks too). The C tool
# gets the original: to it a newline would be a word ("</s>").
LINES_CORPUS=$CORPUS
if has gensim "$TOOLS"; then
    LINES_CORPUS="$OUT/$(basename "$CORPUS" .txt)-lines10k.txt"
    "$PYTHON" - "$CORPUS" "$LINES_CORPUS" <<'EOF'
import sys
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as dst:
    for line in src:
        words = line.split()
        for i in range(0, len(words), 10000):
            dst.write(" ".join(words[i:i + 10000]) + "\n")
EOF
    [ "$(wc -w < "$LINES_CORPUS")" = "$corpus_words" ] || die "$LINES_CORPUS: word count differs from $CORPUS"
fi
log "corpus $CORPUS: $corpus_words words; threads $THREADS, epochs $EPOCHS, repeats $REPEATS"

# --- machine --------------------------------------------------------------------------------------
{
    echo "date: $(date -Is)"
    echo "host: $(hostname)"
    lscpu | grep -E '^Model name|^CPU\(s\)|^Thread|^Core'
    echo "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "loadavg at start: $(cat /proc/loadavg)"
    echo "gcc: $(gcc --version 2>/dev/null | head -1)"
    echo "python: $("$PYTHON" --version 2>&1)"
    echo "gensim: $("$PYTHON" -c 'import gensim, numpy, scipy; print(gensim.__version__, "numpy", numpy.__version__, "scipy", scipy.__version__)' 2>/dev/null)"
    has loom "$TOOLS" && echo "loom: $LOOM, commit $(git -C "$repo" rev-parse HEAD 2>/dev/null)$(git -C "$repo" diff --quiet HEAD -- Sources Kernels Package.swift 2>/dev/null || echo ' (with uncommitted changes)')"
} > "$OUT/machine.txt"

# --- word2vec C tool ------------------------------------------------------------------------------
if has c "$TOOLS"; then
    [ "$sha" = "$KNOWN_SHA256" ] || log "warning: $WORD2VEC_C is not the published word2vec.c (sha256 $sha); recorded as another source"
    cp "$WORD2VEC_C" "$OUT/bin/word2vec.c"
    log "compiling word2vec.c: gcc ${CFLAGS[*]}"
    gcc "$OUT/bin/word2vec.c" -o "$OUT/bin/word2vec" "${CFLAGS[@]}" 2> "$OUT/logs/gcc.txt" \
        || die "gcc failed: $(cat "$OUT/logs/gcc.txt")"
    printf '{"source": "%s", "sha256": "%s", "known_upstream": %s, "gcc": "%s", "flags": "%s"}\n' \
        "$WORD2VEC_C" "$sha" "$([ "$sha" = "$KNOWN_SHA256" ] && echo true || echo false)" \
        "$(gcc --version | head -1)" "${CFLAGS[*]}" > "$OUT/bin/build.json"
fi

# Per configuration: sg window negative.
config_params() {
    case $1 in
        sg5) echo "1 5 5" ;;
        sg1n64) echo "1 1 64" ;;
        cbow5) echo "0 5 5" ;;
        course) echo "1 1 64" ;;
        *) die "unknown configuration $1 (sg5, sg1n64, cbow5, course)" ;;
    esac
}

# Reads one field of a GNU `time -v` report.
time_field() { grep -F "$2" "$1" | head -1 | awk -F': ' '{print $NF}'; }

# Runs a command under /usr/bin/time -v; writes runs/NAME-rREP.json with the wall time (measured
# here with nanosecond resolution), peak RSS, CPU times and the load average before the run.
timed() {
    local name=$1 rep=$2; shift 2
    local tv="$OUT/logs/$name-r$rep.time" load start end
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$tv" "$@" > "$OUT/logs/$name-r$rep.out" 2> "$OUT/logs/$name-r$rep.err" \
        || die "$name failed; see $OUT/logs/$name-r$rep.{out,err}"
    end=$(date +%s.%N)
    local wall rss user sys cpu
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')
    rss=$(time_field "$tv" "Maximum resident set size")
    user=$(time_field "$tv" "User time (seconds)")
    sys=$(time_field "$tv" "System time (seconds)")
    cpu=$(time_field "$tv" "Percent of CPU this job got")
    local argv
    argv=$("$PYTHON" -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")
    printf '{"name": "%s", "repeat": %d, "wall_s": %s, "peak_rss_kib": %s, "user_s": %s, "sys_s": %s, "cpu_percent": "%s", "loadavg_before": "%s", "started": "%s", "command": %s}\n' \
        "$name" "$rep" "$wall" "$rss" "$user" "$sys" "$cpu" "$load" "$(date -d "@${start%.*}" -Is)" "$argv" > "$OUT/runs/$name-r$rep.json"
    log "  $name (repeat $rep): ${wall}s wall, peak RSS $((rss / 1024)) MiB, CPU $cpu, load before $load"
}

evaluate() {  # NAME REPEAT: scores vectors/NAME-rREPEAT.bin into eval/NAME-rREPEAT.{json,txt}
    local name=$1 rep=$2
    [ "$SKIP_EVAL" = 1 ] && return 0
    "$PYTHON" "$here/eval_vectors.py" "$OUT/vectors/$name-r$rep.bin" --binary yes --label "$name-r$rep" \
        --questions "$EVAL_DATA/questions-words.txt" --wordsim353 "$EVAL_DATA/wordsim353.tsv" \
        --simlex999 "$EVAL_DATA/simlex999.txt" --json "$OUT/eval/$name-r$rep.json" \
        > "$OUT/eval/$name-r$rep.txt" 2> "$OUT/logs/$name-r$rep-eval.err" \
        || die "evaluating $name-r$rep failed; see $OUT/logs/$name-r$rep-eval.err"
    sed 's/^/    /' "$OUT/eval/$name-r$rep.txt" >&2
}

# --- the runs: per configuration and repeat, the tools one after the other (drift hits them alike)
# Loom gets word2vec's settings explicitly: dimension DIM, window N shrunk at random per centre,
# N negatives from the unigram^0.75 table, subsampling 1e-3, min-count 5 with rarer words dropped,
# SGD from 0.025 (skip-gram) or 0.05 (CBOW) decaying linearly, as the C tool does.
loom_args() {  # configuration -> loom word2vec train options
    case $1 in
        sg5) echo "--model skipgram --window 5 --loss negative --num-sampled 5" ;;
        sg1n64) echo "--model skipgram --window 1 --loss negative --num-sampled 64" ;;
        cbow5) echo "--model cbow --window 5 --loss negative --num-sampled 5" ;;
        course) echo "--model skipgram --skip-window 1 --num-skips 2 --loss sampled --num-sampled 64 --max-vocab 50000" ;;
    esac
}
IFS=, read -r -a configs <<< "$CONFIGS"
for cfg in "${configs[@]}"; do
    read -r sg window negative <<< "$(config_params "$cfg")"
    log "configuration $cfg: sg=$sg window=$window negative=$negative"
    for ((r = 1; r <= REPEATS; r++)); do
        if has loom "$TOOLS"; then
            name="loom-$cfg"
            extra=(--max-vocab 1000000)
            [ "$cfg" = course ] && extra=()
            # shellcheck disable=SC2046
            timed "$name" "$r" "$LOOM" word2vec train --corpus "$CORPUS" --output "$OUT/vectors/$name-r$r.bin" \
                $(loom_args "$cfg") --dim "$DIM" --min-count 5 "${extra[@]}" --epochs "$EPOCHS" \
                --device cpu --threads "$THREADS" --seed "$r" --eval-every 0 --log "$OUT/logs/$name-r$r.jsonl"
            tail -1 "$OUT/logs/$name-r$r.out" | sed 's/^/    /' >&2
        fi
        if has c "$TOOLS" && [ "$cfg" != course ]; then  # course (sampled softmax): Loom only
            name="c-$cfg"
            timed "$name" "$r" "$OUT/bin/word2vec" -train "$CORPUS" -output "$OUT/vectors/$name-r$r.bin" \
                -cbow $((1 - sg)) -size "$DIM" -window "$window" -negative "$negative" -hs 0 -sample 1e-3 \
                -min-count 5 -threads "$THREADS" -iter "$EPOCHS" -binary 1
        fi
        for tool in gensim gensim-ls; do
            has "$tool" "$TOOLS" && [ "$cfg" != course ] || continue
            [ "$tool" = gensim-ls ] && [ "$cfg" != sg5 ] && continue  # LineSentence: sg5 only
            input=corpus_file; corpus=$LINES_CORPUS
            [ "$tool" = gensim-ls ] && input=linesentence && corpus=$CORPUS
            name="$tool-$cfg"
            # The C tool's and Loom's starting rate for CBOW (gensim's default is 0.025 for both models).
            alpha=(); [ "$sg" = 0 ] && alpha=(--alpha 0.05)
            timed "$name" "$r" "$PYTHON" "$here/gensim_baseline.py" --corpus "$corpus" --input "$input" \
                --sg "$sg" --window "$window" --negative "$negative" --size "$DIM" --sample 1e-3 \
                --min-count 5 --workers "$THREADS" --epochs "$EPOCHS" --seed "$r" --label "$name" "${alpha[@]}" \
                --vectors "$OUT/vectors/$name-r$r.bin" --json "$OUT/runs/$name-r$r.gensim.json"
            sed 's/^/    /' "$OUT/logs/$name-r$r.out" >&2
            grep -h '^WARNING' "$OUT/logs/$name-r$r.err" >&2 || true
        done
        # Every repeat's vectors, scored by the same code (repeats have different seeds where the
        # tool takes one: quality is reported over them, not from one draw).
        for tool in loom c gensim gensim-ls; do
            [ -f "$OUT/vectors/$tool-$cfg-r$r.bin" ] && evaluate "$tool-$cfg" "$r"
        done
    done
done

# --- table and JSON -------------------------------------------------------------------------------
"$PYTHON" "$here/summarize.py" "$OUT" --corpus "$CORPUS" --corpus-words "$corpus_words" \
    --threads "$THREADS" --epochs "$EPOCHS" --dim "$DIM"
log "wrote $OUT/summary.md and $OUT/summary.json"
