#!/usr/bin/env bash
# Unpacks a bundle from scripts/make-bundle.sh and runs the benchmarks on this machine, writing
# tables and JSON to OUTDIR. On an NVIDIA machine it registers the driver's OpenCL ICD if the
# system has none.  Usage: Benchmarks/run-bundle.sh BUNDLE OUTDIR [loom-bench arguments…]
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
    [ -z "$icd" ] && icd=$(find /usr/local/nvidia /usr/lib /usr/lib64 /lib /  \( -path /proc -o -path /sys \) -prune -o -name 'libnvidia-opencl.so.1*' -print 2>/dev/null | head -1)
    [ -n "$icd" ] && echo "$icd" > "$dir/icd/nvidia.icd" && echo "registered NVIDIA OpenCL ICD $icd"
fi
export OCL_ICD_VENDORS="$dir/icd"
mkdir -p "$outdir"
command -v nvidia-smi >/dev/null && nvidia-smi -L | tee "$outdir/gpu.txt"
lscpu | grep -E 'Model name|^CPU\(s\)' | tee "$outdir/cpu.txt"
"$dir/loom" devices | tee "$outdir/devices.txt"
"$dir/loom-bench" "${@:-ops}" 2> "$outdir/bench.stderr" | tee "$outdir/bench.txt"
