#!/usr/bin/env python3
"""Collect the records run_baselines.sh wrote into OUT/summary.json and a markdown table OUT/summary.md.

    python3 summarize.py OUT --corpus FILE --corpus-words N --threads T --epochs E

Reads OUT/runs/NAME-rK.json (wall time and peak RSS of the whole process, from /usr/bin/time -v),
OUT/runs/NAME-rK.gensim.json (gensim's in-process timings), OUT/logs/NAME-rK.jsonl (Loom's run log)
and OUT/eval/NAME-rK.json (eval_vectors.py, every repeat's vectors). With several repeats every
timing and score is the median over them, with the range; all repeats stay in the JSON.
"""
import argparse
import glob
import json
import os
import re
import statistics

CONFIGS = {"course": "the course: skip-gram, skip_window 1, num_skips 2, sampled softmax 64, Adagrad 1.0",
           "sg5": "skip-gram, window 5, negative 5",
           "sg1n64": "skip-gram, window 1, negative 64",
           "cbow5": "CBOW, window 5, negative 5"}
TOOLS = {"loom": ("Loom, CPU backend", "`loom word2vec train`"),
         "c": ("word2vec C (makefile flags)", "—"),
         "gensim": ("gensim 4.4.0", "corpus_file"),
         "gensim-ls": ("gensim 4.4.0", "LineSentence")}


