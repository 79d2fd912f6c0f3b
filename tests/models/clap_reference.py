#!/usr/bin/python3
"""AudioLDM's text encoder written by hand in PyTorch, for checking Soundstar's ggml port: CLAP's
text tower (transformers' ClapTextModelWithProjection: RoBERTa embeddings with positions counted
from pad_token_id + 1 and token type 0, post-LN BERT layers with exact GELU, pooler = tanh(dense)
of the first token, projection linear -> ReLU -> linear) and the L2 normalisation diffusers'
AudioLDMPipeline applies; and RoBERTa's byte-level BPE tokenizer (GPT-2's pre-tokenizer pattern
as a Python regular expression built from unicodedata's classes, byte-to-unicode, merges by rank,
<s> ... </s>). Random weights and a tiny vocabulary learned here by BPE on a few sentences.

Writes into --out the folder layout of cvssp/audioldm-s-full-v2: text_encoder/config.json,
text_encoder/pytorch_model.bin (transformers' names, with the position_ids/token_type_ids
buffers), tokenizer/vocab.json, tokenizer/merges.txt, tokenizer/tokenizer_config.json; and
expected.json: for each test text its ids (cut to the model's max tokens, and uncut) and its normalised embedding (a float64 run).

    clap_reference.py --out DIR [--size tiny|deep|base] [--seed N] [--safetensors] [--no-reference]

--safetensors writes text_encoder/model.safetensors (float32, by hand) instead of the .bin.
"""
import argparse
import json
import math
import os
import re
import struct
import sys
import unicodedata

import torch

SIZES = {
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=40,
                 projection_dim=24, layer_norm_eps=1e-12, model_max_length=32),
    "deep": dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=3, intermediate_size=96, max_position_embeddings=70,
                 projection_dim=40, layer_norm_eps=1e-5, model_max_length=512),
    # AudioLDM's published sizes (cvssp/audioldm-s-full-v2), for bench/bench_clap.cpp: the vocabulary
    # is filled to 50265 tokens with unused ones.
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, max_position_embeddings=514,
                 projection_dim=512, layer_norm_eps=1e-12, model_max_length=512, vocab_size=50265),
}

TEXTS = [
    "",
    "warm analog pads with a slow deep bass, dusty drums and a bright bell melody over rain",
    "Hello, World!! It's 3:45pm -- don't stop; they'll've gone. I'M HERE & you're 'd",
    "naïve café déjà vu — Ünïcödé façade, São Paulo",
    "🎹🥁 emoji beats 🎶! 👍🏽 ok",
    "numbers 1234567 and ½ ² ٣٤ 10,000.50",
    "tabs\tand\nnewlines   multiple   spaces  \n\n end",
    "  leading and trailing  ",
    "CJK 音楽を作る, 한국어 음악",
    "'s's 'S 'RE 'll're x'ye",
    " ".join(["ambient techno with lush strings and a rolling bassline"] * 8),
    "x\u00a0y \u2003z\u3000\u3000w \u0085\u2028end",
    "tab\t\tx  \t y   ",
    "don'T 'RE'Ve e\u0301 combining $100.00 & 50%!!!???...",
    "\U0001F3F3\uFE0F\u200D\U0001F308 flag zwj, \u00c5\u00c6 \u01c5 \u2167\u216b \u2460\u2461",
]

CORPUS = ["warm analog pads with a slow deep bass", "dusty drums and a bright bell melody over rain", "ambient techno house with lush strings",
          "a rolling bassline and jazz piano", "the melody is bright and the drums are warm", "don't stop the music, it's great"]


def class_ranges(pred):
    out, start = [], None
    for cp in range(0x110000):
        ok = pred(chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, 0x10FFFF))
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in out)


LETTERS = class_ranges(lambda c: unicodedata.category(c).startswith("L"))
NUMBERS = class_ranges(lambda c: unicodedata.category(c).startswith("N"))
SPACES = class_ranges(lambda c: c.isspace())
PATTERN = re.compile(rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{LETTERS}]+| ?[{NUMBERS}]+| ?[^{SPACES}{LETTERS}{NUMBERS}]+|[{SPACES}]+(?![^{SPACES}])|[{SPACES}]+")


