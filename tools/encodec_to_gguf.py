#!/usr/bin/python3
"""Converts an EnCodec checkpoint (PyTorch state dict in Hugging Face's EncodecModel layout, or a
MusicGen checkpoint whose EnCodec sits under `audio_encoder.`) and its config.json to the GGUF
file Soundstar's ggml EnCodec decoder reads (src/models/ggml/EncodecDecoder.cpp).

    encodec_to_gguf.py pytorch_model.bin config.json encodec.gguf [--type f32|f16|q8_0] [--codebooks N]

Weight norm (weight_g / weight_v, or parametrizations.weight.original0/1) is folded into plain
weights; the two LSTM biases are summed; conv weights are stored 2-D so quantized blocks run along
rows: convs (out, in*kernel), transposed convs (out*kernel, in). --type quantizes the matrices
whose rows are a multiple of 32 long (q8_0) and keeps codebooks, biases and the rest f32.
Only the decoder and the quantizer's codebooks are written. Needs python3-torch and numpy.
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch

GGUF_TYPES = {"u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8, "arr": 9}
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8
ALIGN = 32


def fail(msg):
    sys.exit(f"encodec_to_gguf: {msg}")


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, value):
    out = gguf_str(key)
    if isinstance(value, bool):
        return out + struct.pack("<IB", GGUF_TYPES["bool"], value)
    if isinstance(value, int):
        return out + struct.pack("<Ii", GGUF_TYPES["i32"], value)
    if isinstance(value, str):
        return out + struct.pack("<I", GGUF_TYPES["str"]) + gguf_str(value)
    if isinstance(value, float):
        return out + struct.pack("<If", GGUF_TYPES["f32"], value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return out + struct.pack("<IIQ", GGUF_TYPES["arr"], GGUF_TYPES["str"], len(value)) + b"".join(gguf_str(v) for v in value)
    if isinstance(value, list):
        return out + struct.pack("<IIQ", GGUF_TYPES["arr"], GGUF_TYPES["i32"], len(value)) + struct.pack(f"<{len(value)}i", *value)
    raise TypeError(key)


def quantize_q8_0(a):
    """ggml's q8_0: blocks of 32 along each row, an f16 scale then 32 int8."""
    rows = a.reshape(-1, 32).astype(np.float32)
    amax = np.abs(rows).max(axis=1)
    d = amax / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.round(rows * inv[:, None]), -127, 127).astype(np.int8)
    blocks = np.zeros(rows.shape[0], dtype=[("d", "<f2"), ("q", "i1", 32)])
    blocks["d"] = d.astype(np.float16)
    blocks["q"] = q
    return blocks.tobytes()


def quantize_q4_0(a):
    """ggml's q4_0: blocks of 32 along each row, an f16 scale d (the value of largest magnitude
    over -8), then 16 bytes: element j in the low nibble of byte j, element j + 16 in its high
    nibble, each round(x / d) + 8 clipped to 0..15 (as ggml's quantize_row_q4_0_ref)."""
    rows = a.reshape(-1, 32).astype(np.float32)
    peak = rows[np.arange(rows.shape[0]), np.abs(rows).argmax(axis=1)]
    d = peak / -8.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.minimum(15, np.trunc(rows * inv[:, None] + 8.5)).astype(np.uint8)
    blocks = np.zeros(rows.shape[0], dtype=[("d", "<f2"), ("qs", "u1", 16)])
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return blocks.tobytes()


def write_gguf(path, meta, tensors):
    """tensors: list of (name, float32 array in PyTorch order, ggml type)."""
    infos, blobs, offset = b"", [], 0
    for name, arr, gtype in tensors:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if gtype == GGML_Q8_0:
            data = quantize_q8_0(arr)
        elif gtype == GGML_Q4_0:
            data = quantize_q4_0(arr)
        elif gtype == GGML_F16:
            data = arr.astype(np.float16).tobytes()
        else:
            data = arr.tobytes()
        ne = list(reversed(arr.shape))
        infos += gguf_str(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne) + struct.pack("<IQ", gtype, offset)
        pad = (-len(data)) % ALIGN
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    kvs = b"".join(gguf_kv(k, v) for k, v in meta.items())
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + kvs + infos
    head += b"\0" * ((-len(head)) % ALIGN)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    import os
    os.replace(tmp, path)


