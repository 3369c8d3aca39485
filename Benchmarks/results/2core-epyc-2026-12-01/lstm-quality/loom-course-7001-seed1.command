/work/main/.build/release/loom lstm train --text /work/shared/data/corpus/prose8.txt --steps 7001 --seed 1 --device cpu --threads 2