def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


BYTE_CHARS = bytes_to_unicode()


def symbols(piece):
    return [BYTE_CHARS[b] for b in piece.encode("utf-8")]


def bpe(word, ranks):
    word = list(word)
    while len(word) > 1:
        pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
        best = min(pairs, key=lambda p: ranks.get(p, math.inf))
        if best not in ranks:
            break
        merged, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                merged.append(word[i] + word[i + 1])
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = merged
    return word


def tokenize(text, vocab, ranks, max_tokens):
    ids = [vocab["<s>"]]
    for piece in PATTERN.findall(text):
        ids += [vocab.get(s, vocab["<unk>"]) for s in bpe(symbols(piece), ranks)]
    return ids[:max_tokens - 1] + [vocab["</s>"]]


def train_tokenizer(merges_wanted, vocab_size=None):
    """RoBERTa's vocabulary layout: <s> <pad> </s> <unk>, the byte symbols, the merged tokens, <mask>."""
    words = {}
    for line in CORPUS:
        for piece in PATTERN.findall(line):
            words[tuple(symbols(piece))] = words.get(tuple(symbols(piece)), 0) + 1
    merges = []
    for _ in range(merges_wanted):
        counts = {}
        for w, n in words.items():
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + n
        if not counts:
            break
        best = max(sorted(counts), key=lambda p: counts[p])
        merges.append(best)
        new = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + n
        words = new
    tokens = ["<s>", "<pad>", "</s>", "<unk>"] + [BYTE_CHARS[b] for b in range(256)]
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    while vocab_size and len(tokens) < vocab_size - 1:
        tokens.append(f"<unused{len(tokens)}>")
    tokens.append("<mask>")
    return {t: i for i, t in enumerate(tokens)}, merges


def random_state(c, vocab_size, gen):
    d, ff, p = c["hidden_size"], c["intermediate_size"], c["projection_dim"]
    rnd = lambda *shape, s=1.0: s * torch.randn(*shape, generator=gen, dtype=torch.float64)
    sd = {}

    def linear(name, o, i):
        sd[name + ".weight"] = rnd(o, i) / math.sqrt(i)
        sd[name + ".bias"] = rnd(o, s=0.1)

    def norm(name, n):
        sd[name + ".weight"] = 1 + rnd(n, s=0.1)
        sd[name + ".bias"] = rnd(n, s=0.1)

    e = "text_model.embeddings."
    sd[e + "word_embeddings.weight"] = rnd(vocab_size, d)
    sd[e + "position_embeddings.weight"] = rnd(c["max_position_embeddings"], d, s=0.5)
    sd[e + "token_type_embeddings.weight"] = rnd(1, d, s=0.5)
    norm(e + "LayerNorm", d)
    for i in range(c["num_hidden_layers"]):
        l = f"text_model.encoder.layer.{i}."
        for m in ("query", "key", "value"):
            linear(l + "attention.self." + m, d, d)
        linear(l + "attention.output.dense", d, d)
        norm(l + "attention.output.LayerNorm", d)
        linear(l + "intermediate.dense", ff, d)
        linear(l + "output.dense", d, ff)
        norm(l + "output.LayerNorm", d)
    linear("text_model.pooler.dense", d, d)
    linear("text_projection.linear1", p, d)
    linear("text_projection.linear2", p, p)
    return sd


def layer_norm(x, sd, name, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], eps)


def lin(x, sd, name):
    return x @ sd[name + ".weight"].T + sd[name + ".bias"]


