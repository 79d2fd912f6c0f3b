#!/usr/bin/python3
"""A small T5 encoder written by hand in PyTorch (Hugging Face's T5EncoderModel layout and
arithmetic: token embeddings, per block RMS-normed self-attention without scaling plus the first
block's bidirectional relative position buckets, RMS-normed FFN, plain ReLU or gated GELU (tanh),
a final RMS norm), with random weights, for checking Soundstar's ggml port. MusicGen stores it
under text_encoder.* (we write that prefix). Reads token ids, writes into --out: t5.pt
(state dict), config.json and states.f32 (tokens x d_model, float32 of a float64 run).

    t5_reference.py --out DIR --ids 5,9,1 [--size tiny|gated] [--seed N]
"""
import argparse
import json
import math
import os

import torch

SIZES = {
    "tiny": dict(vocab_size=120, d_model=32, d_kv=8, num_heads=4, d_ff=64, num_layers=2, relative_attention_num_buckets=32,
                 relative_attention_max_distance=128, feed_forward_proj="relu"),
    "gated": dict(vocab_size=120, d_model=48, d_kv=16, num_heads=2, d_ff=80, num_layers=3, relative_attention_num_buckets=16,
                  relative_attention_max_distance=20, feed_forward_proj="gated-gelu"),
}


def bucket(rel, num_buckets, max_distance):
    """T5's bidirectional relative position bucket (key position - query position)."""
    num_buckets //= 2
    out = (rel > 0).long() * num_buckets
    rel = rel.abs()
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return out + torch.where(rel < max_exact, rel, large)


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def encode(sd, c, ids):
    p = "text_encoder.encoder."
    n, H, dk = len(ids), c["num_heads"], c["d_kv"]
    x = sd["text_encoder.shared.weight"][torch.tensor(ids)]
    pos = torch.arange(n)
    buckets = bucket(pos[None, :] - pos[:, None], c["relative_attention_num_buckets"], c["relative_attention_max_distance"])
    bias = sd[p + "block.0.layer.0.SelfAttention.relative_attention_bias.weight"][buckets].permute(2, 0, 1)  # heads, q, k
    for i in range(c["num_layers"]):
        a = f"{p}block.{i}.layer.0."
        h = rms(x, sd[a + "layer_norm.weight"])
        split = lambda z: z.view(n, H, dk).transpose(0, 1)
        q, k, v = (split(h @ sd[f"{a}SelfAttention.{m}.weight"].T) for m in "qkv")
        s = (q @ k.transpose(-1, -2) + bias).softmax(-1)
        x = x + (s @ v).transpose(0, 1).reshape(n, H * dk) @ sd[a + "SelfAttention.o.weight"].T
        f = f"{p}block.{i}.layer.1."
        h = rms(x, sd[f + "layer_norm.weight"])
        if c["feed_forward_proj"] == "gated-gelu":
            h = gelu_new(h @ sd[f + "DenseReluDense.wi_0.weight"].T) * (h @ sd[f + "DenseReluDense.wi_1.weight"].T)
        else:
            h = torch.relu(h @ sd[f + "DenseReluDense.wi.weight"].T)
        x = x + h @ sd[f + "DenseReluDense.wo.weight"].T
    return rms(x, sd[p + "final_layer_norm.weight"])


def random_state(c, gen):
    d, inner, ff = c["d_model"], c["num_heads"] * c["d_kv"], c["d_ff"]
    lin = lambda o, i: torch.randn(o, i, generator=gen, dtype=torch.float64) / math.sqrt(i)
    norm = lambda: 1 + 0.1 * torch.randn(d, generator=gen, dtype=torch.float64)
    p = "text_encoder.encoder."
    sd = {"text_encoder.shared.weight": torch.randn(c["vocab_size"], d, generator=gen, dtype=torch.float64)}
    sd[p + "embed_tokens.weight"] = sd["text_encoder.shared.weight"]  # tied, as in published checkpoints
    sd[p + "block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = torch.randn(
        c["relative_attention_num_buckets"], c["num_heads"], generator=gen, dtype=torch.float64)
    for i in range(c["num_layers"]):
        a = f"{p}block.{i}.layer.0."
        for m in "qkv":
            sd[f"{a}SelfAttention.{m}.weight"] = lin(inner, d)
        sd[a + "SelfAttention.o.weight"] = lin(d, inner)
        sd[a + "layer_norm.weight"] = norm()
        f = f"{p}block.{i}.layer.1."
        if c["feed_forward_proj"] == "gated-gelu":
            sd[f + "DenseReluDense.wi_0.weight"] = lin(ff, d)
            sd[f + "DenseReluDense.wi_1.weight"] = lin(ff, d)
        else:
            sd[f + "DenseReluDense.wi.weight"] = lin(ff, d)
        sd[f + "DenseReluDense.wo.weight"] = lin(d, ff)
        sd[f + "layer_norm.weight"] = norm()
    sd[p + "final_layer_norm.weight"] = norm()
    return sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--ids", required=True, help="comma-separated token ids")
    ap.add_argument("--size", default="tiny", choices=sorted(SIZES))
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    c = SIZES[a.size]
    ids = [int(t) for t in a.ids.split(",")]
    os.makedirs(a.out, exist_ok=True)
    sd = random_state(c, torch.Generator().manual_seed(a.seed))
    states = encode(sd, c, ids)
    torch.save({k: v.float() for k, v in sd.items()}, os.path.join(a.out, "t5.pt"))
    cfg = {"model_type": "musicgen", "text_encoder": dict(c, model_type="t5", layer_norm_epsilon=1e-6, is_gated_act=c["feed_forward_proj"] == "gated-gelu")}
    json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"), indent=1)
    states.float().numpy().tofile(os.path.join(a.out, "states.f32"))
    print(f"{a.out}: {len(ids)} tokens -> {tuple(states.shape)}")


if __name__ == "__main__":
    main()