def load(path):
    with open(path) as f:
        return json.load(f)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    """Median and range of the non-missing values, or None."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out")
    p.add_argument("--corpus", required=True)
    p.add_argument("--corpus-words", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--dim", type=int, default=128)
    args = p.parse_args()
    words = args.corpus_words * args.epochs  # words processed by a run

    names = sorted({re.sub(r"-r\d+$", "", os.path.basename(f)[:-5])
                    for f in glob.glob(os.path.join(args.out, "runs", "*.json")) if not f.endswith(".gensim.json")})
    results = []
    for name in names:
        tool, cfg = next(((t, name[len(t) + 1:]) for t in sorted(TOOLS, key=len, reverse=True)
                          if name.startswith(t + "-")), (name, ""))
        runs = [load(f) for f in sorted(glob.glob(os.path.join(args.out, "runs", f"{name}-r*.json")))
                if not f.endswith(".gensim.json")]
        inner = [load(f) for f in sorted(glob.glob(os.path.join(args.out, "runs", f"{name}-r*.gensim.json")))]
        wall = median([r["wall_s"] for r in runs])
        rec = {
            "name": name, "tool_key": tool, "tool": TOOLS.get(tool, (tool,))[0], "input": TOOLS.get(tool, ("", ""))[1],
            "config": cfg, "config_text": CONFIGS.get(cfg, cfg), "repeats": len(runs),
            # whole process: start to exit, vocabulary, training and writing vectors included
            "wall_s": wall,
            "words_per_s_wall": round(words / wall) if wall else None,
            "peak_rss_mib": round(median([r["peak_rss_kib"] for r in runs]) / 1024, 1),
            "cpu_percent": [r["cpu_percent"] for r in runs],
            "loadavg_before": [r["loadavg_before"] for r in runs],
            "runs": runs,
        }
        if inner:  # gensim: vocabulary + training, and training alone, timed inside the process
            rec["vocab_train_s"] = median([g["total_s"] for g in inner])
            rec["train_s"] = median([g["train_s"] for g in inner])
            rec["words_per_s_vocab_train"] = round(words / rec["vocab_train_s"])
            rec["words_per_s_train"] = round(words / rec["train_s"])
            rec["vocab_size"] = inner[-1]["vocab_size"]
            rec["gensim_params"] = inner[-1]["params"]
            rec["gensim_runs"] = inner
        logs = sorted(glob.glob(os.path.join(args.out, "logs", f"{name}-r*.jsonl")))
        if logs:  # Loom: its own training-only rate from the last report of each run's log
            last = [jsonl(f)[-1] for f in logs]
            rec["loom_last_report"] = last
        evals = [load(f) for f in sorted(glob.glob(os.path.join(args.out, "eval", f"{name}-r*.json")))]
        if evals:
            rec["evals"] = evals
            rec["eval"] = evals[-1]
            rec["quality"] = {
                "analogy_accuracy": spread([e["analogy"]["accuracy"] for e in evals if e.get("analogy")]),
                "wordsim353_spearman": spread([e.get("wordsim353", {}).get("spearman") for e in evals]),
                "simlex999_spearman": spread([e.get("simlex999", {}).get("spearman") for e in evals]),
            }
            rec.setdefault("vocab_size", evals[-1]["vocab_size"])
        rec["wall_s_spread"] = spread([r["wall_s"] for r in runs])
        results.append(rec)
    rank = lambda key, keys: list(keys).index(key) if key in keys else len(keys)
    results.sort(key=lambda r: (rank(r["config"], CONFIGS), rank(r["tool_key"], TOOLS)))

    build = os.path.join(args.out, "bin", "build.json")
    summary = {
        "corpus": os.path.abspath(args.corpus), "corpus_words": args.corpus_words,
        "threads": args.threads, "epochs": args.epochs,
        "word2vec_c_build": load(build) if os.path.exists(build) else None,
        "machine": open(os.path.join(args.out, "machine.txt")).read().splitlines()
        if os.path.exists(os.path.join(args.out, "machine.txt")) else None,
        "results": results,
        "dim": args.dim,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)

    lines = [
        f"# Baselines: {os.path.basename(args.corpus)} ({args.corpus_words:,} words), "
        f"{args.epochs} epoch(s), {args.threads} threads",
        "",
        f"All: dim {args.dim}, sample 1e-3, min-count 5, negative sampling (hs 0); starting learning rate "
        "0.025 for skip-gram and 0.05 for CBOW in every tool. "
        "corpus words/s = corpus words × epochs / seconds. *Whole run* = the process from start to "
        "exit (vocabulary, training, writing vectors; Python start-up for gensim); *vocab+train* and "
        "*train* are timed inside gensim. Analogies: questions-words.txt, gensim "
        "`evaluate_word_analogies(restrict_vocab=30000, case_insensitive=True)`; word pairs: "
        "`evaluate_word_pairs` Spearman ρ.",
        "",
        "| tool | input | configuration | whole run s | words/s (whole run) | vocab+train s | words/s (vocab+train) "
        "| train s | words/s (train) | peak RSS MiB | analogy accuracy (median) | correct/evaluated (last) | coverage "
        "| semantic | syntactic | WS353 ρ (median) | SimLex ρ (median) |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        e = r.get("eval", {})
        a = e.get("analogy")
        q = r.get("quality", {})
        med = lambda k: (q.get(k) or {}).get("median")
        lines.append("| " + " | ".join([
            r["tool"], r["input"], r["config_text"],
            fmt(r["wall_s"], ".1f"), fmt(r["words_per_s_wall"], ",d"),
            fmt(r.get("vocab_train_s"), ".1f"), fmt(r.get("words_per_s_vocab_train"), ",d"),
            fmt(r.get("train_s"), ".1f"), fmt(r.get("words_per_s_train"), ",d"),
            fmt(r["peak_rss_mib"], ",.0f"),
            f"{100 * med('analogy_accuracy'):.2f}%" if med('analogy_accuracy') is not None else "—",
            f"{a['correct']}/{a['evaluated']}" if a else "—",
            f"{100 * a['coverage']:.1f}%" if a else "—",
            f"{100 * a['semantic']['accuracy']:.2f}%" if a else "—",
            f"{100 * a['syntactic']['accuracy']:.2f}%" if a else "—",
            fmt(med("wordsim353_spearman"), ".3f"),
            fmt(med("simlex999_spearman"), ".3f"),
        ]) + " |")

    # Speed of gensim relative to the C tool, both over their whole runs.
    ratios = []
    for cfg in CONFIGS:
        c = next((r for r in results if r["name"] == f"c-{cfg}"), None)
        for t in ("loom", "gensim", "gensim-ls"):
            g = next((r for r in results if r["name"] == f"{t}-{cfg}"), None)
            if c and g and c["wall_s"] and g["wall_s"]:
                inner = (f", {c['wall_s'] / g['vocab_train_s']:.2f}× (gensim vocab+train)"
                         if g.get("vocab_train_s") else "")
                ratios.append(f"- {CONFIGS[cfg]}: {TOOLS[t][0]} {TOOLS[t][1]} / word2vec C = "
                              f"{c['wall_s'] / g['wall_s']:.2f}× (whole runs){inner}")
    if ratios:
        lines += ["", "Speed relative to the word2vec C tool:", ""] + ratios
    short = [f"{g['label']} ({100 * g['trained_fraction']:.1f}%)" for r in results
             for g in r.get("gensim_runs", []) if not 0.95 <= g.get("trained_fraction", 1) <= 1.05]
    if short:
        lines += ["", "**Warning**: these gensim runs did not train on the whole corpus (raw words trained / "
                  "corpus words × epochs): " + ", ".join(short)]
    if any(r["repeats"] > 1 for r in results):
        lines += ["", "Timings are medians over the repeats; every repeat is in summary.json."]
    lines += ["", "Load average (1/5/15 min) before each run: " +
              "; ".join(f"{r['name']} {', '.join(r['loadavg_before'])}" for r in results)]
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
