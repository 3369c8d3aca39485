#!/usr/bin/env bash
# Reproduces every figure that README.md and Benchmarks/RESULTS.md quote for this machine, in one
# run, and writes them as JSON into a dated folder of Benchmarks/results/; then
# Benchmarks/make_tables.py turns that folder into the tables of RESULTS.md and the README.
#
#   Benchmarks/reproduce.sh [-o DIR] [-q] [PART ...]
#
#   PART   ops word2vec lstm tsne (default: all four, in that order)
#   -o DIR results folder (default Benchmarks/results/<cores>core-<cpu>-<date>; with -q a
#          temporary folder, so quick runs never land among the published results)
#   -q     quick: a smoke test of the whole pipeline (200k words, 1 repeat, short LSTM runs, small
#          t-SNE); its figures are not comparable with a full run
#   -n     do not write the tables into RESULTS.md and README.md at the end
#
# Needs (each part says what is missing and stops):
#   WORD2VEC_C  the published word2vec.c (tmikolov/word2vec e092540, sha256 df07a1d5…; see
#               baselines/README.md); run_baselines.sh refuses another source
#   PYTHON      a python with gensim 4.4.0, scikit-learn 1.9.1 and openTSNE 1.0.4
#               (default /tmp/baselines/venv/bin/python)
#   LSTM_PYTHON a python with tensorflow-cpu 2.21.0 and torch 2.15.0
#               (default /tmp/baselines/lstm-venv/bin/python)
#   scripts/setup-baselines.sh makes both environments and fetches nothing else.
#
# Every comparison runs back to back in this one run, 2 threads for every tool; the whole run takes
# about 40 minutes on a 2-core machine. Each record carries the command that made it; machine.json
# carries the machine, the commit, every tool's version and the sha256 of every baseline's source.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=$(cd "$repo/.." && pwd)/shared
cd "$repo"

PYTHON=${PYTHON:-/tmp/baselines/venv/bin/python}
LSTM_PYTHON=${LSTM_PYTHON:-/tmp/baselines/lstm-venv/bin/python}
THREADS=${THREADS:-2}
CORPUS=${CORPUS:-$shared/data/corpus/prose8.txt}
out="" quick=0 tables=1
while getopts "o:qnh" opt; do
    case $opt in
        o) out=$OPTARG ;; q) quick=1 ;; n) tables=0 ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
parts=("$@"); [ ${#parts[@]} -eq 0 ] && parts=(ops word2vec lstm tsne)
for p in "${parts[@]}"; do
    case $p in ops|word2vec|lstm|tsne) ;; *) echo "reproduce: unknown part '$p' (ops word2vec lstm tsne)" >&2; exit 2 ;; esac
done

die() { echo "reproduce: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
[ -f "$CORPUS" ] || die "corpus not found: $CORPUS (../shared/data beside the repository)"

cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
case $cpu_model in *Xeon*) cpu_tag=xeon ;; *EPYC*) cpu_tag=epyc ;; *) cpu_tag=$(echo "$cpu_model" | tr -cs 'A-Za-z0-9' - | cut -c1-20) ;; esac
if [ -z "$out" ]; then
    if [ $quick = 1 ]; then out=$(mktemp -d -t loom-reproduce-quick.XXXX)
    else out="$repo/Benchmarks/results/$(nproc)core-$cpu_tag-$(date +%F)"; fi
fi
mkdir -p "$out"; out=$(cd "$out" && pwd)
work=$(mktemp -d -t loom-reproduce.XXXX)   # vectors, corpus slices, logs: never committed
trap 'rm -rf "$work"' EXIT
log "results in $out (scratch $work)"

# --- build ------------------------------------------------------------------------------------------
log "building release binaries"
swift build -c release --product loom >/dev/null
swift build -c release --product loom-bench >/dev/null
loom="$repo/.build/release/loom"; bench="$repo/.build/release/loom-bench"

# --- the machine, the commit, the tools -------------------------------------------------------------
"$loom" devices > "$out/devices.txt" 2>&1 || true
python3 - "$out/machine.json" "$repo" "$PYTHON" "$LSTM_PYTHON" "${WORD2VEC_C:-}" "$0 $*" "$quick" <<'EOF'
import hashlib, json, os, platform, subprocess, sys, datetime, glob
path, repo, py, lstm_py, w2v_c, argv, quick = sys.argv[1:]
def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout.strip()
    except Exception:
        return None
