#!/usr/bin/python3
"""Converts the T5 text encoder of a MusicGen checkpoint (text_encoder.shared.weight,
text_encoder.encoder.*), or a bare T5 checkpoint (shared.weight, encoder.*), with its
config.json (MusicGen's, whose "text_encoder" holds T5's, or T5's own) to the GGUF file
Soundstar's ggml T5 encoder reads (src/models/ggml/T5Encoder.cpp).

    t5_to_gguf.py pytorch_model.bin config.json t5.gguf [--type f32|f16|q8_0]

The decoder half of a T5 checkpoint is left out. --type quantizes the projection matrices whose
rows are a multiple of 32 long; the embedding, norms and relative position biases stay f32.
The tokenizer stays in its own file (spiece.model), read by libsentencepiece.
Needs python3-torch and numpy.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encodec_to_gguf import GGML_F16, GGML_F32, GGML_Q8_0, write_gguf  # noqa: E402


def fail(msg):
    sys.exit(f"t5_to_gguf: {msg}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("config")
    ap.add_argument("output")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0"], default="f32")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    cfg = cfg.get("text_encoder", cfg)
    if a.checkpoint.endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except ImportError:
            fail("reading .safetensors needs python3-safetensors; or pass pytorch_model.bin")
        sd = load_file(a.checkpoint)
    else:
        sd = torch.load(a.checkpoint, map_location="cpu")
        sd = sd.get("state_dict", sd)
    if any(k.startswith("text_encoder.") for k in sd):
        sd = {k[len("text_encoder."):]: v for k, v in sd.items() if k.startswith("text_encoder.")}
    if "shared.weight" not in sd:
        fail(f"{a.checkpoint} holds no shared.weight (or text_encoder.shared.weight): not a T5 checkpoint")
    gated = bool(cfg.get("is_gated_act", str(cfg.get("feed_forward_proj", "relu")).startswith("gated")))
    act = str(cfg.get("feed_forward_proj", "relu")).replace("gated-", "")
    if act not in ("relu", "gelu", "gelu_new") or (act == "relu") == gated:
        fail(f"feed_forward_proj {cfg.get('feed_forward_proj')!r}: this port runs relu (plain) and gated-gelu")
    if abs(float(cfg.get("layer_norm_epsilon", 1e-6)) - 1e-6) > 1e-12:
        fail(f"layer_norm_epsilon is {cfg.get('layer_norm_epsilon')}; this port uses T5's 1e-6")
    gtype = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0}[a.type]
    tensors = [("shared.weight", sd["shared.weight"].float().numpy(), GGML_F32)]
    for key in sorted(k for k in sd if k.startswith("encoder.") and k != "encoder.embed_tokens.weight"):
        name = key[len("encoder."):]
        arr = sd[key].float().numpy()
        typ = GGML_F32
        if arr.ndim == 2 and "relative_attention_bias" not in name and gtype != GGML_F32 and (gtype == GGML_F16 or arr.shape[1] % 32 == 0):
            typ = gtype
        tensors.append((name, arr, typ))
    meta = {
        "general.architecture": "t5encoder",
        "general.name": str(cfg.get("_name_or_path", "t5")),
        "t5.vocab_size": int(sd["shared.weight"].shape[0]),
        "t5.d_model": int(cfg["d_model"]),
        "t5.d_kv": int(cfg["d_kv"]),
        "t5.num_heads": int(cfg["num_heads"]),
        "t5.d_ff": int(cfg["d_ff"]),
        "t5.num_layers": int(cfg["num_layers"]),
        "t5.relative_attention_num_buckets": int(cfg.get("relative_attention_num_buckets", 32)),
        "t5.relative_attention_max_distance": int(cfg.get("relative_attention_max_distance", 128)),
        "t5.gated_gelu": gated,
    }
    write_gguf(a.output, meta, tensors)
    print(f"{a.output}: {len(tensors)} tensors, {a.type}")


if __name__ == "__main__":
    main()
