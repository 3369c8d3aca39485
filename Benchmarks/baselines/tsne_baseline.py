#!/usr/bin/env python3
"""t-SNE baselines for `loom-bench tsne`: scikit-learn and openTSNE on the same vectors and settings.

    python3 -m pip install scikit-learn openTSNE
    python3 Benchmarks/baselines/tsne_baseline.py VECTORS [--words 400,2000,10000] [--skip 0]

VECTORS is a .npy matrix or a word2vec file (binary if it ends in .bin, else text). The first N
rows (after --skip) are L2-normalised (unless --no-normalize) and embedded with Loom's defaults:
perplexity 30, early exaggeration 12 for 250 iterations, momentum 0.5 then 0.8, learning rate
max(N/12, 200) (openTSNE's "auto"; scikit-learn's own "auto" would be max(N/48, 50)), PCA start
scaled to std 1e-4, 1000 iterations in all. Prints seconds and the final KL divergence of each.
"""
import argparse
import json
import sys
import time

import numpy as np


def read_vectors(path):
    if path.endswith(".npy"):
        return None, np.load(path).astype(np.float32)
    with open(path, "rb") as f:
        header = f.readline().split()
        count, dim = int(header[0]), int(header[1])
        words, rows = [], []
        if path.endswith(".bin"):
            for _ in range(count):
                word = bytearray()
                while True:
                    c = f.read(1)
                    if c == b" " or not c:
                        break
                    if c != b"\n":
                        word += c
                words.append(word.decode("utf-8", "replace"))
                rows.append(np.frombuffer(f.read(4 * dim), dtype="<f4"))
        else:
            for _ in range(count):
                parts = f.readline().rstrip().split(b" ")
                words.append(parts[0].decode("utf-8", "replace"))
                rows.append(np.array([float(x) for x in parts[1:]], dtype=np.float32))
    return words, np.vstack(rows)


def learning_rate(n):
    return max(n / 12.0, 200.0)


def run_sklearn(x, method, threads):
    from sklearn.manifold import TSNE
    t = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0, learning_rate=learning_rate(len(x)),
             max_iter=1000, init="pca", method=method, angle=0.5, random_state=1, n_jobs=threads)
    t0 = time.perf_counter()
    y = t.fit_transform(x)
    return time.perf_counter() - t0, float(t.kl_divergence_), y


def run_opentsne(x, method, threads, defaults=False):
    from openTSNE import TSNE
    if defaults:
        # openTSNE's own defaults: momentum 0.8 throughout, 250 + 500 iterations, lr N/exaggeration.
        t = TSNE(n_components=2, perplexity=30, random_state=1, n_jobs=threads, negative_gradient_method=method)
    else:
        t = TSNE(n_components=2, perplexity=30, early_exaggeration=12, early_exaggeration_iter=250, n_iter=750,
                 learning_rate=learning_rate(len(x)), initial_momentum=0.5, final_momentum=0.8, initialization="pca",
                 theta=0.5, negative_gradient_method=method, neighbors="exact", random_state=1, n_jobs=threads)
    t0 = time.perf_counter()
    y = t.fit(x)
    return time.perf_counter() - t0, float(y.kl_divergence), np.asarray(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vectors")
    ap.add_argument("--words", default="400,2000,10000", help="sizes N, comma-separated")
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--no-normalize", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--exact-up-to", type=int, default=2000,
                    help="also run scikit-learn's exact method up to this N (it is O(N^2) in NumPy)")
    ap.add_argument("--json", help="write the rows as JSON to this file")
    ap.add_argument("--save-coordinates", help="folder to write each run's (N, 2) coordinates as .npy")
    args = ap.parse_args()

    _, data = read_vectors(args.vectors)
    rows = []
    for n in [int(s) for s in args.words.split(",")]:
        x = data[args.skip:args.skip + n].astype(np.float32)
        if len(x) < n:
            print(f"note: only {len(x)} vectors after --skip {args.skip}", file=sys.stderr)
        if not args.no_normalize:
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(norms > 0, norms, 1)
        runs = [("scikit-learn barnes_hut", lambda: run_sklearn(x, "barnes_hut", args.threads)),
                ("openTSNE bh", lambda: run_opentsne(x, "bh", args.threads)),
                ("openTSNE fft", lambda: run_opentsne(x, "fft", args.threads)),
                ("openTSNE defaults", lambda: run_opentsne(x, "auto", args.threads, defaults=True))]
        if len(x) <= args.exact_up_to:
            runs.insert(1, ("scikit-learn exact", lambda: run_sklearn(x, "exact", args.threads)))
        for name, fn in runs:
            seconds, kl, y = fn()
            row = {"tool": name, "n": len(x), "dim": x.shape[1], "seconds": round(seconds, 3), "kl": round(kl, 4)}
            rows.append(row)
            print(f"{name:26s} N={len(x):6d}  {seconds:8.2f} s  KL {kl:.4f}", flush=True)
            if args.save_coordinates:
                np.save(f"{args.save_coordinates}/{name.replace(' ', '_')}_{len(x)}.npy", y)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
