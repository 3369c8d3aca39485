#!/usr/bin/env python3
"""PyTorch baseline for `loom caption train`: the same model on the same scenes, for a time budget.

The model is Loom's: three conv 3x3 (padding 1) -> ReLU -> max-pool 2x2 blocks (32, 64, 64 filters)
on 56x56 grey images in [0, 1]; the flattened features give each decoder layer its initial state
(h0 = tanh(F W_h + b_h), c0 = F W_c + b_c); an embedding (64) feeds an LSTM (256) whose outputs a
linear layer turns into next-word logits. Adam, global-norm clipping at 5, staircase decay, teacher
forcing, padding ignored; greedy decoding for the test captions. Prints one JSON object.

    caption_torch.py --train scenes/train --test scenes/test --minutes 5 --threads 2
"""
import argparse, json, os, random, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
import sacrebleu

UNK, BOS, EOS = 0, 1, 2


def load(folder, size):
    names, caps = [], {}
    for line in open(os.path.join(folder, "captions.tsv"), encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        name, cap = line.split("\t", 1)
        if name not in caps:
            names.append(name)
            caps[name] = []
        caps[name].append(cap.strip())
    pixels = np.stack([np.asarray(Image.open(os.path.join(folder, n)).convert("L").resize((size, size)), dtype=np.float32) / 255
                       for n in names])
    return names, torch.from_numpy(pixels)[:, None], [caps[n] for n in names]  # (N, 1, S, S)


class Captioner(nn.Module):
    def __init__(self, vocab, size, channels, hidden, emb, layers):
        super().__init__()
        convs, c = [], 1
        for f in channels:
            convs.append(nn.Conv2d(c, f, 3, padding=1))
            c = f
        self.convs = nn.ModuleList(convs)
        side = size >> len(channels)
        feat = side * side * channels[-1]
        self.h0 = nn.ModuleList([nn.Linear(feat, hidden) for _ in range(layers)])
        self.c0 = nn.ModuleList([nn.Linear(feat, hidden) for _ in range(layers)])
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, layers)
        self.out = nn.Linear(hidden, vocab)

    def encode(self, x):
        for conv in self.convs:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        f = x.flatten(1)
        return (torch.stack([torch.tanh(l(f)) for l in self.h0]), torch.stack([l(f) for l in self.c0]))

    def forward(self, inp, state):
        out, state = self.lstm(self.emb(inp), state)
        return self.out(out), state


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--size", type=int, default=56)
    p.add_argument("--channels", default="32,64,64")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embedding", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--decay", type=float, default=0.5)
    p.add_argument("--decay-every", type=int, default=1500)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    _, train_x, train_caps = load(a.train, a.size)
    test_names, test_x, test_caps = load(a.test, a.size)
    counts = {}
    for cs in train_caps:
        for c in cs:
            for w in c.split():
                counts[w] = counts.get(w, 0) + 1
    symbols = ["<unk>", "<s>", "</s>"] + sorted(counts, key=lambda w: -counts[w])
    index = {s: i for i, s in enumerate(symbols)}
    examples = [(i, [index.get(w, UNK) for w in c.split()]) for i, cs in enumerate(train_caps) for c in cs]
    channels = [int(c) for c in a.channels.split(",")]
    model = Captioner(len(symbols), a.size, channels, a.hidden, a.embedding, a.layers)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    rng = random.Random(a.seed)
    order, steps, seen = [], 0, 0
    losses = []
    start = time.time()
    while time.time() - start < a.minutes * 60:
        if len(order) < a.batch_size:
            order = list(range(len(examples)))
            rng.shuffle(order)
        batch = [examples[order.pop()] for _ in range(a.batch_size)]
        t = max(len(c) for _, c in batch) + 1
        inp = torch.full((t, len(batch)), EOS, dtype=torch.long)
        lab = torch.full((t, len(batch)), -1, dtype=torch.long)
        for k, (_, c) in enumerate(batch):
            inp[: len(c) + 1, k] = torch.tensor([BOS] + c)
            lab[: len(c) + 1, k] = torch.tensor(c + [EOS])
        for g in opt.param_groups:
            g["lr"] = a.lr * a.decay ** (steps // a.decay_every) if a.decay_every else a.lr
        logits, _ = model(inp, model.encode(train_x[[i for i, _ in batch]]))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), lab.reshape(-1), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        steps += 1
        seen += len(batch)
        losses.append(loss.item())
    train_seconds = time.time() - start

    model.eval()
    outputs = []
    t0 = time.time()
    with torch.no_grad():
        for s in range(0, len(test_x), 64):
            x = test_x[s:s + 64]
            state = model.encode(x)
            sym = torch.full((1, len(x)), BOS, dtype=torch.long)
            outs, done = [[] for _ in range(len(x))], [False] * len(x)
            for _ in range(41):
                logits, state = model(sym, state)
                nxt = logits[0].argmax(-1)
                for k in range(len(x)):
                    if not done[k]:
                        if nxt[k].item() == EOS:
                            done[k] = True
                        else:
                            outs[k].append(symbols[nxt[k].item()])
                sym = nxt[None]
                if all(done):
                    break
            outputs += [" ".join(o) for o in outs]
    decode_seconds = time.time() - t0
    exact = sum(o in refs for o, refs in zip(outputs, test_caps)) / len(outputs)
    width = max(len(r) for r in test_caps)
    refs = [[r[i] if i < len(r) else r[0] for r in test_caps] for i in range(width)]
    bleu = sacrebleu.corpus_bleu(outputs, refs).score
    print(json.dumps({
        "tool": "pytorch", "torch": torch.__version__, "command": " ".join(sys.argv), "threads": a.threads,
        "channels": channels, "hidden": a.hidden, "embedding": a.embedding, "batch": a.batch_size, "lr": a.lr,
        "train_seconds": train_seconds, "steps": steps, "images_per_sec": seen / train_seconds,
        "final_loss": float(np.mean(losses[-100:])) if losses else None, "test_images": len(outputs),
        "decode_seconds": decode_seconds, "exact": exact, "bleu": bleu,
        "examples": [{"image": n, "reference": r[0], "output": o} for n, r, o in list(zip(test_names, test_caps, outputs))[:5]],
    }, indent=1))


if __name__ == "__main__":
    main()
