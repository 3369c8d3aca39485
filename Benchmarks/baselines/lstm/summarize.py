#!/usr/bin/env python3
"""Summarises the JSON files written by lstm_tf.py / lstm_torch.py --json.
Usage: summarize.py DIR_OR_FILES...   (prints speed medians and validation curves as Markdown)"""
import glob
import json
import os
import statistics
import sys
from collections import defaultdict

files = []
for a in sys.argv[1:] or ["results"]:
    files += sorted(glob.glob(os.path.join(a, "**", "*.json"), recursive=True)) if os.path.isdir(a) else [a]
runs = [dict(json.load(open(f)), file=f) for f in files]

speed = defaultdict(list)
for r in runs:
    if r.get("timing_mode"):
        speed[(r["framework"], r["version"], r["hidden"], r["batch"], r["unrollings"], r["threads"])].append(r)
if speed:
    print("| framework | hidden | batch | T | threads | steps/s (median) | runs | 1-min load avg at end |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for k, rs in sorted(speed.items()):
        v = [r["steps_per_s"] for r in rs]
        print("| %s %s | %d | %d | %d | %d | %.1f | %s | %s |" % (
            k[0], k[1], k[2], k[3], k[4], k[5], statistics.median(v),
            ", ".join("%.1f" % x for x in v), ", ".join("%.2f" % r["loadavg"][0] for r in rs)))
    print()
qual = [r for r in runs if not r.get("timing_mode")]
if qual:
    steps = sorted({c["step"] for r in qual for c in r["validation_curve"]})
    print("| run | " + " | ".join(str(s) for s in steps) + " | steps/s |")
    print("|---|" + "---:|" * (len(steps) + 1))
    for r in qual:
        c = {x["step"]: x["perplexity"] for x in r["validation_curve"]}
        print("| %s | " % os.path.basename(r["file"])[:-5] + " | ".join("%.3f" % c[s] if s in c else "" for s in steps)
              + " | %.1f |" % r["steps_per_s"])
