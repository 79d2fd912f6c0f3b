#!/usr/bin/python3
"""Converts the language model of a MusicGen checkpoint (PyTorch state dict in Hugging Face's
MusicgenForConditionalGeneration layout: decoder.model.decoder.*, decoder.lm_heads.*,
enc_to_dec_proj.*; or a bare MusicgenForCausalLM: model.decoder.*, lm_heads.*) and its
config.json to the GGUF file Soundstar's ggml MusicGen LM reads (src/models/ggml/MusicgenLm.cpp).

    musicgen_to_gguf.py pytorch_model.bin config.json musicgen-lm.gguf [--type f32|f16|q8_0|q4_0]

The text encoder (text_encoder.*) and EnCodec (audio_encoder.*) are left out: convert them with
t5_to_gguf.py and encodec_to_gguf.py. --type quantizes the 2-D projection and head matrices
whose rows are a multiple of 32 long; embeddings, norms and biases stay f32.
Needs python3-torch and numpy.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encodec_to_gguf import GGML_F16, GGML_F32, GGML_Q4_0, GGML_Q8_0, write_gguf  # noqa: E402


def fail(msg):
    sys.exit(f"musicgen_to_gguf: {msg}")


def lm_tensors(sd):
    """Our names (the decoder's own, without prefixes) -> tensors."""
    out = {}
    for key, value in sd.items():
        for prefix in ("decoder.model.decoder.", "model.decoder."):
            if key.startswith(prefix):
                out[key[len(prefix):]] = value
                break
        else:
            for prefix in ("decoder.lm_heads.", "lm_heads."):
                if key.startswith(prefix):
                    out["lm_heads." + key[len(prefix):]] = value
                    break
            else:
                if key.startswith("enc_to_dec_proj."):
                    out[key] = value
    out.pop("embed_positions.weights", None)  # sinusoidal: computed, not stored
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("config")
    ap.add_argument("output")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0", "q4_0"], default="f32")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    dec = cfg.get("decoder", cfg)
    text_hidden = int(cfg.get("text_encoder", {}).get("d_model", dec["hidden_size"]))
    if a.checkpoint.endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except ImportError:
            fail("reading .safetensors needs python3-safetensors; or pass pytorch_model.bin")
        sd = load_file(a.checkpoint)
    else:
        sd = torch.load(a.checkpoint, map_location="cpu")
        sd = sd.get("state_dict", sd)
    t = lm_tensors(sd)
    if "embed_tokens.0.weight" not in t:
        fail(f"{a.checkpoint} holds no decoder.model.decoder.embed_tokens.0.weight: not a MusicGen checkpoint")
    if dec.get("scale_embedding", False):
        fail("scale_embedding is true: not MusicGen's decoder as published")
    if dec.get("activation_function", "gelu") != "gelu":
        fail(f"activation_function is {dec.get('activation_function')}; this port runs gelu")
    if int(dec.get("audio_channels", 1)) != 1:
        fail("audio_channels is 2 (stereo MusicGen): not supported yet")
    gtype = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0, "q4_0": GGML_Q4_0}[a.type]
    tensors = []
    for name in sorted(t):
        arr = t[name].float().numpy()
        typ = GGML_F32
        quantizable = arr.ndim == 2 and not name.startswith("embed_tokens.")
        if quantizable and gtype != GGML_F32 and (gtype == GGML_F16 or arr.shape[1] % 32 == 0):
            typ = gtype
        tensors.append((name, arr, typ))
    meta = {
        "general.architecture": "musicgen",
        "general.name": str(cfg.get("_name_or_path", "musicgen")),
        "musicgen.hidden_size": int(dec["hidden_size"]),
        "musicgen.num_hidden_layers": int(dec["num_hidden_layers"]),
        "musicgen.num_attention_heads": int(dec["num_attention_heads"]),
        "musicgen.ffn_dim": int(dec["ffn_dim"]),
        "musicgen.num_codebooks": int(dec["num_codebooks"]),
        "musicgen.vocab_size": int(dec["vocab_size"]),
        "musicgen.max_position_embeddings": int(dec.get("max_position_embeddings", 2048)),
        "musicgen.text_hidden_size": text_hidden,
    }
    write_gguf(a.output, meta, tensors)
    print(f"{a.output}: {len(tensors)} tensors, {a.type}")


if __name__ == "__main__":
    main()
