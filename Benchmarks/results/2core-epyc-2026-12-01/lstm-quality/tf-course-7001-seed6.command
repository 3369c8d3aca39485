/tmp/baselines/lstm-venv/bin/python /work/main/Benchmarks/baselines/lstm/lstm_tf.py --text /work/shared/data/corpus/prose8.txt --steps 7001 --eval-every 1000 --seed 6 --summary-every 0
