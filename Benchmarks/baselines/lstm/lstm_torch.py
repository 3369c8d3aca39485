#!/usr/bin/env python3
"""The course's character LSTM (Udacity 6_lstm.ipynb) with PyTorch's nn.LSTM, on the CPU.

Same data pipeline, loss and schedule as lstm_tf.py: 27 symbols (' ' = 0, a-z = 1..26, anything
else -> 0), the notebook's BatchGenerator (B cursors at b*floor(N/B); each batch is the last column
of the previous one plus T new ones), one-hot inputs, nn.LSTM (1 layer) + nn.Linear, mean softmax
cross-entropy over the T*B predictions (time-major, as the notebook's tf.concat), SGD lr 10 x0.1
every 5000 steps (StepLR), clip_grad_norm_ 1.25, the (h, c) state carried and detached between
segments. nn.LSTM and nn.Linear keep PyTorch's default initialisation unless --init course.

Validation as the course computes it: batch 1, state reset to zero at the start and carried,
exp(mean -log p(next char)) over valid_size predictions, the last one wrapping to the first
character (the notebook's BatchGenerator(valid_text, 1, 1)). The first --valid-size characters of
--text are the validation slice.

Prints, at the end, one line in the format of `loom lstm train`:
    validation perplexity: X at step N (Y steps/s)
where N is the number of parameter updates done and Y the steps/s of the training loop alone
(batch generation, forward, backward, clip, update; the first 10 steps and the validation passes
are not counted).
"""
import argparse
import json
import os
import platform
import string
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

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


class CharLSTM(nn.Module):
    def __init__(self, hidden, init):
        super().__init__()
        self.lstm = nn.LSTM(VOCABULARY_SIZE, hidden, num_layers=1)
        self.out = nn.Linear(hidden, VOCABULARY_SIZE)
        if init == "course":
            # The notebook's truncated_normal(shape, -0.1, 0.1): mean -0.1, sd 0.1, cut at 2 sd; zero biases.
            with torch.no_grad():
                for p in (self.lstm.weight_ih_l0, self.lstm.weight_hh_l0, self.out.weight):
                    nn.init.trunc_normal_(p, mean=-0.1, std=0.1, a=-0.3, b=0.1)
                for p in (self.lstm.bias_ih_l0, self.lstm.bias_hh_l0, self.out.bias):
                    p.zero_()

    def forward(self, x, state):
        y, state = self.lstm(x, state)  # x: (T, B, V), time-major
        return self.out(y.reshape(-1, y.shape[-1])), state


