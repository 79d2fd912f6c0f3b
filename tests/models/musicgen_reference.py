#!/usr/bin/python3
"""A small MusicGen language model written by hand in PyTorch (Hugging Face's
MusicgenForConditionalGeneration layout and arithmetic: summed codebook embeddings, sinusoidal
positions [cos, sin], pre-norm decoder layers with self-attention, cross-attention to the
projected text states and a GELU FFN, a final LayerNorm, one head per codebook; the delay
pattern; classifier-free guidance with zeroed text states for the unconditional half), with random
weights, for checking Soundstar's ggml port. It runs greedy decoding (top-k 1) without a KV
cache (the whole sequence each step, float64) and writes into --out:
musicgen.pt (state dict), config.json, encoder.f32 (text tokens x text hidden, the T5 states),
codes.i32 (codebooks x frames, delay removed), logits.f32 (steps x codebooks x vocab, guided)
and meta.json (steps, frames, smallest top-1 margin).

    musicgen_reference.py --out DIR [--size tiny|odd] [--frames N] [--guidance G] [--seed N]
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

SIZES = {
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, ffn_dim=128, num_codebooks=4, vocab_size=48,
                 text_hidden=32, text_tokens=7),
    # no enc_to_dec_proj (text hidden == hidden), one layer, 2 codebooks, 8 heads of 4
    "odd": dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=8, ffn_dim=96, num_codebooks=2, vocab_size=40,
                text_hidden=32, text_tokens=3),
    # fits the tiny EnCodec (2 codebooks of 64) and the tiny T5 (32 wide) in a whole musicgen folder
    "pipeline": dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=4, ffn_dim=64, num_codebooks=2, vocab_size=64,
                     text_hidden=32, text_tokens=3, max_positions=2048),
    # facebook/musicgen-small's decoder (about 420 M parameters with its heads); benchmarks only (--no-reference)
    "small": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096, num_codebooks=4, vocab_size=2048,
                  text_hidden=768, text_tokens=12, max_positions=2048),
}


def random_state(c, gen, dtype=torch.float64):
    d, f, t = c["hidden_size"], c["ffn_dim"], c["text_hidden"]

    def lin(o, i):
        return torch.randn(o, i, generator=gen, dtype=dtype) / math.sqrt(i)

    sd = {}
    p = "decoder.model.decoder."
    for k in range(c["num_codebooks"]):
        sd[f"{p}embed_tokens.{k}.weight"] = torch.randn(c["vocab_size"] + 1, d, generator=gen, dtype=dtype)
    for i in range(c["num_hidden_layers"]):
        lp = f"{p}layers.{i}."
        for att in ("self_attn", "encoder_attn"):
            for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
                sd[f"{lp}{att}.{proj}.weight"] = lin(d, d)
        for norm in ("self_attn_layer_norm", "encoder_attn_layer_norm", "final_layer_norm"):
            sd[f"{lp}{norm}.weight"] = 1 + 0.1 * torch.randn(d, generator=gen, dtype=dtype)
            sd[f"{lp}{norm}.bias"] = 0.1 * torch.randn(d, generator=gen, dtype=dtype)
        sd[f"{lp}fc1.weight"] = lin(f, d)
        sd[f"{lp}fc2.weight"] = lin(d, f)
    sd[f"{p}layer_norm.weight"] = 1 + 0.1 * torch.randn(d, generator=gen, dtype=dtype)
    sd[f"{p}layer_norm.bias"] = 0.1 * torch.randn(d, generator=gen, dtype=dtype)
    for k in range(c["num_codebooks"]):
        sd[f"decoder.lm_heads.{k}.weight"] = 3 * lin(c["vocab_size"], d)
    if t != d:
        sd["enc_to_dec_proj.weight"] = lin(d, t)
        sd["enc_to_dec_proj.bias"] = 0.1 * torch.randn(d, generator=gen, dtype=dtype)
    return sd


def sinusoids(n, dim):
    half = dim // 2
    emb = math.log(10000) / (half - 1)
    emb = torch.exp(torch.arange(half, dtype=torch.float64) * -emb)
    emb = torch.arange(n, dtype=torch.float64).unsqueeze(1) * emb.unsqueeze(0)
    return torch.cat([torch.cos(emb), torch.sin(emb)], dim=1)


def attention(sd, pre, x, kv, heads, causal):
    b, n, d = x.shape
    hd = d // heads
    q = (x @ sd[pre + "q_proj.weight"].T) * hd ** -0.5
    k = kv @ sd[pre + "k_proj.weight"].T
    v = kv @ sd[pre + "v_proj.weight"].T
    split = lambda z: z.view(b, -1, heads, hd).transpose(1, 2)
    s = split(q) @ split(k).transpose(-1, -2)
    if causal:
        s = s.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
    o = (s.softmax(-1) @ split(v)).transpose(1, 2).reshape(b, n, d)
    return o @ sd[pre + "out_proj.weight"].T


def lm_forward(sd, c, ids, enc):
    """ids: batch x codebooks x seq; enc: batch x text tokens x hidden (projected). Logits of the last position."""
    p = "decoder.model.decoder."
    d = c["hidden_size"]
    ln = lambda z, name: F.layer_norm(z, (d,), sd[name + ".weight"], sd[name + ".bias"], 1e-5)
    x = sum(F.embedding(ids[:, k], sd[f"{p}embed_tokens.{k}.weight"]) for k in range(c["num_codebooks"]))
    x = x + sinusoids(ids.shape[-1], d).unsqueeze(0)
    for i in range(c["num_hidden_layers"]):
        lp = f"{p}layers.{i}."
        h = ln(x, lp + "self_attn_layer_norm")
        x = x + attention(sd, lp + "self_attn.", h, h, c["num_attention_heads"], True)
        h = ln(x, lp + "encoder_attn_layer_norm")
        x = x + attention(sd, lp + "encoder_attn.", h, enc, c["num_attention_heads"], False)
        h = ln(x, lp + "final_layer_norm")
        x = x + F.gelu(h @ sd[lp + "fc1.weight"].T) @ sd[lp + "fc2.weight"].T
    x = ln(x, p + "layer_norm")[:, -1]
    return torch.stack([x @ sd[f"decoder.lm_heads.{k}.weight"].T for k in range(c["num_codebooks"])], dim=1)


def generate(sd, c, text, frames, guidance):
    """Greedy decoding over the delay pattern; returns codes (K x frames), guided logits per step, smallest margin."""
    K, V = c["num_codebooks"], c["vocab_size"]
    pad = V
    enc = text.unsqueeze(0)
    if "enc_to_dec_proj.weight" in sd:
        enc = enc @ sd["enc_to_dec_proj.weight"].T + sd["enc_to_dec_proj.bias"]
    cfg = guidance != 1.0
    if cfg:  # the unconditional half: text states zeroed (Hugging Face multiplies by a zero mask after the projection)
        enc = torch.cat([enc, torch.zeros_like(enc)], dim=0)
    steps = frames + K - 1
    seq = torch.full((K, 1), pad, dtype=torch.long)
    all_logits, margin = [], float("inf")
    for j in range(1, steps + 1):
        ids = seq.unsqueeze(0).expand(enc.shape[0], -1, -1)
        logits = lm_forward(sd, c, ids, enc)
        if cfg:
            logits = logits[1] + (logits[0] - logits[1]) * guidance
        else:
            logits = logits[0]
        all_logits.append(logits.clone())
        top = logits.topk(2, dim=-1)
        nxt = top.indices[:, 0].clone()
        for k in range(K):
            if k < j <= frames + k:
                margin = min(margin, float(top.values[k, 0] - top.values[k, 1]))
            else:
                nxt[k] = pad
        seq = torch.cat([seq, nxt.unsqueeze(1)], dim=1)
    codes = torch.stack([seq[k, k + 1: k + 1 + frames] for k in range(K)])
    assert (codes != pad).all()
    return codes, torch.stack(all_logits), margin


def write_config(out, c):
    config = {
        "model_type": "musicgen",
        "decoder": {"hidden_size": c["hidden_size"], "num_hidden_layers": c["num_hidden_layers"], "num_attention_heads": c["num_attention_heads"],
                    "ffn_dim": c["ffn_dim"], "num_codebooks": c["num_codebooks"], "vocab_size": c["vocab_size"], "pad_token_id": c["vocab_size"],
                    "max_position_embeddings": c.get("max_positions", 256), "activation_function": "gelu", "scale_embedding": False},
        "text_encoder": {"d_model": c["text_hidden"]},
    }
    json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--no-reference", action="store_true", help="write the checkpoint and config only, float32 (benchmarks)")
    a = ap.parse_args()
    c = SIZES[a.size]
    os.makedirs(a.out, exist_ok=True)
    if a.no_reference:
        sd = random_state(c, torch.Generator().manual_seed(a.seed), torch.float32)
        torch.save(sd, os.path.join(a.out, "musicgen.pt"))
        write_config(a.out, c)
        return
    # A seed whose greedy path has no near tie (a float32 port must make the same choices).
    for seed in range(a.seed, a.seed + 50):
        gen = torch.Generator().manual_seed(seed)
        sd = random_state(c, gen)
        text = torch.randn(c["text_tokens"], c["text_hidden"], generator=gen, dtype=torch.float64)
        codes, logits, margin = generate(sd, c, text, a.frames, a.guidance)
        if margin > 2e-3:
            break
    torch.save({k: v.float() for k, v in sd.items()}, os.path.join(a.out, "musicgen.pt"))
    write_config(a.out, c)
    text.float().numpy().tofile(os.path.join(a.out, "encoder.f32"))
    codes.numpy().astype(np.int32).tofile(os.path.join(a.out, "codes.i32"))
    logits.float().numpy().tofile(os.path.join(a.out, "logits.f32"))
    json.dump({"steps": logits.shape[0], "frames": a.frames, "margin": margin, "seed": seed, "text_tokens": c["text_tokens"]},
              open(os.path.join(a.out, "meta.json"), "w"))
    print(f"{a.out}: {a.frames} frames, {logits.shape[0]} steps, smallest top-1 margin {margin:.3g} (seed {seed})")


if __name__ == "__main__":
    main()
