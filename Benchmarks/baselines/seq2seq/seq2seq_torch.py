#!/usr/bin/env python3
"""PyTorch baseline for `loom seq2seq`: the same encoder–decoder (embedding 64, LSTM encoder and
decoder of the same width, optional Luong global attention with `general` scores and the
attentional output tanh(W_c c + W_h h)), the same optimiser (Adam, clipping by global norm), the
same bucketed batches and the same pairs files (written by `loom seq2seq pairs`), trained for a
time budget; then greedy decoding of the test pairs, scored with sacrebleu (chrF, BLEU) and exact
match / WER / PER against every reference. Prints one JSON record.

    python seq2seq_torch.py --train train.tsv --test test.tsv --units char --minutes 5
"""
import argparse, json, math, random, re, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

UNK, BOS, EOS = 0, 1, 2


def tokens(text, units):
    if units == "char":
        return list(text)
    if units == "symbol":
        return text.split()
    # Word units, as Loom's Tokens.split: runs of letters/digits with inner ' or -, other marks alone.
    out, cur = [], ""
    for c in text:
        if c.isalnum() or (c in "'-" and cur):
            cur += c
        else:
            if cur:
                out.append(cur); cur = ""
            if not c.isspace():
                out.append(c)
    if cur:
        out.append(cur)
    return out


def join(toks, units):
    if units == "char":
        return "".join(toks)
    if units == "symbol":
        return " ".join(toks)
    closing = {".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "'s", "'"}
    opening = {"(", "[", "{", "¿", "¡"}
    out, prev = "", None
    for t in toks:
        if prev is not None and t not in closing and prev not in opening:
            out += " "
        out += t
        prev = t
    return out


def read_pairs(path):
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = [x.strip() for x in line.split("\t")]
            pairs.append((fields[0], [r for r in fields[1:] if r]))
    return pairs


def vocab(seqs, max_size):
    counts, order = {}, []
    for s in seqs:
        for t in s:
            if t not in counts:
                order.append(t)
            counts[t] = counts.get(t, 0) + 1
    ranked = sorted(order, key=lambda t: -counts[t])  # stable: ties by first appearance
    symbols = ["<unk>", "<s>", "</s>"] + ranked[: max_size - 3]
    return symbols, {s: i for i, s in enumerate(symbols)}


class Seq2Seq(nn.Module):
    def __init__(self, vs, vt, emb, hidden, layers, attention, bidirectional, dropout):
        super().__init__()
        # Dropout where Loom has it: the embeddings and every LSTM layer's output.
        self.drop = nn.Dropout(dropout)
        self.src_emb = nn.Embedding(vs, emb)
        self.tgt_emb = nn.Embedding(vt, emb)
        self.layers, self.hidden, self.bidirectional = layers, hidden, bidirectional
        # Bidirectional as Loom's: a second encoder reads each source backwards; outputs and final
        # states of the two directions are summed. (nn.LSTM's layers above the first would see
        # both directions concatenated, so the reverse encoder is a separate stack.)
        inner = dropout if layers > 1 else 0.0
        self.encoder = nn.LSTM(emb, hidden, layers, dropout=inner)
        self.reverse = nn.LSTM(emb, hidden, layers, dropout=inner) if bidirectional else None
        self.decoder = nn.LSTM(emb, hidden, layers, dropout=inner)
        self.attention = attention
        if attention == "general":
            self.wa = nn.Linear(hidden, hidden, bias=False)
            self.wc = nn.Linear(hidden, hidden, bias=False)
            self.wh = nn.Linear(hidden, hidden, bias=False)
        self.out = nn.Linear(hidden, vt)

    def run(self, lstm, x, lengths, total):
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), enforce_sorted=False)
        out, state = lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, total_length=total)
        return self.drop(out), state

    def encode(self, src, lengths):
        x = self.drop(self.src_emb(src))
        out, (h, c) = self.run(self.encoder, x, lengths, src.shape[0])
        if self.reverse is not None:
            # Reverse each source within its length (padding stays), encode, realign.
            s = src.shape[0]
            t = torch.arange(s)[:, None]
            idx = torch.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (S, B)
            xr = x.gather(0, idx[:, :, None].expand_as(x))
            outr, (hr, cr) = self.run(self.reverse, xr, lengths, s)
            out = out + outr.gather(0, idx[:, :, None].expand_as(outr))
            h, c = h + hr, c + cr
        return out, (h, c)  # out (S, B, H)

    def decode(self, inp, state, enc, mask):
        out, state = self.decoder(self.drop(self.tgt_emb(inp)), state)  # (T, B, H)
        out = self.drop(out)
        if self.attention == "general":
            keys = self.wa(enc)  # (S, B, H)
            scores = torch.einsum("tbh,sbh->bts", out, keys).masked_fill(~mask[:, None, :], float("-inf"))
            weights = scores.softmax(-1)
            context = torch.einsum("bts,sbh->tbh", weights, enc)
            out = torch.tanh(self.wc(context) + self.wh(out))
        return self.out(out), state


def batches(n_pairs, lengths, batch, rng):
    order = list(range(n_pairs))
    rng.shuffle(order)
    pool = 32 * batch
    out = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i:i + pool], key=lambda k: lengths[k])
        out += [chunk[j:j + batch] for j in range(0, len(chunk), batch)]
    rng.shuffle(out)
    return out


