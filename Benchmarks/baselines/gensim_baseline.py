#!/usr/bin/env python3
"""Train gensim Word2Vec once on a corpus, time it, and save the vectors in word2vec format.

The baseline that Loom's word2vec is compared against (see /work/shared/ANCHORS.md). One call is
one training run:

    python3 gensim_baseline.py --corpus prose8.txt --sg 1 --window 5 --negative 5 \
        --epochs 1 --workers 2 --input corpus_file --vectors out/gensim-sg5.bin --json out/run.json

Timings (wall clock, time.perf_counter):
  build_vocab_s  scanning the corpus and building the vocabulary (+ the unigram table),
  train_s        Word2Vec.train only,
  total_s        build_vocab_s + train_s (what "the whole run" means for the C tool, minus
                 process start-up and writing the vectors, which are timed separately).
Corpus words/s = words in the corpus x epochs / seconds, for train_s and total_s.
trained_fraction = raw words gensim reports trained / (corpus words x epochs): a check that the
run covered the corpus (a warning outside 0.95-1.05).

--input corpus_file needs lines of at most 10,000 words (see MAX_LINE_WORDS below); with
--input linesentence any text8-style file works.

The model is built exactly as
  Word2Vec(vector_size=128, window=W, negative=N, sg=SG, sample=1e-3, min_count=5,
           workers=T, epochs=E, hs=0)
with gensim's other defaults (alpha 0.025 for skip-gram AND CBOW, min_alpha 1e-4, seed 1,
max_vocab_size None); --alpha overrides the starting learning rate (the C tool uses 0.05 for CBOW).
"""
import argparse
import json
import logging
import os
import platform
import resource
import sys
import time

import gensim
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="whitespace-separated words; for corpus_file at most 10,000 a line")
    p.add_argument("--input", choices=["corpus_file", "linesentence"], default="corpus_file",
                   help="corpus_file: gensim's multi-threaded file reader (fastest); "
                        "linesentence: a Python LineSentence iterator (the classic API)")
    p.add_argument("--sg", type=int, choices=[0, 1], default=1, help="1 skip-gram, 0 CBOW")
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--size", type=int, default=128, help="vector_size")
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--alpha", type=float, default=None,
                   help="starting learning rate (default: gensim's 0.025 for both sg and CBOW)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--vectors", help="write the input vectors here in word2vec format (not timed)")
    p.add_argument("--text", action="store_true", help="write text instead of binary word2vec format")
    p.add_argument("--json", help="write the figures of this run here")
    p.add_argument("--label", default="", help="free-form name for this run, copied into the JSON")
    p.add_argument("--quiet", action="store_true", help="gensim logging at WARNING instead of INFO")
    return p.parse_args()


# gensim's corpus_file reader (CythonLineSentence) reads whole lines and cuts them into chunks of
# 10,000 words, but each worker stops as soon as the file is at its end: with a line longer than
# that -- text8 is ONE line of 17M words -- a worker reads the whole line, trains on its first
# ~10,000 words and quits, so an "epoch" trains on a few 10,000 words only (and in a second).
# run_baselines.sh therefore hands corpus_file a copy with at most 10,000 words a line, which is
# exactly how LineSentence cuts the original, so both see the same sentences.
MAX_LINE_WORDS = 10000


def longest_line_words(path):
    """Words in the longest line of the file."""
    with open(path, "rb") as f:
        return max((len(line.split()) for line in f), default=0)


def main():
    args = parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.WARNING if args.quiet else logging.INFO, stream=sys.stderr)

    params = dict(vector_size=args.size, window=args.window, negative=args.negative, sg=args.sg,
                  sample=args.sample, min_count=args.min_count, workers=args.workers,
                  epochs=args.epochs, hs=0, seed=args.seed)
    if args.alpha is not None:
        params["alpha"] = args.alpha

    if args.input == "corpus_file":
        longest = longest_line_words(args.corpus)
        if longest > MAX_LINE_WORDS:
            sys.exit(f"{args.corpus}: a line of {longest} words; gensim's corpus_file mode would train on a "
                     f"few {MAX_LINE_WORDS} words only. Cut it into lines of at most {MAX_LINE_WORDS} words "
                     f"(run_baselines.sh does), or use --input linesentence.")

    t0 = time.perf_counter()
    # No corpus in the constructor: vocabulary building and training are timed separately.
    model = Word2Vec(**params)
    if args.input == "corpus_file":
        model.build_vocab(corpus_file=args.corpus)
    else:
        sentences = LineSentence(args.corpus)  # splits the one-line corpus into 10,000-word chunks
        model.build_vocab(sentences)
    t1 = time.perf_counter()
    if args.input == "corpus_file":
        effective, raw = model.train(corpus_file=args.corpus, total_examples=model.corpus_count,
                                     total_words=model.corpus_total_words, epochs=model.epochs)
    else:
        effective, raw = model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    t2 = time.perf_counter()

    save_s = None
    if args.vectors:
        os.makedirs(os.path.dirname(os.path.abspath(args.vectors)), exist_ok=True)
        model.wv.save_word2vec_format(args.vectors, binary=not args.text)
        save_s = time.perf_counter() - t2

    words = int(model.corpus_total_words)  # raw words in the corpus, before min_count/sampling
    # Did training see the whole corpus every epoch? (corpus_file's stopping rule is approximate.)
    trained_fraction = raw / (words * args.epochs)
    if not 0.95 <= trained_fraction <= 1.05:
        print(f"WARNING: trained on {raw} raw words, {100 * trained_fraction:.1f}% of {words} x {args.epochs} "
              f"epochs: the timings do not cover the whole corpus", file=sys.stderr)
    build_s, train_s = t1 - t0, t2 - t1
    total_s = build_s + train_s
    result = {
        "tool": "gensim",
        "label": args.label,
        "gensim_version": gensim.__version__,
        "python": platform.python_version(),
        "input": args.input,
        "corpus": os.path.abspath(args.corpus),
        "params": {**params, "alpha": model.alpha, "min_alpha": model.min_alpha},
        "corpus_words": words,
        "vocab_size": len(model.wv),
        "trained_raw_words": int(raw),  # summed over epochs, as gensim counts them
        "trained_effective_words": int(effective),  # after min_count and down-sampling
        "trained_fraction": round(trained_fraction, 4),
        "build_vocab_s": round(build_s, 3),
        "train_s": round(train_s, 3),
        "total_s": round(total_s, 3),
        "save_s": None if save_s is None else round(save_s, 3),
        "words_per_s_train": round(words * args.epochs / train_s),
        "words_per_s_total": round(words * args.epochs / total_s),
        # ru_maxrss is in KiB on Linux; the wrapper script also records /usr/bin/time's figure.
        "peak_rss_kib_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vectors": os.path.abspath(args.vectors) if args.vectors else None,
    }
    print(f"gensim {gensim.__version__} {args.input} sg={args.sg} window={args.window} "
          f"negative={args.negative} epochs={args.epochs} workers={args.workers}: "
          f"{words} words, vocab {len(model.wv)}, build_vocab {build_s:.2f}s, train {train_s:.2f}s "
          f"({result['words_per_s_train']:,} words/s), total {total_s:.2f}s "
          f"({result['words_per_s_total']:,} words/s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
