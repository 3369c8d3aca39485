#!/usr/bin/env python3
"""Evaluate any word2vec-format vectors file (binary or text) with gensim's own evaluations.

Used for every tool in the baseline comparison -- the word2vec C tool, gensim and Loom -- so
that all of them are scored by the same code:

  * analogies: KeyedVectors.evaluate_word_analogies(questions, restrict_vocab=30000,
    case_insensitive=True) -- 3CosAdd over the 30,000 most frequent words, questions with a word
    outside them skipped. Printed as
        analogy questions-words.txt: total accuracy: P% (correct/evaluated, coverage Q%)
    where coverage = evaluated / all questions in the file; semantic (first five sections) and
    syntactic (gram*) accuracies are added to the JSON.
  * word pairs: KeyedVectors.evaluate_word_pairs(pairs, restrict_vocab=300000,
    case_insensitive=True) on WordSim-353 and SimLex-999 -- Spearman and Pearson correlation with
    the human scores over the pairs whose words are both known; OOV pairs are skipped.

Usage:
    python3 eval_vectors.py VECTORS [--binary auto|yes|no] [--questions FILE]
        [--wordsim353 FILE] [--simlex999 FILE] [--json OUT.json] [--label NAME]

File format: the first line is "<words> <dimension>"; then per word either the word, a space
and <dimension> little-endian float32 (binary; a trailing "\\n" is optional), or the word and
<dimension> decimal numbers separated by spaces (text). --binary auto (the default) looks at the
first record to tell them apart.
"""
import argparse
import json
import logging
import os
import sys
import time

import gensim
from gensim.models import KeyedVectors

# ../shared/data/eval beside the repository (this file is Benchmarks/baselines/eval_vectors.py).
DATA = os.environ.get("LOOM_EVAL_DATA", os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "data", "eval")))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("vectors", help="word2vec-format vectors file")
    p.add_argument("--binary", choices=["auto", "yes", "no"], default="auto")
    p.add_argument("--questions", default=os.path.join(DATA, "questions-words.txt"))
    p.add_argument("--wordsim353", default=os.path.join(DATA, "wordsim353.tsv"))
    p.add_argument("--simlex999", default=os.path.join(DATA, "simlex999.txt"))
    p.add_argument("--restrict-vocab", type=int, default=30000,
                   help="analogies: only the N most frequent words are candidates and questions "
                        "must lie inside them (default 30000)")
    p.add_argument("--pairs-restrict-vocab", type=int, default=300000,
                   help="word pairs: restrict_vocab for evaluate_word_pairs (gensim's default)")
    p.add_argument("--json", help="write all figures here")
    p.add_argument("--label", default="", help="free-form name copied into the JSON")
    p.add_argument("--verbose", action="store_true", help="gensim's INFO log (per-section accuracy)")
    return p.parse_args()


def is_binary(path):
    """Guess the format from the first record: a text record is one line of printable UTF-8
    holding the word and exactly <dimension> numbers; binary float32 data practically never is."""
    with open(path, "rb") as f:
        header = f.readline().split()
        if len(header) != 2:
            raise SystemExit(f"{path}: the first line should be '<words> <dimension>', got {header!r}")
        dim = int(header[1])
        chunk = f.read(64 * dim + 4096)
    line = chunk.lstrip(b"\n").split(b"\n", 1)[0]
    try:
        fields = line.decode("utf-8").split()
        if len(fields) != dim + 1 or not all(c.isprintable() for c in line.decode("utf-8")):
            return True
        [float(x) for x in fields[1:]]
        return False
    except (UnicodeDecodeError, ValueError):
        return True


def count_questions(path):
    """All analogy questions in the file (non-empty lines that are not ': section' headers)."""
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip() and not line.startswith(":"))


def analogies(kv, path, restrict_vocab):
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab, case_insensitive=True)
    total = sections[-1]  # gensim appends 'Total accuracy' last
    correct, evaluated = len(total["correct"]), len(total["correct"]) + len(total["incorrect"])
    questions = count_questions(path)

    def acc(secs):
        c = sum(len(s["correct"]) for s in secs)
        n = c + sum(len(s["incorrect"]) for s in secs)
        return {"accuracy": c / n if n else 0.0, "correct": c, "evaluated": n}

    body = sections[:-1]
    return {
        "file": os.path.abspath(path),
        "restrict_vocab": restrict_vocab,
        "accuracy": score,  # = correct / evaluated
        "correct": correct,
        "evaluated": evaluated,
        "questions": questions,
        "coverage": evaluated / questions if questions else 0.0,
        "semantic": acc([s for s in body if not s["section"].startswith("gram")]),
        "syntactic": acc([s for s in body if s["section"].startswith("gram")]),
        "sections": {s["section"]: {"correct": len(s["correct"]),
                                    "evaluated": len(s["correct"]) + len(s["incorrect"])} for s in body},
    }


def word_pairs(kv, path, restrict_vocab):
    with open(path, encoding="utf-8") as f:
        pairs = sum(1 for line in f if line.strip() and not line.startswith("#"))
    pearson, spearman, oov_pct = kv.evaluate_word_pairs(path, delimiter="\t", restrict_vocab=restrict_vocab,
                                                        case_insensitive=True)
    return {
        "file": os.path.abspath(path),
        "spearman": float(spearman[0]),
        "pearson": float(pearson[0]),
        "pairs": pairs,
        "evaluated": round(pairs * (1 - oov_pct / 100)),
        "oov_percent": oov_pct,
    }


def main():
    args = parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    binary = is_binary(args.vectors) if args.binary == "auto" else args.binary == "yes"
    t0 = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(args.vectors, binary=binary)
    load_s = time.perf_counter() - t0

    result = {
        "label": args.label,
        "vectors": os.path.abspath(args.vectors),
        "format": "binary" if binary else "text",
        "vocab_size": len(kv),
        "dimension": kv.vector_size,
        "gensim_version": gensim.__version__,
        "load_s": round(load_s, 3),
    }
    name = args.label or os.path.basename(args.vectors)
    print(f"{name}: {len(kv)} words x {kv.vector_size} ({result['format']})")

    a = analogies(kv, args.questions, args.restrict_vocab)
    result["analogy"] = a
    print(f"analogy {os.path.basename(args.questions)}: total accuracy: {100 * a['accuracy']:.2f}% "
          f"({a['correct']}/{a['evaluated']}, coverage {100 * a['coverage']:.1f}%)"
          f"  [semantic {100 * a['semantic']['accuracy']:.2f}%, syntactic {100 * a['syntactic']['accuracy']:.2f}%]")

    for key, path in (("wordsim353", args.wordsim353), ("simlex999", args.simlex999)):
        if not path or not os.path.exists(path):
            print(f"{key}: skipped ({path} not found)")
            continue
        s = word_pairs(kv, path, args.pairs_restrict_vocab)
        result[key] = s
        print(f"{key}: Spearman {s['spearman']:.4f}, Pearson {s['pearson']:.4f} "
              f"({s['evaluated']}/{s['pairs']} pairs, OOV {s['oov_percent']:.1f}%)")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
