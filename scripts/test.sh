#!/usr/bin/env bash
# The test command: the whole suite twice, then a short crash test.
#  1. With the machine's OpenCL platforms (PoCL in CI). LOOM_REQUIRE_OPENCL=1 turns a missing
#     platform into a failure, and the log is checked: no OpenCL test may be skipped.
#  2. With no OpenCL platform at all (OCL_ICD_VENDORS pointing at an empty folder): `auto` must
#     pick the CPU backend and the OpenCL tests must be reported as skipped.
#  3. The C kernels' baseline build (LOOM_CPU_KERNELS=baseline; an AVX2 machine otherwise never
#     runs it) through the tests that compare kernels with references: parity, gradients, LSTM,
#     convolution and the fused word2vec pass.
#  4. scripts/crash-test.sh with a few SIGKILLs per model (the benchmark runs 50).
#  5. Every fuzz target for a few seconds on its seed corpus (scripts/fuzz.sh; LOOM_FUZZ_SECONDS).
set -euo pipefail
cd "$(dirname "$0")/.."

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Tests run optimised: training loops in a debug build are 100× slower. `-enable-testing` keeps
# `@testable import` working in release.
flags=(-c release -Xswiftc -enable-testing)
# The Python that has sacrebleu (scripts/setup.sh puts it in a venv when python3 lacks it).
if [ -z "${LOOM_PYTHON:-}" ] && [ -x .build/check-venv/bin/python ]; then export LOOM_PYTHON="$PWD/.build/check-venv/bin/python"; fi
echo "== building (release, with tests) =="
swift build "${flags[@]}" --build-tests

echo "== tests with OpenCL =="
LOOM_REQUIRE_OPENCL=1 swift test "${flags[@]}" --skip-build 2>&1 | tee "$logs/opencl.log"
if grep -q "OpenCL test skipped" "$logs/opencl.log"; then
    echo "FAIL: OpenCL tests were skipped although an OpenCL platform is required" >&2
    exit 1
fi

echo "== tests with no OpenCL platform =="
mkdir -p "$logs/no-vendors"
OCL_ICD_VENDORS="$logs/no-vendors" swift test "${flags[@]}" --skip-build 2>&1 | tee "$logs/none.log"
skipped=$(grep -c "Test skipped - OpenCL test skipped" "$logs/none.log" || true)
if [ "$skipped" -eq 0 ]; then
    echo "FAIL: without a platform the OpenCL tests should be reported as skipped" >&2
    exit 1
fi
echo "no-platform run: $skipped OpenCL tests reported as skipped"
OCL_ICD_VENDORS="$logs/no-vendors" .build/release/loom devices --device auto | tee "$logs/devices.log"
grep -q "auto: no OpenCL platform found" "$logs/devices.log" || { echo "FAIL: auto did not fall back to the CPU" >&2; exit 1; }

echo "== the baseline C kernels (LOOM_CPU_KERNELS=baseline) =="
LOOM_CPU_KERNELS=baseline .build/release/loom devices | tee "$logs/baseline-devices.log" | head -1
grep -q "C kernels (baseline)" "$logs/baseline-devices.log" || { echo "FAIL: LOOM_CPU_KERNELS=baseline was not honoured" >&2; exit 1; }
LOOM_CPU_KERNELS=baseline swift test "${flags[@]}" --skip-build \
    --filter "ParityTests|GradientTests|LSTMTests|ConvolutionTests|Word2VecTests.testFused|CPUKernelTests" 2>&1 \
    | tee "$logs/baseline.log" | grep -E "Executed|error|failed" | tail -3
grep -q "with 0 failures" "$logs/baseline.log" && ! grep -q "error:" "$logs/baseline.log" \
    || { echo "FAIL: the baseline kernels failed a test (log above)" >&2; exit 1; }

echo "== crash test: training runs killed with SIGKILL and resumed =="
scripts/crash-test.sh "${LOOM_CRASH_KILLS:-3}" "$logs/crash"

echo "== fuzzing: every reader on its seeds, ${LOOM_FUZZ_SECONDS:-5} s each =="
if [ "${LOOM_FUZZ_SECONDS:-5}" = 0 ]; then
    echo "fuzzing skipped (LOOM_FUZZ_SECONDS=0)"
else
    first=1
    for t in $(scripts/fuzz.sh list); do
        if [ $first = 1 ]; then scripts/fuzz.sh "$t" "${LOOM_FUZZ_SECONDS:-5}"; first=0
        else LOOM_FUZZ_SKIP_BUILD=1 scripts/fuzz.sh "$t" "${LOOM_FUZZ_SECONDS:-5}"; fi
    done
fi
echo "all tests passed"
