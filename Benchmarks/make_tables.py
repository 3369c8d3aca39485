#!/usr/bin/env python3
"""Turns a results folder written by Benchmarks/reproduce.sh into the markdown tables of
Benchmarks/RESULTS.md and README.md. Nothing in those tables is typed by hand.

    python3 Benchmarks/make_tables.py RESULTS_DIR            # print the tables
    python3 Benchmarks/make_tables.py RESULTS_DIR --write    # and replace the generated blocks

A generated block sits between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->`:
RESULTS.md holds `local` (everything measured in RESULTS_DIR) and `h100` (Benchmarks/results/h100,
the GPU run of 2026-11-25); README.md holds `readme-summary`, a digest of the same two folders.
Uses only the Python standard library.
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
H100 = os.path.join(HERE, "results", "h100")
# The H100 files were written by a bundle of the code committed with them (aacfe23, 2026-11-25).
H100_COMMIT, H100_DATE = "aacfe23", "2026-11-25"


def load(path):
    with open(path) as f:
        return json.load(f)


def maybe(path):
    return load(path) if os.path.exists(path) else None


def rel(path):
    return os.path.relpath(path, REPO)


def n(v, digits=0):
    """A number with thousands separators; digits after the point."""
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def sig(v, figures=3):
    """A number to about `figures` significant figures, with separators."""
    if v is None:
        return "–"
    if v == 0:
        return "0"
    digits = max(0, figures - 1 - int(math.floor(math.log10(abs(v)))))
    return n(v, digits)


def pct(v, digits=1):
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def table(header, rows, align=None):
    align = align or ["---"] + ["--:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- engine ops ----------------------------------------------------------------------------------

OPS_ORDER = ["gemm 256x256x256", "gemm 1024x1024x1024", "gemm 128x50000x128 (B^T)", "gemm 64x256x256",
             "gemm 128x2048x512", "batched gemm 16x(64x64x64)", "gather 8192 rows of 50000x128",
             "scatterAdd 8192 rows into 50000x128", "lstm gates fwd+bwd B=64 H=64",
             "lstm gates fwd+bwd B=128 H=512", "sampled softmax B=128 S=64 V=50000 D=128",
             "softmax xent fwd+bwd 128x50000", "sparse adagrad 320 rows of 50000x128"]
GB_ROUTINES = {"gather 8192 rows of 50000x128": 8192 * 128 * 4 * 2,
               "scatterAdd 8192 rows into 50000x128": 8192 * 128 * 4 * 3}


def op_cell(r):
    if r is None:
        return "–"
    ms = r["milliseconds"]
    text = f"{ms:.3f} ms" if ms < 100 else f"{ms:.0f} ms"
    if r.get("gflops") and r["routine"].startswith(("gemm", "batched")):
        text += f" ({n(r['gflops'])} GFLOP/s)"
    elif r["routine"] in GB_ROUTINES:
        text += f" ({GB_ROUTINES[r['routine']] / ms / 1e6:.0f} GB/s)"
    return text


def ops_rows(ops):
    by = {(r["routine"], r["backend"]): r for r in ops}
    names = [x for x in OPS_ORDER if any(k[0] == x for k in by)]
    names += sorted({k[0] for k in by} - set(names))
    backends = sorted({r["backend"] for r in ops}, key=lambda b: {"cpu": 0, "openblas-direct": 1}.get(b, 2))
    return names, backends, by


def ops_table(ops, device_time=False):
    names, backends, by = ops_rows(ops)
    label = {"cpu": "CPU backend", "openblas-direct": "OpenBLAS direct"}
    header = ["routine"] + [label.get(b, b) for b in backends]
    if device_time:
        header.append("device time (" + ", ".join(b for b in backends if b.startswith("opencl")) + ")")
    rows = []
    for name in names:
        row = [name] + [op_cell(by.get((name, b))) for b in backends]
        if device_time:
            row.append(", ".join(f"{by[(name, b)]['deviceMilliseconds']:.3f} ms" for b in backends
                                 if (name, b) in by and by[(name, b)].get("deviceMilliseconds")) or "–")
        rows.append(row)
    checks = [r for r in ops if r.get("validation") not in ("reference", "baseline")]
    ok = sum(1 for r in checks if r["validation"] == "ok")
    devices = "; ".join(sorted({f"`{r['backend']}` = {r['device']}" for r in ops}))
    return table(header, rows), f"{ok} of {len(checks)} device measurements validated `ok` against the CPU reference. {devices}."


# --- word2vec --------------------------------------------------------------------------------------

# Short names of run_baselines.sh's configurations, in table order (its summary.json has the long ones).
W2V_SHORT = {"course": "the course's skip-gram, sampled softmax 64", "sg5": "skip-gram, window 5, negative 5",
             "sg1n64": "skip-gram, window 1, 64 negatives", "cbow5": "CBOW, window 5, negative 5"}
W2V_TOOLS = [("loom", "Loom, CPU backend"), ("c", "word2vec C"), ("gensim", "gensim")]


def spread_text(s, fmt):
    if not s:
        return "–"
    if s["n"] == 1 or s["min"] == s["max"]:
        return fmt(s["median"])
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})"


def w2v_records(summary):
    return {(r["tool_key"], r["config"]): r for r in summary["results"]}


def w2v_table(summary, versions):
    recs = w2v_records(summary)
    words = summary["corpus_words"] * summary["epochs"]
    rows = []
    for cfg in W2V_SHORT:
        c = recs.get(("c", cfg))
        g = recs.get(("gensim", cfg))
        first = True
        for tool, name in W2V_TOOLS:
            r = recs.get((tool, cfg))
            if not r:
                continue
            w = r["wall_s_spread"]
            q = r.get("quality", {})
            ratio_c = f"{c['wall_s'] / r['wall_s']:.2f}×" if c and tool != "c" else "–"
            ratio_g = f"{g['wall_s'] / r['wall_s']:.2f}×" if g and tool != "gensim" else "–"
            label = name if tool != "gensim" else f"gensim {versions.get('gensim') or ''}".strip()
            rows.append([r["config_text"] if first else "", label, r["repeats"], spread_text(w, lambda v: f"{v:.1f}"),
                         n(words / r["wall_s"]), ratio_c, ratio_g,
                         spread_text(q.get("analogy_accuracy"), lambda v: f"{100 * v:.2f}%"),
                         spread_text(q.get("wordsim353_spearman"), lambda v: f"{v:.3f}"),
                         spread_text(q.get("simlex999_spearman"), lambda v: f"{v:.3f}")])
            first = False
    header = ["configuration", "tool", "runs", "whole run s, median (range)", "corpus words/s (whole run)",
              "speed / C tool", "speed / gensim", "analogies, top 30k", "WS-353 ρ", "SimLex-999 ρ"]
    return table(header, rows, ["---", "---"] + ["--:"] * 8)


def w2v_training_table(rows_cpu, rows_pocl):
    rows = []
    for r in (rows_cpu or []) + (rows_pocl or []):  # noqa: one row per loom-bench measurement
        reps = r.get("repeatsWordsPerSecond") or [r["wordsPerSecond"]]
        spread = f" ({n(min(reps))}–{n(max(reps))}, {len(reps)} runs)" if len(reps) > 1 else ""
        rows.append([r["configuration"], r["backend"], n(r["words"]), f"{r['seconds']:.2f}",
                     n(r["wordsPerSecond"]) + spread, f"{r['finalLoss']:.3f}"])
    return table(["configuration", "backend", "words trained", "training s", "words/s (training only), median (range)",
                  "final loss"], rows, ["---", "---", "--:", "--:", "--:", "--:"])


# --- LSTM --------------------------------------------------------------------------------------------

LSTM_CONFIGS = [("course", "course (B 64, H 64, T 10)", "course-speed", "course: 64 units, batch 64, 10 unrollings"),
                ("large10", "large10 (B 128, H 512, T 10)", "h512-b128-t10", "512 units, batch 128, 10 unrollings"),
                ("large", "large (B 128, H 512, T 50)", "h512-b128-t50", "512 units, batch 128, 50 unrollings")]


def lstm_baseline(folder, fw, key):
    files = sorted(glob.glob(os.path.join(folder, f"{fw}-{key}-r*.json")))
    return [load(f)["steps_per_s"] for f in files]


def loom_lstm_speed(folder):
    """Loom's LSTM rows by configuration, steps/s the median over lstm-speed-r*.json, with every run."""
    runs = {}
    for f in sorted(glob.glob(os.path.join(folder, "lstm-speed-r*.json"))):
        for r in load(f):
            runs.setdefault(r["configuration"], []).append(r)
    out = {}
    for conf, rows in runs.items():
        rows = sorted(rows, key=lambda r: r["stepsPerSecond"])
        out[conf] = dict(rows[len(rows) // 2], runs=[r["stepsPerSecond"] for r in rows])
    return out


def lstm_speed_table(folder):
    loom = loom_lstm_speed(folder)
    pocl = {r["configuration"]: r for r in (maybe(os.path.join(folder, "lstm-speed-pocl.json")) or [])}
    base = os.path.join(folder, "lstm-baselines")
    rows = []
    for _, conf, key, text in LSTM_CONFIGS:
        l = loom.get(conf)
        tf = lstm_baseline(base, "tf", key)
        pt = lstm_baseline(base, "torch", key)
        med = lambda xs: statistics.median(xs) if xs else None
        runs = lambda xs: (" (" + ", ".join(sig(x) for x in xs) + ")") if len(xs) > 1 else ""
        ls = l["stepsPerSecond"] if l else None
        rows.append([text, sig(ls) + (runs(l["runs"]) if l else ""), sig(pocl[conf]["stepsPerSecond"]) if conf in pocl else "–",
                     sig(med(tf)) + runs(tf), sig(med(pt)) + runs(pt),
                     f"{ls / med(tf):.2f}×" if ls and tf else "–", f"{ls / med(pt):.2f}×" if ls and pt else "–"])
    return table(["configuration", "Loom CPU backend (median, runs)", "Loom on PoCL", "TensorFlow (median, runs)",
                  "PyTorch (median, runs)", "Loom / TF", "Loom / PyTorch"], rows)


def lstm_quality(folder):
    q = os.path.join(folder, "lstm-quality")
    loom, tf = {}, {}
    for f in glob.glob(os.path.join(q, "loom-course-*-seed*.txt")):
        m = re.search(r"validation perplexity: ([\d.]+) at step (\d+) \(([\d.]+) steps/s\)", open(f).read())
        if m:
            loom[int(re.search(r"seed(\d+)", f).group(1))] = (float(m.group(1)), int(m.group(2)), float(m.group(3)))
    for f in glob.glob(os.path.join(q, "tf-course-*-seed*.json")):
        d = load(f)
        tf[int(d["seed"])] = (d["validation_perplexity"], d["steps"], d.get("steps_per_s"))
    return loom, tf


def lstm_quality_table(folder):
    loom, tf = lstm_quality(folder)
    seeds = sorted(set(loom) | set(tf))
    if not seeds:
        return None
    steps = next(iter(loom.values() or tf.values()))[1]
    row = lambda name, d: [name] + [f"{d[s][0]:.3f}" if s in d else "–" for s in seeds] + \
        [f"**{statistics.mean(v[0] for v in d.values()):.3f}**" if d else "–",
         f"{statistics.stdev(v[0] for v in d.values()):.3f}" if len(d) > 1 else "–"]
    t = table(["seed"] + [str(s) for s in seeds] + ["mean", "sd"],
              [row("Loom", loom), row("TensorFlow", tf)])
    return t, steps, loom, tf


# --- t-SNE -------------------------------------------------------------------------------------------

def tsne_table(folder):
    loom = maybe(os.path.join(folder, "tsne-loom.json")) or []
    base = maybe(os.path.join(folder, "tsne-baselines.json")) or []
    if not loom and not base:
        return None
    cols = []
    cell = {}
    for r in loom:
        if not r.get("iterations"):
            continue
        name = f"Loom {r['method']}, " + ("CPU backend" if r["backend"] == "cpu" else r["backend"])
        if name not in cols:
            cols.append(name)
        cell[(r["points"], name)] = f"{r['seconds']:.2f} s, KL {r['divergence']:.3f}"
    for r in base:
        if r["tool"] not in cols:
            cols.append(r["tool"])
        cell[(r["n"], r["tool"])] = f"{r['seconds']:.2f} s, KL {r['kl']:.3f}"
    sizes = sorted({k[0] for k in cell})
    return table(["N"] + cols, [[n(s)] + [cell.get((s, c), "–") for c in cols] for s in sizes],
                 ["--:"] + ["---"] * len(cols))


# --- H100 --------------------------------------------------------------------------------------------

def parse_text_table(path):
    """Rows of a loom-bench text table (columns split on two or more spaces)."""
    lines = open(path).read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(("configuration", "N ")))
    header = re.split(r"\s{2,}", lines[start].strip())
    return [dict(zip(header, re.split(r"\s{2,}", l.strip()))) for l in lines[start + 1:] if l.strip()]


def h100_block():
    out = [f"Measured {H100_DATE} on one NVIDIA H100 80GB HBM3 (OpenCL 3.0 CUDA 13.0.98, driver 580.159.04) "
           f"and the 16 cores of its host's Xeon, by a bundle (`scripts/make-bundle.sh`) of the code of commit "
           f"`{H100_COMMIT}`, with `Benchmarks/run-bundle.sh BUNDLE OUT suite prose8.txt prose.bin`. Files: "
           f"[`results/h100/`](results/h100). That run predates the OpenBLAS kernel check: its CPU column may "
           f"be on OpenBLAS's fallback kernels and is not a fair CPU figure."]
    ops = maybe(os.path.join(H100, "ops.json"))
    if ops:
        t, note = ops_table(ops, device_time=True)
        out += ["", "**Engine ops** (`ops.json`)", "", t, "", note]
    for file, title, loss in [("word2vec.txt", "**word2vec, training only** (`word2vec.txt`: `loom-bench word2vec "
                               "--words 2000000`, first 2M words of prose8)", "final loss"),
                              ("word2vec-scaling.txt", "**Sampled softmax against the vocabulary** "
                               "(`word2vec-scaling.txt`, training only)", "loss")]:
        if os.path.exists(os.path.join(H100, file)):
            rows = parse_text_table(os.path.join(H100, file))
            out += ["", title, "", table(["configuration", "backend", "words/s (training only)", loss],
                                         [[r["configuration"], r["backend"], n(float(r["words/s"])), r["loss"]] for r in rows],
                                         ["---", "---", "--:", "--:"])]
    l = maybe(os.path.join(H100, "lstm.json"))
    if l:
        out += ["", "**Character LSTM** (`lstm.json`: `loom-bench lstm --steps 500`)", "",
                table(["configuration", "backend", "steps/s", "training characters/s"],
                      [[r["configuration"], r["backend"], sig(r["stepsPerSecond"]), n(r["charactersPerSecond"])] for r in l],
                      ["---", "---", "--:", "--:"])]
    t = os.path.join(H100, "tsne.txt")
    if os.path.exists(t):
        rows = [r for r in parse_text_table(t) if r.get("seconds", "–") != "–"]
        out += ["", "**t-SNE** (`tsne.txt`: first N word vectors of prose8, 1000 iterations)", "",
                table(["N", "method", "backend", "seconds", "KL"],
                      [[r["N"], r["method"], r["backend"], r["seconds"], r["KL"]] for r in rows],
                      ["--:", "---", "---", "--:", "--:"])]
    return "\n".join(out)


# --- the blocks --------------------------------------------------------------------------------------

def machine_line(meta):
    m, t = meta["machine"], meta["tools"]
    bp, lp = t.get("baseline_packages", {}), t.get("lstm_packages", {})
    w = meta.get("word2vec_c", {})
    c_src = ("the published `word2vec.c` (tmikolov/word2vec e092540, sha256 " + w["sha256"][:12] + "…)"
             if w.get("published") else
             f"**not** the published word2vec.c (sha256 {w.get('sha256')})" if w.get("sha256") else "not run")
    return (f"{m['cores']} cores of an {m['cpu']} ({'AVX-512' if m['avx512f'] else 'AVX2' if m['avx2'] else 'no AVX2'}), "
            f"{m['memory_gib']} GiB; {meta['date'][:10]}; Loom commit `{(meta['loom']['commit'] or '?')[:7]}`"
            f"{' with uncommitted changes' if meta['loom']['uncommitted_changes'] else ''}; "
            f"OpenBLAS {t.get('openblas')}, PoCL {t.get('pocl')}; {t.get('gcc')}; {t.get('python')}: "
            f"gensim {bp.get('gensim')}, scikit-learn {bp.get('sklearn')}, openTSNE {bp.get('openTSNE')}, "
            f"TensorFlow {lp.get('tensorflow')}, PyTorch {lp.get('torch')}; word2vec C: {c_src}. "
            f"Load average at the start: {' '.join(m['loadavg_at_start'])}.")


def local_block(folder):
    meta = load(os.path.join(folder, "machine.json"))
    out = [f"Folder [`{rel(folder)}`]({os.path.relpath(folder, HERE)}), made by `{meta['command'].strip()}`"
           f" (`machine.json` has the machine, the commit, every tool's version and the sha256 of every "
           f"baseline script; each record beside it has the command line that made it).", "",
           machine_line(meta)]
    ops = maybe(os.path.join(folder, "ops.json"))
    if ops:
        t, note = ops_table(ops)
        out += ["", "### Engine ops", "", "`loom-bench ops --devices all` (`ops.json`, `ops.txt`):", "", t, "", note]
        pres = maybe(os.path.join(folder, "ops-openblas-prescott.json"))
        if pres:
            fast = {(r["routine"], r["backend"]): r for r in ops}
            cells = [f"{label} {n(r['gflops'])} GFLOP/s against {n(fast[(r['routine'], r['backend'])]['gflops'])}"
                     for r in pres for label in [{"cpu": "CPU backend", "openblas-direct": "OpenBLAS direct"}.get(r["backend"], r["backend"])]
                     if r.get("gflops") and (r["routine"], r["backend"]) in fast]
            out += ["", f"OpenBLAS's fallback kernels (`ops-openblas-prescott.json`: the same GEMM 1024³ with "
                    f"`OPENBLAS_CORETYPE=Prescott`, what Debian 12's OpenBLAS 0.3.21 picks on a CPU it does not "
                    f"know): " + "; ".join(cells) + ". `loom devices` names the kernels in use; when OpenBLAS fell "
                    f"back on an AVX2 CPU, `loom` and `loom-bench` restart themselves with a better `OPENBLAS_CORETYPE`."]
    summary = maybe(os.path.join(folder, "word2vec", "summary.json"))
    if summary:
        words = summary["corpus_words"]
        out += ["", "### word2vec: whole runs, scored alike", "",
                f"`Benchmarks/baselines/run_baselines.sh` (`word2vec/`): the first {n(words)} words of "
                f"`prose8.txt`, {summary['epochs']} epoch, dimension 128, sample 1e-3, min-count 5, "
                f"{summary['threads']} threads for every tool. *Whole run* = wall time of the process (reading, "
                f"vocabulary, training, writing the vectors); corpus words/s = corpus words / that time. Every "
                f"run's vectors are scored by `eval_vectors.py` (gensim's `evaluate_word_analogies` with "
                f"`restrict_vocab=30000`, `evaluate_word_pairs`); repeats use seeds 1, 2, 3 where the tool takes "
                f"a seed (the C tool has none), and quality is the median over them. The course configuration "
                f"is Loom's alone (the other tools have no sampled softmax); its closest relative is the "
                f"64-negative row.", "",
                w2v_table(summary, meta["tools"].get("baseline_packages", {}))]
    tr = maybe(os.path.join(folder, "word2vec-training.json"))
    if tr:
        out += ["", "**Training only** (`loom-bench word2vec`: the timer runs around the training loop alone, "
                "not reading or writing; `word2vec-training.json`, `word2vec-training-pocl.json`). Not comparable "
                "with the whole runs above:", "",
                w2v_training_table(tr, maybe(os.path.join(folder, "word2vec-training-pocl.json")))]
    sc = maybe(os.path.join(folder, "word2vec-scaling.json"))
    if sc:
        by = {}
        for r in sc:
            by.setdefault(r["vocabulary"], {})[r["backend"]] = r
        bes = sorted({r["backend"] for r in sc})
        out += ["", "**The sampled-softmax step against the vocabulary** (`loom-bench word2vec --configs scaling`: "
                "synthetic Zipf corpora with exactly V distinct words; training only; `word2vec-scaling.json`):", "",
                table(["vocabulary"] + [f"{b} words/s" for b in bes] + [f"{b} loss" for b in bes],
                      [[n(v)] + [n(by[v][b]["wordsPerSecond"]) if b in by[v] else "–" for b in bes]
                       + [f"{by[v][b]['finalLoss']:.3f}" if b in by[v] else "–" for b in bes] for v in sorted(by)])]
    if glob.glob(os.path.join(folder, "lstm-speed-r*.json")):
        out += ["", "### Character LSTM", "",
                "Steps per second of the training loop: `loom-bench lstm` (`lstm-speed-r*.json`, "
                "`lstm-speed-pocl.json`) against `baselines/lstm/run_lstm_baselines.sh speed large large50` "
                "(`lstm-baselines/`: TensorFlow running the course's graph, PyTorch `nn.LSTM`), same text, "
                "2 threads each, run back to back:", "", lstm_speed_table(folder)]
    q = lstm_quality_table(folder)
    if q:
        t, steps, _, _ = q
        out += ["", f"**Validation perplexity after {steps} steps** of the course configuration "
                f"(`lstm-quality/`: `loom lstm train --text prose8.txt --steps {steps} --seed S`, all other options "
                f"the defaults; `lstm_tf.py --steps {steps} --seed S`). Seeds are not comparable across the two: each "
                f"draws its own initialisation.", "", t]
    t = tsne_table(folder)
    if t:
        out += ["", "### t-SNE", "", "`loom-bench tsne` (`tsne-loom.json`) and `baselines/tsne_baseline.py` "
                "(`tsne-baselines.json`) on the first N of the Loom skip-gram vectors of the word2vec runs above "
                "(`loom-sg5`, seed 1), L2-normalised, the same settings (perplexity 30, learning rate max(N/12, 200), "
                "250 + 750 iterations, PCA start, θ = 0.5, 2 threads):", "", t]
    return "\n".join(out)


def readme_block(folder):
    meta = load(os.path.join(folder, "machine.json"))
    m = meta["machine"]
    rows = []
    summary = maybe(os.path.join(folder, "word2vec", "summary.json"))
    if summary:
        recs = w2v_records(summary)
        words = summary["corpus_words"] * summary["epochs"]
        for cfg in W2V_SHORT:
            cells = []
            for tool in ("loom", "c", "gensim"):
                r = recs.get((tool, cfg))
                cells.append(n(words / r["wall_s"]) if r else "–")
            if any(c != "–" for c in cells):
                rows.append([f"word2vec {W2V_SHORT[cfg]}: corpus words/s, whole run"] + cells + ["–", "–"])
            acc = []
            for tool in ("loom", "c", "gensim"):
                r = recs.get((tool, cfg))
                a = ((r or {}).get("quality") or {}).get("analogy_accuracy")
                acc.append(f"{100 * a['median']:.2f}%" if a else "–")
            if any(c != "–" for c in acc):
                rows.append(["… analogy accuracy (questions-words, top 30k)"] + acc + ["–", "–"])
    loom_speed = loom_lstm_speed(folder)
    base = os.path.join(folder, "lstm-baselines")
    for _, conf, key, text in LSTM_CONFIGS:
        if conf in loom_speed:
            tf, pt = lstm_baseline(base, "tf", key), lstm_baseline(base, "torch", key)
            rows.append([f"char-LSTM, {text}: steps/s", sig(loom_speed[conf]["stepsPerSecond"]), "–", "–",
                         sig(statistics.median(tf)) if tf else "–", sig(statistics.median(pt)) if pt else "–"])
        if conf == "course (B 64, H 64, T 10)":
            q = lstm_quality_table(folder)
            if q:
                _, steps, loom, tfq = q
                mean = lambda d: f"{statistics.mean(v[0] for v in d.values()):.3f}" if d else "–"
                rows.append([f"… validation perplexity after {steps} steps, mean of {len(loom)} seeds", mean(loom),
                             "–", "–", mean(tfq), "–"])
    bp, lp = meta["tools"].get("baseline_packages", {}), meta["tools"].get("lstm_packages", {})
    header = ["workload", "Loom, CPU backend", "word2vec C", f"gensim {bp.get('gensim')}",
              f"TensorFlow {lp.get('tensorflow')}", f"PyTorch {lp.get('torch')}"]
    out = [f"On {m['cores']} cores of an {m['cpu']}, {meta['date'][:10]}, commit `{(meta['loom']['commit'] or '?')[:7]}`, "
           f"2 threads for every tool, all in one run of `Benchmarks/reproduce.sh` (files: "
           f"[`{rel(folder)}`]({rel(folder)}); every figure with its range and method in "
           f"[`Benchmarks/RESULTS.md`](Benchmarks/RESULTS.md)). word2vec: the first "
           f"{n(summary['corpus_words']) if summary else '–'} words of `prose8.txt`, 1 epoch, dimension 128.", "",
           table(header, rows)]
    loom_t = maybe(os.path.join(folder, "tsne-loom.json")) or []
    base_t = maybe(os.path.join(folder, "tsne-baselines.json")) or []
    if loom_t and base_t:
        cell = lambda r, k: f"{r['seconds']:.2f} s, KL {r[k]:.3f}" if r else "–"
        find = lambda rows, **kv: next((r for r in rows if all(r.get(k) == v for k, v in kv.items())
                                        and r.get("iterations", 1)), None)
        sizes = sorted({r["n"] for r in base_t})
        out += ["", "t-SNE of the first N word vectors, seconds and final KL divergence (1000 iterations and "
                "the same settings for every tool but the last column, openTSNE with its own defaults):", "",
                table(["N", "Loom exact, CPU backend", "Loom Barnes-Hut", "scikit-learn Barnes-Hut",
                       "openTSNE Barnes-Hut", "openTSNE, its defaults"],
                      [[n(N), cell(find(loom_t, points=N, method="exact", backend="cpu"), "divergence"),
                        cell(find(loom_t, points=N, method="barnes-hut"), "divergence"),
                        cell(find(base_t, n=N, tool="scikit-learn barnes_hut"), "kl"),
                        cell(find(base_t, n=N, tool="openTSNE bh"), "kl"),
                        cell(find(base_t, n=N, tool="openTSNE defaults"), "kl")] for N in sizes])]
    ops = maybe(os.path.join(folder, "ops.json"))
    h = maybe(os.path.join(H100, "ops.json"))
    if ops:
        local = {(r["routine"], r["backend"]): r for r in ops}
        gpu = {(r["routine"], r["backend"]): r for r in (h or [])}
        pick = ["gemm 1024x1024x1024", "gemm 128x50000x128 (B^T)", "gather 8192 rows of 50000x128",
                "lstm gates fwd+bwd B=64 H=64", "sampled softmax B=128 S=64 V=50000 D=128"]
        out += ["", f"Engine ops (`loom-bench ops`): this machine, and the NVIDIA H100 run of {H100_DATE} "
                f"(commit `{H100_COMMIT}`, [`Benchmarks/results/h100/ops.json`](Benchmarks/results/h100/ops.json)):", "",
                table(["routine", f"CPU backend, {m['cores']} cores", "OpenBLAS direct", "PoCL (OpenCL on this CPU)",
                       "NVIDIA H100 via OpenCL"],
                      [[p, op_cell(local.get((p, "cpu"))), op_cell(local.get((p, "openblas-direct"))),
                        op_cell(local.get((p, "opencl:0:0"))), op_cell(gpu.get((p, "opencl:0:0")))] for p in pick])]
    if os.path.exists(os.path.join(H100, "word2vec.txt")) and os.path.exists(os.path.join(H100, "lstm.json")):
        w = {(r["configuration"], r["backend"]): r for r in parse_text_table(os.path.join(H100, "word2vec.txt"))}
        l = {(r["configuration"], r["backend"]): r for r in load(os.path.join(H100, "lstm.json"))}
        g = lambda k: w.get((k, "opencl:0:0"))
        out += ["", f"On the H100 ({H100_DATE}, commit `{H100_COMMIT}`, training loops only, "
                f"[`Benchmarks/results/h100/`](Benchmarks/results/h100)): word2vec skip-gram window 5 negative 5 "
                f"{n(float(g('word2vec skip-gram (window 5, negative 5)')['words/s']))} words/s, CBOW "
                f"{n(float(g('word2vec CBOW (window 5, negative 5)')['words/s']))}, the course's sampled softmax "
                f"{n(float(g('course skip-gram (window 1, sampled 64)')['words/s']))}; the course LSTM "
                f"{sig(l[('course (B 64, H 64, T 10)', 'opencl:0:0')]['stepsPerSecond'])} steps/s, 512 units × 10 "
                f"unrollings {sig(l[('large10 (B 128, H 512, T 10)', 'opencl:0:0')]['stepsPerSecond'])} steps/s."]
    return "\n".join(out)


# --- sequence to sequence -------------------------------------------------------------------------

S2S_TASKS = [("reverse-words", "word mirroring (prose8 windows)"), ("g2p", "grapheme → phoneme (CMUdict)"),
             ("translation", "German → English (Ding pairs)")]


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def s2s_loom(task_dir):
    """Loom's run of one task: the last report, the last validation, the eval records."""
    log = jsonl(os.path.join(task_dir, "loom-train.jsonl"))
    reports = [r for r in log if "examples_per_sec" in r]
    valids = [r for r in log if "valid_exact" in r]
    return {"report": reports[-1] if reports else None, "valid": valids[-1] if valids else None,
            "beam": maybe(os.path.join(task_dir, "loom-eval.json")),
            "greedy": maybe(os.path.join(task_dir, "loom-eval-greedy.json")),
            "last": maybe(os.path.join(task_dir, "loom-eval-last.json"))}


def rows_first(l):
    """The row that carries the training rate: the first one shown."""
    return "Loom, beam 4, last checkpoint" if l["last"] else "Loom, beam 4"


def s2s_rows(folder):
    rows = []
    for task, title in S2S_TASKS:
        d = os.path.join(folder, task)
        if not os.path.exists(os.path.join(d, "loom-train.jsonl")):
            continue
        l, t = s2s_loom(d), maybe(os.path.join(d, "torch.json"))
        minutes = l["report"]["elapsed"] / 60 if l["report"] else None
        units = ((l["beam"] or {}).get("model") or {}).get("units", "")
        if task == "translation" and units:
            title = title[:-1] + (", characters)" if units.startswith("char") else f", {units.split('→')[0]} units)")
        best = " (best validation chrF)" if l["last"] else ""
        for name, e in [("Loom, beam 4, last checkpoint", l["last"]), (f"Loom, beam 4{best}", l["beam"]),
                        (f"Loom, greedy{best}", l["greedy"])]:
            if e and e.get("groups"):
                # The headline exact match is that of the windows like the training ones.
                g = e["groups"]
                rows.append([title, name, n(minutes, 1), n(l["report"]["examples_per_sec"]) if name == rows_first(l) else "",
                             f"{pct(g[0]['exact'])} ({g[1]['name'].split(',')[0]}: {pct(g[1]['exact'])})",
                             n(e["chrf"], 1), n(e["bleu"], 1), "–", "–"])
            elif e:
                rows.append([title, name, n(minutes, 1), n(l["report"]["examples_per_sec"]) if name == rows_first(l) else "",
                             pct(e["exact"]), n(e["chrf"], 1), n(e["bleu"], 1),
                             pct(e["wer"]) if task == "g2p" else "–", pct(e["per"]) if task == "g2p" else "–"])
        if t:
            g = t.get("groups") or []
            exact = (f"{pct(g[0]['exact'])} ({g[1]['name'].split(',')[0]}: {pct(g[1]['exact'])})" if len(g) >= 2
                     else pct(t["exact"]))
            rows.append([title, f"PyTorch {t['torch'].split('+')[0]}, greedy", n(t["train_seconds"] / 60, 1),
                         n(t["pairs_per_sec"]), exact, n(t["chrf"], 1), n(t["bleu"], 1),
                         pct(t["wer"]) if task == "g2p" else "–", pct(t["per"]) if task == "g2p" else "–"])
    return rows


def s2s_table(folder):
    header = ["task", "tool, decoding", "training minutes", "training pairs/s", "exact match", "chrF", "BLEU",
              "WER", "PER"]
    # Word mirroring: the test windows like the training ones, and those longer than any seen.
    return table(header, s2s_rows(folder))


def s2s_examples(folder, task, count=4):
    e = maybe(os.path.join(folder, task, "loom-eval.json"))
    if not e:
        return ""
    lines = [f"- `{x['source']}` → `{x['output']}`" + ("" if x["output"] == x["reference"] else f" (reference: `{x['reference']}`)")
             for x in e["examples"][:count]]
    return "\n".join(lines)


def s2s_block(folder, readme=False):
    meta = maybe(os.path.join(folder, "machine.json"))
    out = []
    if meta:
        out.append(f"On {meta['cores']} cores of an {meta['cpu']}, {meta['date']}, Loom commit `{meta['commit'][:7]}`"
                   f"{' with uncommitted changes' if meta.get('uncommitted') else ''}; PyTorch {meta['torch']}, "
                   f"sacrebleu {meta['sacrebleu']}.")
    out.append("Each task: Loom (`loom seq2seq train`, CPU backend, 2 threads) for its time budget, then the PyTorch "
               "baseline (`Benchmarks/baselines/seq2seq/seq2seq_torch.py`: the same model — embedding 64, "
               "LSTM 256 encoder read both ways and decoder, Luong general attention — the same Adam schedule, "
               "batches and pairs files) for the same budget, one after the other; both scored on the task's test "
               "pairs against every reference (chrF and BLEU as sacrebleu computes them). Loom's training pairs/s is its "
               "whole run's, with a validation every 1000 steps inside it (the baseline validates never); "
               "`loom-bench seq2seq` has the training steps alone. Files: "
               f"[`{rel(folder)}`]({rel(folder) if readme else os.path.relpath(folder, HERE)}).")
    out.append(s2s_table(folder))
    bench = maybe(os.path.join(folder, "bench.json"))
    if bench and not readme:
        out.append("`loom-bench seq2seq` (training steps alone over a run's batches, no dropout, and decoding of test "
                   "sources; untrained weights; word units for translation):")
        out.append(table(["task", "attention", "encoders", "backend", "training pairs/s", "greedy sequences/s",
                          "beam 4 sequences/s"],
                         [[r["task"], r["attention"], "both directions" if r.get("bidirectional") else "forward",
                           r["backend"], n(r["trainingPairsPerSecond"]),
                           n(r["greedySequencesPerSecond"]), n(r["beamSequencesPerSecond"], 1)] for r in bench]))
    refactor = os.path.join(folder, "lstm-refactor")
    if os.path.isdir(refactor) and not readme:
        rows = []
        for when in ["before", "after"]:
            for f in sorted(x for x in os.listdir(refactor) if f"-{when}-" in x):
                for r in load(os.path.join(refactor, f)):
                    rows.append([when, f, r["configuration"], sig(r["stepsPerSecond"]), n(r["finalLoss"], 4)])
        out.append("The character LSTM rebuilt on the layers (`loom-bench lstm --devices cpu --configs course,large10 "
                   "--steps 1000`, twice before the change and twice after, back to back): the same losses to the "
                   "last digit, speed within this machine's run-to-run spread.")
        out.append(table(["", "file", "configuration", "steps/s", "loss after the timed steps"], rows,
                         ["---", "---", "---", "--:", "--:"]))
    for task, title in S2S_TASKS:
        ex = s2s_examples(folder, task)
        if ex:
            out.append(f"Examples, {title} (Loom, beam 4, the first test pairs):\n\n{ex}")
    return "\n\n".join(out)


def caption_block(folder, readme=False):
    """The captioning tables from a folder written by Benchmarks/baselines/caption/run_caption.sh."""
    out = []
    budgets = sorted((d for d in os.listdir(folder) if re.fullmatch(r"\d+(\.\d+)?min", d)
                      and os.path.isdir(os.path.join(folder, d))), key=lambda d: float(d[:-3]))
    rows = []
    for d in budgets:
        path = os.path.join(folder, d)
        log = jsonl(os.path.join(path, "loom-train.jsonl")) if os.path.exists(os.path.join(path, "loom-train.jsonl")) else []
        reports = [r for r in log if "examples_per_sec" in r]
        minutes = reports[-1]["elapsed"] / 60 if reports else None
        rate = n(reports[-1]["examples_per_sec"]) if reports else ""
        for name, e in [("Loom, beam 3", maybe(os.path.join(path, "loom-eval.json"))),
                        ("Loom, greedy", maybe(os.path.join(path, "loom-eval-greedy.json")))]:
            if e:
                rows.append([d[:-3], name, n(minutes, 1), rate if name.endswith("3") else "", pct(e["exact"]), n(e["bleu"], 1)])
        t = maybe(os.path.join(path, "torch.json"))
        if t:
            rows.append([d[:-3], f"PyTorch {t['torch'].split('+')[0]}, greedy", n(t["train_seconds"] / 60, 1),
                         n(t["images_per_sec"]), pct(t["exact"]), n(t["bleu"], 1)])
    out.append("Each budget: Loom (`loom caption train`, CPU backend, 2 threads, the defaults: CNN 32-64-64 on 56×56 → "
               "LSTM 256, embedding 64, Adam 0.002 halved every 1500 steps, batch 64) for the budget, scored on the 1,000 "
               "test scenes (made only from Fashion-MNIST's test photos), then the PyTorch baseline "
               "(`Benchmarks/baselines/caption/caption_torch.py`, the same model, optimiser and scenes) for the same "
               "budget. Exact match: the caption equals the reference; BLEU-4 as sacrebleu computes it. Loom's "
               "images/s is its whole run's (validation every 500 steps inside it). Files: "
               f"[`{rel(folder)}`]({rel(folder) if readme else os.path.relpath(folder, HERE)}).")
    out.append(table(["minutes", "tool, decoding", "training minutes", "training images/s", "exact match", "BLEU-4"], rows))
    bench = maybe(os.path.join(folder, "bench.json"))
    if bench and not readme:
        out.append("`loom-bench caption` (training steps alone; decoding of 256 scenes, at most 12 words):")
        out.append(table(["backend", "training images/s", "greedy images/s", "beam 3 images/s"],
                         [[r["backend"], n(r["trainingImagesPerSecond"]), n(r["greedyImagesPerSecond"]),
                           n(r["beamImagesPerSecond"], 1)] for r in bench]))
    for d in budgets[-1:]:
        e = maybe(os.path.join(folder, d, "loom-eval.json"))
        if e:
            out.append(f"Examples (Loom, {d[:-3]} minutes, beam 3, the first test scenes):\n\n" + "\n".join(
                f"- `{x['image']}`: `{x['output']}`" + ("" if x["output"] == x["reference"] else f" (reference: `{x['reference']}`)")
                for x in e["examples"][:4]))
    return "\n\n".join(out)


def replace_block(path, name, body):
    text = open(path).read()
    begin, end = f"<!-- generated: {name} -->", f"<!-- end generated: {name} -->"
    if begin not in text or end not in text:
        sys.exit(f"make_tables: {rel(path)} has no block '{name}' ({begin} … {end})")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    note = f"<!-- made by Benchmarks/make_tables.py; edit the script, not this block -->"
    new = f"{head}{begin}\n{note}\n\n{body}\n\n{end}{tail}"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="a results folder written by Benchmarks/reproduce.sh")
    p.add_argument("--seq2seq", metavar="DIR", help="also the sequence-to-sequence tables from a folder written by "
                                                    "Benchmarks/baselines/seq2seq/run_seq2seq.sh")
    p.add_argument("--caption", metavar="DIR", help="also the captioning tables from a folder written by "
                                                    "Benchmarks/baselines/caption/run_caption.sh")
    p.add_argument("--write", action="store_true", help="replace the generated blocks of RESULTS.md and README.md")
    args = p.parse_args()
    folder = os.path.abspath(args.folder)
    if not os.path.exists(os.path.join(folder, "machine.json")):
        sys.exit(f"make_tables: {folder} has no machine.json: not a folder written by Benchmarks/reproduce.sh")
    blocks = {"local": local_block(folder), "h100": h100_block(), "readme-summary": readme_block(folder)}
    if args.seq2seq:
        s2s = os.path.abspath(args.seq2seq)
        blocks["seq2seq"] = s2s_block(s2s)
        blocks["readme-seq2seq"] = s2s_block(s2s, readme=True)
    if args.caption:
        cap = os.path.abspath(args.caption)
        blocks["caption"] = caption_block(cap)
        blocks["readme-caption"] = caption_block(cap, readme=True)
    if args.write:
        if args.caption:
            replace_block(os.path.join(HERE, "RESULTS.md"), "caption", blocks["caption"])
            replace_block(os.path.join(REPO, "README.md"), "readme-caption", blocks["readme-caption"])
        if args.seq2seq:
            replace_block(os.path.join(HERE, "RESULTS.md"), "seq2seq", blocks["seq2seq"])
            replace_block(os.path.join(REPO, "README.md"), "readme-seq2seq", blocks["readme-seq2seq"])
        replace_block(os.path.join(HERE, "RESULTS.md"), "local", blocks["local"])
        replace_block(os.path.join(HERE, "RESULTS.md"), "h100", blocks["h100"])
        replace_block(os.path.join(REPO, "README.md"), "readme-summary", blocks["readme-summary"])
        print(f"make_tables: wrote the blocks of Benchmarks/RESULTS.md and README.md from {rel(folder)}")
    else:
        for name, body in blocks.items():
            print(f"===== {name} =====\n{body}\n")


if __name__ == "__main__":
    main()
