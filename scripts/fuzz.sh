#!/usr/bin/env bash
# Fuzzes one of Loom's readers of outside bytes with libFuzzer and the address sanitizer.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options…]
#   scripts/fuzz.sh list
#
# Builds Fuzz/ (a package beside the main one, so the main build never carries the sanitizers)
# into .build-fuzz/, then runs TARGET for SECONDS on a copy of its seed corpus Fuzz/seeds/TARGET
# (new inputs libFuzzer finds go to .build-fuzz/corpus/TARGET, crashes to .build-fuzz/crashes/).
# Prints libFuzzer's last status line (executions, coverage) and exits non-zero on a crash.
# Leak checking is off by default (LOOM_FUZZ_LEAKS=1 turns it on): Foundation's
# Data(contentsOf:) leaks one 4 KiB buffer reading an empty file, which is not Loom's.
set -euo pipefail
cd "$(dirname "$0")/.."
targets="corpus vectors projector archive checkpoint zip runlog analogies similarity pairs png jpeg idx captions vocabulary"
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS | list}
if [ "$target" = list ]; then echo "$targets"; exit 0; fi
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
shift 2
case " $targets " in *" $target "*) ;; *) echo "fuzz: unknown target '$target' (one of: $targets)" >&2; exit 2 ;; esac
scratch=$PWD/.build-fuzz
mkdir -p "$scratch"
ln -sfn "$PWD" "$scratch/Loom"
if [ -z "${LOOM_FUZZ_SKIP_BUILD:-}" ]; then
    (cd Fuzz && swift build -c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address \
        > "$scratch/build.log" 2>&1) \
        || { tail -30 "$scratch/build.log" >&2; echo "fuzz: the build failed (log: $scratch/build.log)" >&2; exit 1; }
fi
corpus=$scratch/corpus/$target
mkdir -p "$corpus" "$scratch/crashes"
[ -d "Fuzz/seeds/$target" ] && cp -n Fuzz/seeds/"$target"/* "$corpus"/ 2> /dev/null || true
log=$scratch/$target.log
set +e
leaks=${LOOM_FUZZ_LEAKS:-0}
ASAN_OPTIONS="detect_leaks=$leaks${ASAN_OPTIONS:+:$ASAN_OPTIONS}" LOOM_FUZZ_TARGET=$target "$scratch/release/LoomFuzz" "$corpus" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$scratch/crashes/$target-" -rss_limit_mb=4096 -timeout=20 -detect_leaks="$leaks" \
    "$@" > "$log" 2>&1
status=$?
set -e
grep -E "^#[0-9]+.*(DONE|pulse|NEW|REDUCE)" "$log" | tail -1 || true
grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" || true
if [ $status -ne 0 ]; then
    grep -E "ERROR|SUMMARY|Fatal error|Test unit written" "$log" | head -10 >&2
    echo "fuzz: $target found a crash (log: $log)" >&2
fi
exit $status