def validation_perplexity(model, valid_text, valid_size, hidden):
    """Batch 1, one character at a time with the state carried from zero: the course's protocol.
    (Run as one sequence through nn.LSTM, which is the same computation.)"""
    n = len(valid_text)
    ids = [char2id(valid_text[i % n]) for i in range(valid_size + 1)]
    x = F.one_hot(torch.tensor(ids[:valid_size]), VOCABULARY_SIZE).float().unsqueeze(1)  # (N, 1, V)
    state = (torch.zeros(1, 1, hidden), torch.zeros(1, 1, hidden))
    model.eval()
    with torch.no_grad():
        logits, _ = model(x, state)
        p = torch.softmax(logits, dim=1).double().numpy()
    model.train()
    target = np.array(ids[1:valid_size + 1])
    probs = p[np.arange(valid_size), target]
    probs[probs < 1e-10] = 1e-10  # the notebook's logprob clamp
    return float(np.exp(np.mean(-np.log(probs))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", required=True)
    ap.add_argument("--steps", type=int, default=7001)
    ap.add_argument("--valid-size", type=int, default=1000, help="first N characters are the validation slice")
    ap.add_argument("--eval-every", type=int, default=1000, help="0: only at the end")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (and interop threads)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--unrollings", type=int, default=10)
    ap.add_argument("--time-steps", type=int, default=0,
                    help="timing mode: 10 warm-up steps, then time N steps (overrides --steps)")
    ap.add_argument("--summary-every", type=int, default=100, help="print the mean loss every N steps (0: never)")
    ap.add_argument("--init", choices=["torch", "course"], default="torch",
                    help="torch: nn.LSTM/nn.Linear defaults; course: the notebook's truncated normal")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--limit-chars", type=int, default=0, help="read only the first N characters of --text")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass
    if args.seed is not None:
        torch.manual_seed(args.seed)

    warmup = 10
    timing = args.time_steps > 0
    num_steps = warmup + args.time_steps if timing else args.steps

    with open(args.text, "r", encoding="utf-8", errors="replace") as f:
        text = f.read(args.limit_chars) if args.limit_chars else f.read()
    valid_size = args.valid_size
    valid_text = text[:valid_size]
    train_text = text[valid_size:]
    print("text: %d characters; train %d, valid %d" % (len(text), len(train_text), len(valid_text)),
          file=sys.stderr)

    t0 = time.perf_counter()
    model = CharLSTM(args.hidden, args.init)
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5000, gamma=0.1)
    train_batches = BatchGenerator(train_text, args.batch, args.unrollings)
    state = (torch.zeros(1, args.batch, args.hidden), torch.zeros(1, args.batch, args.hidden))
    build_s = time.perf_counter() - t0
    T = args.unrollings

    curve, losses = [], []
    mean_loss = 0.0
    timed_s = 0.0
    timed_steps = 0
    loop_start = None
    step = 0
    while step < num_steps:
        t_step = time.perf_counter()
        if step == warmup:
            loop_start = t_step
        batches = train_batches.next()
        data = torch.from_numpy(np.stack(batches))            # (T+1, B, V) one-hot
        inputs = data[:T]
        labels = data[1:].reshape(-1, VOCABULARY_SIZE).argmax(dim=1)  # labels are inputs shifted by one
        logits, state = model(inputs, state)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.25)
        optimizer.step()
        scheduler.step()
        state = (state[0].detach(), state[1].detach())
        l = loss.item()
        if step >= warmup:
            timed_s += time.perf_counter() - t_step
            timed_steps += 1
        mean_loss += l
        step += 1
        if args.summary_every and step % args.summary_every == 0:
            mean_loss /= args.summary_every
            losses.append((step, float(mean_loss)))
            print("Average loss at step %d: %f" % (step, mean_loss), file=sys.stderr)
            mean_loss = 0.0
        last = step == num_steps
        if not timing and valid_size > 1 and ((args.eval_every > 0 and step % args.eval_every == 0) or last):
            ppl = validation_perplexity(model, valid_text, valid_size, args.hidden)
            curve.append((step, ppl))
            print("step %d: validation perplexity %.3f" % (step, ppl), file=sys.stderr)
    loop_wall = time.perf_counter() - loop_start if loop_start is not None else float("nan")
    if timing and valid_size > 1:
        curve.append((step, validation_perplexity(model, valid_text, valid_size, args.hidden)))
    steps_per_s = timed_steps / timed_s if timed_s > 0 else float("nan")
    final_ppl = curve[-1][1] if curve else float("nan")
    print("validation perplexity: %.3f at step %d (%.1f steps/s)" % (final_ppl, step, steps_per_s))
    if args.json:
        result = dict(
            framework="pytorch", version=torch.__version__, numpy=np.__version__, python=platform.python_version(),
            torch_parallel_info=torch.__config__.parallel_info(),
            text=os.path.abspath(args.text), text_chars=len(text), valid_size=valid_size,
            hidden=args.hidden, batch=args.batch, unrollings=args.unrollings, threads=args.threads,
            steps=step, timing_mode=timing, warmup_steps=warmup, timed_steps=timed_steps,
            steps_per_s=steps_per_s, train_seconds=timed_s,
            loop_wall_steps_per_s=(step - warmup) / loop_wall if loop_wall == loop_wall and step > warmup else None,
            setup_s=build_s, init=args.init, seed=args.seed,
            validation_perplexity=final_ppl, validation_curve=[dict(step=s, perplexity=p) for s, p in curve],
            mean_loss_curve=[dict(step=s, loss=x) for s, x in losses],
            loadavg=os.getloadavg(), machine=platform.machine(), cpus=os.cpu_count(),
        )
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
