"""The data side of the Udacity course's character LSTM (assignment 6_lstm.ipynb), shared by
lstm_tf.py and lstm_torch.py so both frameworks see exactly the same batches.

27 symbols: ' ' = 0, a-z = 1..26, anything else -> 0 (the notebook prints a warning for those).
`BatchGenerator` is the notebook's, unchanged except float32 batches (np.float is gone from NumPy):
B cursors at b*floor(N/B); each batch is the last column of the previous one plus T new ones.
"""
import json
import os
import platform
import string
import sys
import time

import numpy as np

VOCABULARY_SIZE = len(string.ascii_lowercase) + 1  # [a-z] + ' '
FIRST_LETTER = ord(string.ascii_lowercase[0])


def char2id(char):
    if char in string.ascii_lowercase:
        return ord(char) - FIRST_LETTER + 1
    return 0  # ' ' and every unexpected character


class BatchGenerator(object):
    """The notebook's generator (float32 one-hot batches)."""

    def __init__(self, text, batch_size, num_unrollings):
        self._text = text
        self._text_size = len(text)
        self._batch_size = batch_size
        self._num_unrollings = num_unrollings
        segment = self._text_size // batch_size
        self._cursor = [offset * segment for offset in range(batch_size)]
        self._last_batch = self._next_batch()

    def _next_batch(self):
        batch = np.zeros(shape=(self._batch_size, VOCABULARY_SIZE), dtype=np.float32)
        for b in range(self._batch_size):
            batch[b, char2id(self._text[self._cursor[b]])] = 1.0
            self._cursor[b] = (self._cursor[b] + 1) % self._text_size
        return batch

    def next(self):
        batches = [self._last_batch]
        for step in range(self._num_unrollings):
            batches.append(self._next_batch())
        self._last_batch = batches[-1]
        return batches


WARMUP_STEPS = 10


def add_common_arguments(ap):
    """The options both scripts take (see README.md)."""
    ap.add_argument("--text", required=True, help="text file (text8-style: lowercase letters and spaces)")
    ap.add_argument("--steps", type=int, default=7001)
    ap.add_argument("--valid-size", type=int, default=1000, help="first N characters are the validation slice")
    ap.add_argument("--eval-every", type=int, default=1000, help="0: only at the end")
    ap.add_argument("--threads", type=int, default=2, help="intra-op and inter-op threads")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--unrollings", type=int, default=10)
    ap.add_argument("--time-steps", type=int, default=0,
                    help="timing mode: %d warm-up steps, then time N steps (overrides --steps)" % WARMUP_STEPS)
    ap.add_argument("--summary-every", type=int, default=100, help="print the mean loss every N steps (0: never)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (the notebook sets none)")
    ap.add_argument("--limit-chars", type=int, default=0, help="read only the first N characters of --text")
    ap.add_argument("--json", help="write the figures to this file")


def load_text(args):
    """The text, then the notebook's split: the first --valid-size characters validate."""
    with open(args.text, "r", encoding="utf-8", errors="replace") as f:
        text = f.read(args.limit_chars) if args.limit_chars else f.read()
    unexpected = sum(1 for c in set(text) if c != " " and c not in string.ascii_lowercase)
    valid_text, train_text = text[:args.valid_size], text[args.valid_size:]
    print("text: %d characters (%d distinct unexpected characters mapped to ' '); train %d, valid %d"
          % (len(text), unexpected, len(train_text), len(valid_text)), file=sys.stderr)
    return text, train_text, valid_text


def train(args, train_text, step, validate):
    """The notebook's training loop around a framework's `step(batches) -> loss` and
    `validate() -> perplexity`: batches from `BatchGenerator`, the mean loss every --summary-every
    steps, validation every --eval-every steps and after the last. Only batch generation and
    `step` are timed, after WARMUP_STEPS steps. Prints the last line in `loom lstm train`'s format
    and returns the figures for the JSON record."""
    timing = args.time_steps > 0
    num_steps = WARMUP_STEPS + args.time_steps if timing else args.steps
    validating = args.valid_size > 1
    batches_of = BatchGenerator(train_text, args.batch, args.unrollings)
    curve, losses = [], []
    mean_loss, timed_s, timed_steps, loop_start, n = 0.0, 0.0, 0, None, 0
    while n < num_steps:
        t_step = time.perf_counter()
        if n == WARMUP_STEPS:
            loop_start = t_step
        loss = step(batches_of.next())
        if n >= WARMUP_STEPS:
            timed_s += time.perf_counter() - t_step
            timed_steps += 1
        mean_loss += loss
        n += 1
        if args.summary_every and n % args.summary_every == 0:
            mean_loss /= args.summary_every
            losses.append((n, float(mean_loss)))
            print("Average loss at step %d: %f" % (n, mean_loss), file=sys.stderr)
            mean_loss = 0.0
        if not timing and validating and ((args.eval_every > 0 and n % args.eval_every == 0) or n == num_steps):
            curve.append((n, validate()))
            print("step %d: validation perplexity %.3f" % curve[-1], file=sys.stderr)
    loop_wall = time.perf_counter() - loop_start if loop_start is not None else float("nan")
    if timing and validating:
        curve.append((n, validate()))
    steps_per_s = timed_steps / timed_s if timed_s > 0 else float("nan")
    final = curve[-1][1] if curve else float("nan")
    print("validation perplexity: %.3f at step %d (%.1f steps/s)" % (final, n, steps_per_s))
    return dict(
        steps=n, timing_mode=timing, warmup_steps=WARMUP_STEPS, timed_steps=timed_steps,
        steps_per_s=steps_per_s, train_seconds=timed_s,
        loop_wall_steps_per_s=(n - WARMUP_STEPS) / loop_wall if loop_wall == loop_wall and n > WARMUP_STEPS else None,
        validation_perplexity=final, validation_curve=[dict(step=s, perplexity=p) for s, p in curve],
        mean_loss_curve=[dict(step=s, loss=x) for s, x in losses],
    )


def write_json(args, text, figures, **framework):
    """The run's record: the framework's own fields, the settings, the figures, the machine."""
    if not args.json:
        return
    record = dict(framework, numpy=np.__version__, python=platform.python_version(),
                  text=os.path.abspath(args.text), text_chars=len(text), valid_size=args.valid_size,
                  hidden=args.hidden, batch=args.batch, unrollings=args.unrollings, threads=args.threads,
                  seed=args.seed, loadavg=os.getloadavg(), machine=platform.machine(), cpus=os.cpu_count(),
                  **figures)
    with open(args.json, "w") as f:
        json.dump(record, f, indent=1)