def sha(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
def versions(python, mods):
    code = ("import importlib, json\nout = {}\nfor m in %r:\n    try:\n        out[m] = importlib.import_module(m).__version__\n"
            "    except Exception as e:\n        out[m] = None\nprint(json.dumps(out))" % (mods,))
    text = run(python, "-c", code) if os.path.exists(python) else None
    return json.loads(text) if text else {m: None for m in mods}
lscpu = dict(l.split(":", 1) for l in run("lscpu").splitlines() if ":" in l)
flags = open("/proc/cpuinfo").read()
baselines = sorted(glob.glob(os.path.join(repo, "Benchmarks/baselines/**/*.py"), recursive=True)
                   + glob.glob(os.path.join(repo, "Benchmarks/baselines/**/*.sh"), recursive=True))
known_c = "df07a1d504c22aa747f9fc40ddc6cfed52e12c3a402861398426829b83d96ef4"
meta = {
    "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    "command": argv, "quick": quick == "1",
    "machine": {"cpu": lscpu.get("Model name", "").strip(), "cores": os.cpu_count(),
                "avx512f": " avx512f" in flags, "avx2": " avx2" in flags,
                "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "kernel": platform.release(), "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
                "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE")},
    "loom": {"commit": run("git", "-C", repo, "rev-parse", "HEAD"),
             "uncommitted_changes": bool(run("git", "-C", repo, "status", "--porcelain", "--", "Sources", "Kernels",
                                              "Benchmarks", "Package.swift", ":(exclude)Benchmarks/results")),
             "swift": (run("swift", "--version") or "").splitlines()[0] if run("swift", "--version") else None},
    "tools": {"gcc": (run("gcc", "--version") or "").splitlines()[0],
              "python": run(py, "--version") if os.path.exists(py) else None,
              "baseline_packages": versions(py, ["gensim", "numpy", "scipy", "sklearn", "openTSNE"]),
              "lstm_packages": versions(lstm_py, ["tensorflow", "torch", "numpy"]),
              "openblas": run("dpkg-query", "-W", "-f=${Version}", "libopenblas0-pthread"),
              "pocl": run("dpkg-query", "-W", "-f=${Version}", "libpocl2")},
    "word2vec_c": {"source": w2v_c or None, "sha256": sha(w2v_c) if w2v_c and os.path.exists(w2v_c) else None,
                   "published_sha256": known_c,
                   "published": bool(w2v_c and os.path.exists(w2v_c) and sha(w2v_c) == known_c)},
    "baseline_sources_sha256": {os.path.relpath(p, repo): sha(p) for p in baselines},
}
with open(path, "w") as f:
    json.dump(meta, f, indent=2)
EOF
log "machine: $cpu_model, $(nproc) cores; commit $(git rev-parse --short HEAD)"