def pad(seqs, value):
    n = max(len(s) for s in seqs)
    return torch.tensor([s + [value] * (n - len(s)) for s in seqs], dtype=torch.long).t()  # (T, B)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--units", default="char", choices=["char", "word", "symbol"])
    p.add_argument("--target-units", default=None, choices=["char", "word", "symbol"])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embedding", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--attention", default="general", choices=["none", "general"])
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--decay", type=float, default=0.5)
    p.add_argument("--decay-every", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--clip", type=float, default=5)
    p.add_argument("--minutes", type=float, default=5)
    p.add_argument("--max-vocab", type=int, default=30000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--limit-test", type=int, default=0)
    p.add_argument("--examples", type=int, default=3)
    p.add_argument("--groups", default="", help="NAME:COUNT,… consecutive parts of the test set scored alone too")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tu = a.target_units or a.units
    train, test = read_pairs(a.train), read_pairs(a.test)
    if a.limit_test:
        test = test[: a.limit_test]
    st = [tokens(s, a.units) for s, _ in train]
    tt = [tokens(r[0], tu) for _, r in train]
    ssym, sidx = vocab(st, a.max_vocab)
    tsym, tidx = vocab(tt, a.max_vocab)
    sx = [[sidx.get(t, UNK) for t in s] for s in st]
    ty = [[tidx.get(t, UNK) for t in s] for s in tt]
    model = Seq2Seq(len(ssym), len(tsym), a.embedding, a.hidden, a.layers, a.attention, a.bidirectional, a.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    rng = random.Random(a.seed)
    lengths = [(len(x), len(y)) for x, y in zip(sx, ty)]
    start = time.time()
    steps = pairs_done = 0
    loss_sum = loss_n = 0.0
    budget = a.minutes * 60
    epoch = []
    while time.time() - start < budget:
        if not epoch:
            epoch = batches(len(sx), lengths, a.batch_size, rng)
        idx = epoch.pop()
        src = pad([sx[k] for k in idx], 0)
        lens = torch.tensor([len(sx[k]) for k in idx])
        inp = pad([[BOS] + ty[k] for k in idx], EOS)
        lab = pad([ty[k] + [EOS] for k in idx], -1)
        mask = (torch.arange(src.shape[0])[None, :] < lens[:, None])
        enc, state = model.encode(src, lens)
        if a.decay_every:
            for g in opt.param_groups:
                g["lr"] = a.lr * a.decay ** (steps // a.decay_every)
        logits, _ = model.decode(inp, state, enc, mask)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), lab.reshape(-1), ignore_index=-1)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        steps += 1
        pairs_done += len(idx)
        loss_sum += loss.item(); loss_n += 1
    train_seconds = time.time() - start

    # Greedy decoding of the test sources, in batches of similar length.
    model.eval()
    outputs = [None] * len(test)
    t0 = time.time()
    with torch.no_grad():
        enc_ids = [[sidx.get(t, UNK) for t in tokens(s, a.units)] for s, _ in test]
        order = sorted(range(len(test)), key=lambda k: len(enc_ids[k]))
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            src = pad([enc_ids[k] for k in idx], 0)
            lens = torch.tensor([len(enc_ids[k]) for k in idx])
            mask = (torch.arange(src.shape[0])[None, :] < lens[:, None])
            enc, state = model.encode(src, lens)
            sym = torch.full((1, len(idx)), BOS, dtype=torch.long)
            outs = [[] for _ in idx]
            done = [False] * len(idx)
            limit = max(100, 2 * max(len(enc_ids[k]) for k in idx))
            for _ in range(limit + 1):
                logits, state = model.decode(sym, state, enc, mask)
                nxt = logits[0].argmax(-1)
                for j, v in enumerate(nxt.tolist()):
                    if not done[j]:
                        if v == EOS or len(outs[j]) >= limit:
                            done[j] = True
                        else:
                            outs[j].append(tsym[v] if v > 2 else "<unk>")
                if all(done):
                    break
                sym = nxt[None, :]
            for j, k in enumerate(idx):
                outputs[k] = join(outs[j], tu)
    decode_seconds = time.time() - t0

    import sacrebleu
    refs = [r for _, r in test]
    n_ref = max(len(r) for r in refs)
    streams = [[r[i] if i < len(r) else None for r in refs] for i in range(n_ref)]
    exact = sum(o in r for o, r in zip(outputs, refs))
    def ed(x, y):
        prev = list(range(len(y) + 1))
        for i in range(1, len(x) + 1):
            cur = [i] + [0] * len(y)
            for j in range(1, len(y) + 1):
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] != y[j - 1]))
            prev = cur
        return prev[-1]
    per_num = per_den = 0
    for o, r in zip(outputs, refs):
        best = min(((ed(o.split(), x.split()), len(x.split())) for x in r))
        per_num += best[0]; per_den += best[1]
    groups, start_ = [], 0
    for spec in filter(None, a.groups.split(";")):
        name, count = spec.rsplit(":", 1)
        part = range(start_, min(len(test), start_ + int(count)))
        start_ += int(count)
        hits = sum(outputs[k] in refs[k] for k in part)
        groups.append({"name": name, "count": len(part), "exact": hits / max(len(part), 1)})
    record = {
        "groups": groups,
        "tool": "pytorch", "torch": torch.__version__, "attention": a.attention, "bidirectional": a.bidirectional,
        "dropout": a.dropout, "hidden": a.hidden, "command": " ".join(sys.argv),
        "embedding": a.embedding, "batch": a.batch_size, "lr": a.lr, "threads": a.threads,
        "train_seconds": train_seconds, "steps": steps, "pairs_per_sec": pairs_done / train_seconds,
        "final_loss": loss_sum / max(loss_n, 1), "test_pairs": len(test), "decode_seconds": decode_seconds,
        "exact": exact / len(test), "wer": 1 - exact / len(test), "per": per_num / max(per_den, 1),
        "chrf": sacrebleu.corpus_chrf(outputs, streams).score, "bleu": sacrebleu.corpus_bleu(outputs, streams).score,
        "examples": [{"source": test[k][0], "reference": test[k][1][0], "output": outputs[k]} for k in range(min(a.examples, len(test)))],
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
