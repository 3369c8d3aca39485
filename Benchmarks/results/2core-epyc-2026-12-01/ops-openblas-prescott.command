/work/main/.build/release/loom-bench ops --devices cpu --threads 2 --filter gemm 1024 --json /work/main/Benchmarks/results/2core-epyc-2026-12-01/ops-openblas-prescott.json
