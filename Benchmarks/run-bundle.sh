#!/usr/bin/env bash
# Unpacks a bundle from scripts/make-bundle.sh and runs benchmarks on this machine (e.g. a GPU
# server without Swift), writing tables and JSON to OUTDIR. On an NVIDIA machine it registers the
# driver's OpenCL ICD if the system has none.
#
#   Benchmarks/run-bundle.sh BUNDLE OUTDIR [loom-bench arguments…]   one benchmark
#   Benchmarks/run-bundle.sh BUNDLE OUTDIR suite CORPUS [VECTORS]       ops, word2vec, lstm, tsne
set -uo pipefail
bundle=$1; outdir=$2; shift 2
dir=$(mktemp -d)
tar -C "$dir" -xJf "$bundle"
export LD_LIBRARY_PATH="$dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The OpenCL loader reads /etc/OpenCL/vendors; NVIDIA's container images often ship the driver's
# libnvidia-opencl.so.1 without registering it there. Register every ICD found, NVIDIA's included.
mkdir -p "$dir/icd"
cp /etc/OpenCL/vendors/*.icd "$dir/icd/" 2>/dev/null || true
if ! grep -qs nvidia "$dir"/icd/*.icd; then
    icd=$(ldconfig -p | awk '/libnvidia-opencl.so.1/ {print $NF; exit}')
    [ -z "$icd" ] && icd=$(find /usr/local/nvidia /usr/lib /usr/lib64 /lib / \( -path /proc -o -path /sys \) -prune -o -name 'libnvidia-opencl.so.1*' -print 2>/dev/null | head -1)
    [ -n "$icd" ] && echo "$icd" > "$dir/icd/nvidia.icd" && echo "registered NVIDIA OpenCL ICD $icd"
fi
export OCL_ICD_VENDORS="$dir/icd"
mkdir -p "$outdir"
command -v nvidia-smi >/dev/null && nvidia-smi -L | tee "$outdir/gpu.txt"
lscpu | grep -E 'Model name|^CPU\(s\)' | tee "$outdir/cpu.txt"
"$dir/loom" devices | tee "$outdir/devices.txt"
bench="$dir/loom-bench"

if [ "${1:-}" = "suite" ]; then
    corpus=$2; vectors=${3:-}
    # The CPU backend and the first OpenCL GPU (or device), each benchmark in turn.
    devices=cpu,opencl
    "$bench" ops --devices "$devices" --json "$outdir/ops.json" 2>"$outdir/ops.stderr" | tee "$outdir/ops.txt"
    "$bench" word2vec --corpus "$corpus" --words 2000000 --devices "$devices" --configs course,word2vec,cbow \
        --json "$outdir/word2vec.json" 2>"$outdir/word2vec.stderr" | tee "$outdir/word2vec.txt"
    "$bench" word2vec --corpus "$corpus" --words 0 --devices opencl --configs scaling \
        --json "$outdir/word2vec-scaling.json" 2>"$outdir/word2vec-scaling.stderr" | tee "$outdir/word2vec-scaling.txt"
    "$bench" lstm --text "$corpus" --devices "$devices" --configs course,large10,large --steps 500 \
        --json "$outdir/lstm.json" 2>"$outdir/lstm.stderr" | tee "$outdir/lstm.txt"
    if [ -n "$vectors" ]; then
        "$bench" tsne --vectors "$vectors" --sizes 400,2000,10000,20000 --devices "$devices" \
            --json "$outdir/tsne.json" 2>"$outdir/tsne.stderr" | tee "$outdir/tsne.txt"
    fi
else
    "$bench" "${@:-ops}" 2> "$outdir/bench.stderr" | tee "$outdir/bench.txt"
fi
