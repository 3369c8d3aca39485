#!/usr/bin/env bash
# Builds a self-contained bundle of `loom` and `loom-bench` for a machine without Swift (e.g. a GPU
# server): static Swift runtime, plus the shared libraries Debian's OpenCL loader, CLBlast and
# OpenBLAS, libpng and libjpeg-turbo bring. Downloads (async-http-client on SwiftNIO) are linked in
# whole, TLS included (BoringSSL, through NIOSSL); HTTPS uses the target's system certificate
# authorities (/etc/ssl/certs). Output: OUT (default .device/bundle.tar.xz). Run it with
# Benchmarks/run-bundle.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.device/bundle.tar.xz}
swift build -c release --static-swift-stdlib --scratch-path .build-static
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
cp .build-static/release/loom .build-static/release/loom-bench "$stage/"
strip "$stage/loom" "$stage/loom-bench"
# Open MPI's libraries too: a plain `loom …` never initialises MPI (only a process `mpirun` starts
# does), so the bundle runs where Open MPI is not installed; data-parallel jobs need the target's own
# Open MPI 4.1 (its mpirun and components).
for l in libOpenCL.so.1 libclblast.so.1 libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libpng16.so.16 libturbojpeg.so.0 \
         libmpi.so.40 libopen-rte.so.40 libopen-pal.so.40 libhwloc.so.15 libevent_core-2.1.so.7 libevent_pthreads-2.1.so.7 libudev.so.1; do
    cp -L "/lib/x86_64-linux-gnu/$l" "$stage/lib/"
done
strip "$stage"/lib/*
# Every shared library the programs load must be in lib/ or part of any Linux system (the C and
# C++ runtimes, zlib); anything else would be missing on the target.
base='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libutil|libstdc\+\+|libgcc_s|libz)\.so'
for program in "$stage/loom" "$stage/loom-bench"; do
    extra=$(LD_LIBRARY_PATH="$stage/lib" ldd "$program" | awk -v stage="$stage/lib/" \
        '$3 == "not" || ($3 ~ /^\// && index($3, stage) != 1) {print $1}' | grep -Ev "$base" || true)
    if [ -n "$extra" ]; then
        echo "make-bundle: $(basename "$program") needs libraries the bundle lacks:" $extra >&2
        exit 1
    fi
done
mkdir -p "$(dirname "$out")"
tar -C "$stage" -cJf "$out" .
ls -la "$out"
