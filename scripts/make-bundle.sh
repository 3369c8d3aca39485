#!/usr/bin/env bash
# Builds a self-contained bundle of `loom` and `loom-bench` for a machine without Swift (e.g. a GPU
# server): static Swift runtime, plus the shared libraries Debian's OpenCL loader, CLBlast and
# OpenBLAS, libpng and libjpeg-turbo bring. Output: OUT (default .device/bundle.tar.xz). Run it with Benchmarks/run-bundle.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.device/bundle.tar.xz}
swift build -c release --static-swift-stdlib --scratch-path .build-static
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/lib"
cp .build-static/release/loom .build-static/release/loom-bench "$stage/"
strip "$stage/loom" "$stage/loom-bench"
for l in libOpenCL.so.1 libclblast.so.1 libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libpng16.so.16 libturbojpeg.so.0; do
    cp -L "/lib/x86_64-linux-gnu/$l" "$stage/lib/"
done
strip "$stage"/lib/*
mkdir -p "$(dirname "$out")"
tar -C "$stage" -cJf "$out" .
ls -la "$out"