def fold_weight_norm(sd):
    out = {}
    for key, value in sd.items():
        if key.endswith(".weight_g") or key.endswith(".parametrizations.weight.original0"):
            continue
        if key.endswith(".weight_v") or key.endswith(".parametrizations.weight.original1"):
            base = key[: -len(".weight_v")] if key.endswith(".weight_v") else key[: -len(".parametrizations.weight.original1")]
            g = sd[base + (".weight_g" if key.endswith(".weight_v") else ".parametrizations.weight.original0")]
            v = value.double()
            norm = v.reshape(v.shape[0], -1).norm(dim=1).reshape([-1] + [1] * (v.dim() - 1))
            out[base + ".weight"] = (g.double() * v / norm).float()
        else:
            out[key] = value
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("config")
    ap.add_argument("output")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0"], default="f32")
    ap.add_argument("--codebooks", type=int, default=0, help="codebooks to keep (default: all in the checkpoint)")
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    cfg = cfg.get("audio_encoder", cfg)
    sd = torch.load(a.checkpoint, map_location="cpu")
    sd = sd.get("state_dict", sd)
    if any(k.startswith("audio_encoder.") for k in sd):
        sd = {k[len("audio_encoder."):]: v for k, v in sd.items() if k.startswith("audio_encoder.")}
    sd = fold_weight_norm({k: v for k, v in sd.items() if k.startswith("decoder.") or k.endswith(".codebook.embed")})
    ratios = list(cfg.get("upsampling_ratios", [8, 5, 4, 4]))
    nres = int(cfg.get("num_residual_layers", 1))
    nq = 0
    while f"quantizer.layers.{nq}.codebook.embed" in sd:
        nq += 1
    if nq == 0:
        fail(f"{a.checkpoint} holds no quantizer.layers.N.codebook.embed: not an EnCodec checkpoint")
    if a.codebooks:
        if a.codebooks > nq:
            fail(f"--codebooks {a.codebooks}, but the checkpoint has {nq}")
        nq = a.codebooks
    if cfg.get("use_causal_conv", False):
        fail("use_causal_conv is true: only the non-causal EnCodec (as MusicGen's 32 kHz one) is supported")
    transposed = set()
    at = 2
    for _ in ratios:
        transposed.add(f"decoder.layers.{at + 1}.conv.weight")
        at += 2 + nres
    gtype = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0}[a.type]
    tensors = []
    for q in range(nq):
        tensors.append((f"quantizer.layers.{q}.codebook.embed", sd[f"quantizer.layers.{q}.codebook.embed"].numpy(), GGML_F32))
    for key in sorted(k for k in sd if k.startswith("decoder.")):
        t = sd[key]
        if ".lstm.bias_hh_l" in key:
            continue
        if ".lstm.bias_ih_l" in key:
            key = key.replace("bias_ih_l", "bias_l")
            t = t + sd[key.replace("bias_l", "bias_hh_l")]
        elif key in transposed:  # (in, out, kernel) -> (out*kernel, in)
            t = t.permute(1, 2, 0).reshape(t.shape[1] * t.shape[2], t.shape[0])
        elif t.dim() == 3:  # (out, in, kernel) -> (out, in*kernel)
            t = t.reshape(t.shape[0], -1)
        arr = t.float().numpy()
        typ = GGML_F32
        if arr.ndim == 2 and gtype != GGML_F32 and (gtype == GGML_F16 or arr.shape[1] % 32 == 0):
            typ = gtype
        tensors.append((key, arr, typ))
    meta = {
        "general.architecture": "encodec",
        "general.name": str(cfg.get("_name_or_path", "encodec")),
        "encodec.sample_rate": int(cfg.get("sampling_rate", 32000)),
        "encodec.audio_channels": int(cfg.get("audio_channels", 1)),
        "encodec.codebooks": nq,
        "encodec.codebook_size": int(cfg.get("codebook_size", 2048)),
        "encodec.hidden_size": int(cfg.get("hidden_size", 128)),
        "encodec.num_filters": int(cfg.get("num_filters", 32)),
        "encodec.upsampling_ratios": [int(r) for r in ratios],
        "encodec.kernel_size": int(cfg.get("kernel_size", 7)),
        "encodec.last_kernel_size": int(cfg.get("last_kernel_size", 7)),
        "encodec.residual_kernel_size": int(cfg.get("residual_kernel_size", 3)),
        "encodec.dilation_growth_rate": int(cfg.get("dilation_growth_rate", 2)),
        "encodec.num_residual_layers": nres,
        "encodec.num_lstm_layers": int(cfg.get("num_lstm_layers", 2)),
        "encodec.compress": int(cfg.get("compress", 2)),
        "encodec.use_conv_shortcut": bool(cfg.get("use_conv_shortcut", True)),
        "encodec.use_causal_conv": False,
    }
    write_gguf(a.output, meta, tensors)
    print(f"{a.output}: {len(tensors)} tensors, {a.type}")


if __name__ == "__main__":
    main()