has_part() { local p; for p in "${parts[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
# Runs a command with its output in $out/NAME.txt and stderr in $work, and records the command line.
record() {
    local name=$1; shift
    log "$name: $*"
    printf '%s\n' "$*" > "$out/$name.command"
    "$@" > "$out/$name.txt" 2> "$work/$name.stderr" || { tail -20 "$work/$name.stderr" >&2; die "$name failed"; }
}

# --- engine ops ------------------------------------------------------------------------------------
if has_part ops; then
    q=(); [ $quick = 1 ] && q=(--quick --repeats 3)
    record ops "$bench" ops --devices all --threads "$THREADS" "${q[@]}" --json "$out/ops.json"
    # What OpenBLAS's fallback kernels cost: "Prescott" (SSE3) is what Debian 12's OpenBLAS 0.3.21
    # picks on a CPU it does not know; loom and loom-bench keep any OPENBLAS_CORETYPE that is set.
    OPENBLAS_CORETYPE=Prescott record ops-openblas-prescott "$bench" ops --devices cpu --threads "$THREADS" \
        --filter "gemm 1024" --json "$out/ops-openblas-prescott.json"
fi

# --- word2vec: Loom, the C tool and gensim, whole runs, scored alike --------------------------------
if has_part word2vec; then
    [ -n "${WORD2VEC_C:-}" ] || die "set WORD2VEC_C to the published word2vec.c (see Benchmarks/baselines/README.md)"
    words=5000000 reps=3 slow_reps=1
    [ $quick = 1 ] && words=200000 reps=1
    w2v="$work/word2vec"
    common=(-c "$CORPUS" -n "$words" -t "$THREADS" -e 1 -o "$w2v" -p "$PYTHON" -T loom,c,gensim)
    # The cheap configurations three times, interleaved; the 64-negative one (the slowest) once.
    log "word2vec whole runs: $words words, configurations course,sg5,cbow5 ×$reps and sg1n64 ×$slow_reps"
    LOOM=$loom "$here/baselines/run_baselines.sh" "${common[@]}" -C course,sg5,cbow5 -r "$reps" 2> "$work/w2v-a.log" \
        || { tail -30 "$work/w2v-a.log" >&2; die "run_baselines.sh failed"; }
    LOOM=$loom "$here/baselines/run_baselines.sh" "${common[@]}" -C sg1n64 -r "$slow_reps" 2> "$work/w2v-b.log" \
        || { tail -30 "$work/w2v-b.log" >&2; die "run_baselines.sh failed"; }
    mkdir -p "$out/word2vec"
    cp "$w2v/summary.json" "$w2v/summary.md" "$w2v/machine.txt" "$out/word2vec/"
    cp "$w2v/bin/build.json" "$out/word2vec/word2vec-c-build.json"
    cp -r "$w2v/runs" "$w2v/eval" "$out/word2vec/"
    mkdir -p "$out/word2vec/loom-logs" && cp "$w2v"/logs/loom-*.jsonl "$out/word2vec/loom-logs/"
    cat "$work/w2v-a.log" "$work/w2v-b.log" > "$out/word2vec/run.log"
    cp "$w2v/vectors/loom-sg5-r1.bin" "$work/tsne-vectors.bin"   # t-SNE's input, below

    # Training only (labelled as such everywhere): loom-bench's timer around the training loop.
    record word2vec-training "$bench" word2vec --corpus "$CORPUS" --words "$words" --devices cpu \
        --threads "$THREADS" --configs course,word2vec,cbow --repeats "$reps" --json "$out/word2vec-training.json"
    pw=1000000; [ $quick = 1 ] && pw=100000
    record word2vec-training-pocl "$bench" word2vec --corpus "$CORPUS" --words "$pw" --devices opencl \
        --configs course --json "$out/word2vec-training-pocl.json"
    record word2vec-scaling "$bench" word2vec --corpus "$CORPUS" --devices cpu,opencl --threads "$THREADS" \
        --configs scaling --json "$out/word2vec-scaling.json"
fi

# --- character LSTM: loom-bench and the TensorFlow / PyTorch scripts, then 8 seeds of 7001 steps -----
if has_part lstm; then
    [ -x "$LSTM_PYTHON" ] || die "no python at $LSTM_PYTHON with tensorflow-cpu 2.21.0 and torch 2.15.0 (scripts/setup-baselines.sh)"
    steps=500 seeds=8 full=7001 reps=2
    [ $quick = 1 ] && steps=50 seeds=2 full=300 reps=1
    for r in $(seq "$reps"); do   # repeated like the baselines below, the median is reported
        record lstm-speed-r$r "$bench" lstm --text "$CORPUS" --devices cpu --threads "$THREADS" \
            --configs course,large10,large --steps "$steps" --json "$out/lstm-speed-r$r.json"
    done
    record lstm-speed-pocl "$bench" lstm --text "$CORPUS" --devices opencl --configs course \
        --steps "$((steps / 5))" --json "$out/lstm-speed-pocl.json"
    parts_lstm=(speed large large50)
    if [ $quick = 1 ]; then parts_lstm=(speed); fi
    log "lstm baselines: ${parts_lstm[*]} ×$reps"
    PYTHON=$LSTM_PYTHON "$here/baselines/lstm/run_lstm_baselines.sh" -t "$CORPUS" -o "$out/lstm-baselines" \
        -r "$reps" "${parts_lstm[@]}" 2> "$work/lstm-baselines.log" >&2 \
        || { tail -30 "$work/lstm-baselines.log" >&2; die "run_lstm_baselines.sh failed"; }
    rm -f "$out"/lstm-baselines/*.err
    mkdir -p "$out/lstm-quality" "$work/lstm-quality"
    for s in $(seq "$seeds"); do
        record lstm-quality/loom-course-$full-seed$s "$loom" lstm train --text "$CORPUS" --steps "$full" --seed "$s" \
            --device cpu --threads "$THREADS" --log "$out/lstm-quality/loom-course-$full-seed$s.jsonl"
        record lstm-quality/tf-course-$full-seed$s "$LSTM_PYTHON" "$here/baselines/lstm/lstm_tf.py" --text "$CORPUS" \
            --steps "$full" --eval-every 1000 --seed "$s" --summary-every 0 --json "$out/lstm-quality/tf-course-$full-seed$s.json"
    done
fi

# --- t-SNE: Loom's methods and devices, scikit-learn and openTSNE, on the same word vectors ----------
if has_part tsne; then
    vectors="$work/tsne-vectors.bin"
    if [ ! -f "$vectors" ]; then   # the word2vec part did not run: train the same vectors
        log "t-SNE input: skip-gram window 5 vectors of the corpus, 1 epoch"
        "$loom" word2vec train --corpus "$CORPUS" --output "$vectors" --model skipgram --window 5 \
            --loss negative --num-sampled 5 --dim 128 --epochs 1 --device cpu --threads "$THREADS" --eval-every 0 \
            > /dev/null 2> "$work/tsne-vectors.stderr" || die "training t-SNE's vectors failed"
    fi
    sizes=400,2000,10000; [ $quick = 1 ] && sizes=400
    record tsne-loom "$bench" tsne --vectors "$vectors" --sizes "$sizes" --devices cpu,opencl --threads "$THREADS" \
        --json "$out/tsne-loom.json"
    [ -x "$PYTHON" ] || die "no python at $PYTHON with scikit-learn and openTSNE (scripts/setup-baselines.sh)"
    record tsne-baselines "$PYTHON" "$here/baselines/tsne_baseline.py" "$vectors" --words "$sizes" \
        --threads "$THREADS" --exact-up-to 400 --json "$out/tsne-baselines.json"
fi

log "figures written to $out"
if [ $tables = 1 ] && [ $quick = 0 ]; then
    python3 "$here/make_tables.py" "$out" --write
fi
