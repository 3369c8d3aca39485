/work/main/.build/release/loom-bench ops --devices all --threads 2 --json /work/main/Benchmarks/results/2core-epyc-2026-12-01/ops.json