def embed(sd, c, ids, pad=1):
    ids = torch.tensor(ids)
    mask = (ids != pad).long()
    positions = torch.cumsum(mask, 0) * mask + pad  # transformers' create_position_ids_from_input_ids
    e = "text_model.embeddings."
    x = sd[e + "word_embeddings.weight"][ids] + sd[e + "position_embeddings.weight"][positions] + sd[e + "token_type_embeddings.weight"][0]
    x = layer_norm(x, sd, e + "LayerNorm", c["layer_norm_eps"])
    n, H = len(ids), c["num_attention_heads"]
    dh = c["hidden_size"] // H
    for i in range(c["num_hidden_layers"]):
        l = f"text_model.encoder.layer.{i}."
        split = lambda z: z.view(n, H, dh).transpose(0, 1)
        q, k, v = (split(lin(x, sd, l + "attention.self." + m)) for m in ("query", "key", "value"))
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(dh)).softmax(-1) @ v
        x = layer_norm(x + lin(a.transpose(0, 1).reshape(n, H * dh), sd, l + "attention.output.dense"), sd, l + "attention.output.LayerNorm", c["layer_norm_eps"])
        h = torch.nn.functional.gelu(lin(x, sd, l + "intermediate.dense"))  # exact (erf), transformers' "gelu"
        x = layer_norm(x + lin(h, sd, l + "output.dense"), sd, l + "output.LayerNorm", c["layer_norm_eps"])
    pooled = torch.tanh(lin(x[0], sd, "text_model.pooler.dense"))
    out = lin(torch.relu(lin(pooled, sd, "text_projection.linear1")), sd, "text_projection.linear2")
    return torch.nn.functional.normalize(out, dim=-1)


def save_safetensors(state, path):
    """The safetensors layout: u64 header length, a JSON header (dtype, shape, data offsets), the data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        t = state[name]
        dtype, raw = ("F32", t.float().numpy().tobytes()) if t.is_floating_point() else ("I64", t.long().numpy().tobytes())
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * ((-len(head)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--safetensors", action="store_true")
    ap.add_argument("--no-reference", action="store_true", help="only the model folder (no expected.json)")
    a = ap.parse_args()
    c = SIZES[a.size]
    vocab, merges = train_tokenizer(120, c.get("vocab_size"))
    ranks = {m: i for i, m in enumerate(merges)}
    max_tokens = min(c["model_max_length"], c["max_position_embeddings"] - 2)
    sd = random_state(c, len(vocab), torch.Generator().manual_seed(a.seed))
    expected = []
    for text in [] if a.no_reference else TEXTS:
        ids = tokenize(text, vocab, ranks, max_tokens)
        expected.append({"text": text, "ids": ids, "ids_uncut": tokenize(text, vocab, ranks, 4096), "embedding": embed(sd, c, ids).tolist()})
    te, tk = os.path.join(a.out, "text_encoder"), os.path.join(a.out, "tokenizer")
    os.makedirs(te, exist_ok=True)
    os.makedirs(tk, exist_ok=True)
    state = {k: v.float() for k, v in sd.items()}
    state["text_model.embeddings.position_ids"] = torch.arange(c["max_position_embeddings"])[None]
    state["text_model.embeddings.token_type_ids"] = torch.zeros(1, c["max_position_embeddings"], dtype=torch.long)
    if a.safetensors:
        save_safetensors(state, os.path.join(te, "model.safetensors"))
    else:
        torch.save(state, os.path.join(te, "pytorch_model.bin"))
    cfg = {k: v for k, v in c.items() if k not in ("model_max_length", "vocab_size")}
    cfg.update(architectures=["ClapTextModelWithProjection"], model_type="clap_text_model", hidden_act="gelu", projection_hidden_act="relu",
               position_embedding_type="absolute", type_vocab_size=1, vocab_size=len(vocab), pad_token_id=1, bos_token_id=0, eos_token_id=2)
    json.dump(cfg, open(os.path.join(te, "config.json"), "w"), indent=1)
    json.dump(vocab, open(os.path.join(tk, "vocab.json"), "w", encoding="utf-8"), ensure_ascii=False)
    with open(os.path.join(tk, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{x} {y}\n" for x, y in merges))
    json.dump({"model_max_length": c["model_max_length"], "tokenizer_class": "RobertaTokenizer"}, open(os.path.join(tk, "tokenizer_config.json"), "w"))
    if not a.no_reference:
        json.dump({"max_tokens": max_tokens, "cases": expected}, open(os.path.join(a.out, "expected.json"), "w", encoding="utf-8"), ensure_ascii=False)
    print(f"{a.out}: {len(vocab)} tokens, {len(merges)} merges, {len(TEXTS)} texts")


if __name__ == "__main__":
    sys.exit(main())
