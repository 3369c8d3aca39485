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
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_data import VOCABULARY_SIZE, add_common_arguments, char2id, load_text, train, write_json


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
    add_common_arguments(ap)
    ap.add_argument("--init", choices=["torch", "course"], default="torch",
                    help="torch: nn.LSTM/nn.Linear defaults; course: the notebook's truncated normal")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass
    if args.seed is not None:
        torch.manual_seed(args.seed)
    text, train_text, valid_text = load_text(args)

    t0 = time.perf_counter()
    model = CharLSTM(args.hidden, args.init)
    optimizer = torch.optim.SGD(model.parameters(), lr=10.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5000, gamma=0.1)
    state = (torch.zeros(1, args.batch, args.hidden), torch.zeros(1, args.batch, args.hidden))
    build_s = time.perf_counter() - t0
    T = args.unrollings

    def step(batches):
        nonlocal state
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
        return loss.item()

    figures = train(args, train_text, step,
                    lambda: validation_perplexity(model, valid_text, args.valid_size, args.hidden))
    write_json(args, text, figures, framework="pytorch", version=torch.__version__,
               torch_parallel_info=torch.__config__.parallel_info(), setup_s=build_s, init=args.init)


if __name__ == "__main__":
    main()
