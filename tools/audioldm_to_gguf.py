#!/usr/bin/python3
"""Converts parts of an AudioLDM checkpoint in the Hugging Face diffusers folder layout to the GGUF
files Soundstar's ggml AudioLDM parts read. Done so far: the vocoder (SpeechT5HifiGan, read by
src/models/ggml/HifiganVocoder.cpp) and the VAE's decoder (AutoencoderKL, read by
src/models/ggml/VaeDecoder.cpp).

    audioldm_to_gguf.py MODEL_DIR OUT_DIR [--type f32|f16|q8_0]

MODEL_DIR is the folder as published (e.g. cvssp/audioldm-s-full-v2): it reads vocoder/config.json
and vocoder/pytorch_model.bin or vocoder/*.safetensors (read here with numpy: no safetensors
package needed) and writes OUT_DIR/vocoder.gguf; the same from vae/ to OUT_DIR/vae.gguf (the decoder and
post_quant_conv only, with 1/scaling_factor folded into post_quant_conv's weight; older
attention names query/key/value/proj_attn are renamed to_q/to_k/to_v/to_out.0; kept f32).
A part whose folder is absent is skipped with a note; with neither, the converter fails. Weight norm (weight_g / weight_v) is folded;
conv weights are stored 2-D, (out, in*kernel), transposed convs (out*kernel, in), so q8_0 blocks run
along rows; --type quantizes those whose rows are a multiple of 32 long and keeps the rest f32.
Needs python3-torch and numpy.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encodec_to_gguf import GGML_F16, GGML_F32, GGML_Q8_0, fold_weight_norm, write_gguf  # noqa: E402

MAX_HEADER = 100 * 1024 * 1024


def fail(msg):
    sys.exit(f"audioldm_to_gguf: {msg}")


def read_safetensors(path):
    """The safetensors format: u64 header length, a JSON header (name -> dtype, shape, offsets), data."""
    types = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}  # I64: buffers such as position_ids
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail(f"{path}: cut short (no header)")
    n = struct.unpack("<Q", blob[:8])[0]
    if n > MAX_HEADER or 8 + n > len(blob):
        fail(f"{path}: header length {n} does not fit the file ({len(blob)} bytes)")
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = blob[8 + n + begin:8 + n + end]
        if info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in types:
            arr = np.frombuffer(raw, dtype=np.dtype(types[info["dtype"]]).newbyteorder("<")).astype(np.float32)
        else:
            fail(f"{path}: tensor {name} is {info['dtype']}; only F32, F16, BF16, F64 and I64 are read")
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).copy())
    return out


def load_part(model_dir, part):
    folder = os.path.join(model_dir, part)
    cfg_path = os.path.join(folder, "config.json")
    if not os.path.isfile(cfg_path):
        fail(f"{cfg_path}: missing (expected the diffusers folder layout: {part}/config.json beside its weights)")
    cfg = json.load(open(cfg_path))
    for name in ("pytorch_model.bin", "diffusion_pytorch_model.bin", "model.safetensors", "diffusion_pytorch_model.safetensors"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            sd = read_safetensors(path) if name.endswith(".safetensors") else torch.load(path, map_location="cpu")
            return cfg, fold_weight_norm({k: v.float() for k, v in sd.items()})
    fail(f"{folder}: no weights (pytorch_model.bin, diffusion_pytorch_model.bin or *.safetensors)")


def matrix_type(arr, gtype):
    if arr.ndim == 2 and gtype != GGML_F32 and (gtype == GGML_F16 or arr.shape[1] % 32 == 0):
        return gtype
    return GGML_F32


def convert_vocoder(model_dir, out, gtype):
    cfg, sd = load_part(model_dir, "vocoder")
    slope = float(cfg.get("leaky_relu_slope", 0.1))
    if abs(slope - 0.1) > 1e-9:
        fail(f"vocoder leaky_relu_slope is {slope}; the ggml vocoder runs 0.1 (as every AudioLDM checkpoint has)")
    dil = [list(d) for d in cfg.get("resblock_dilation_sizes", [[1, 3, 5]] * 3)]
    if len({len(d) for d in dil}) != 1:
        fail("vocoder resblock_dilation_sizes: every resblock needs the same number of dilations")
    tensors = []
    for key in sorted(sd):
        t = sd[key]
        if key.startswith("upsampler.") and key.endswith(".weight"):  # (in, out, kernel) -> (out*kernel, in)
            t = t.permute(1, 2, 0).reshape(t.shape[1] * t.shape[2], t.shape[0])
        elif t.dim() == 3:  # (out, in, kernel) -> (out, in*kernel)
            t = t.reshape(t.shape[0], -1)
        arr = t.numpy()
        tensors.append((key, arr, matrix_type(arr, gtype)))
    meta = {
        "general.architecture": "hifigan",
        "general.name": "audioldm-vocoder",
        "hifigan.model_in_dim": int(cfg.get("model_in_dim", 64)),
        "hifigan.sampling_rate": int(cfg.get("sampling_rate", 16000)),
        "hifigan.upsample_initial_channel": int(cfg.get("upsample_initial_channel", 1024)),
        "hifigan.upsample_rates": [int(r) for r in cfg.get("upsample_rates", [5, 4, 2, 2, 2])],
        "hifigan.upsample_kernel_sizes": [int(k) for k in cfg.get("upsample_kernel_sizes", [16, 16, 8, 4, 4])],
        "hifigan.resblock_kernel_sizes": [int(k) for k in cfg.get("resblock_kernel_sizes", [3, 7, 11])],
        "hifigan.resblock_dilation_sizes": [int(x) for d in dil for x in d],
        "hifigan.resblock_dilation_count": len(dil[0]),
        "hifigan.normalize_before": bool(cfg.get("normalize_before", False)),
    }
    path = os.path.join(out, "vocoder.gguf")
    write_gguf(path, meta, tensors)
    print(f"{path}: {len(tensors)} tensors")


def convert_vae(model_dir, out):
    cfg, sd = load_part(model_dir, "vae")
    scaling = float(cfg.get("scaling_factor", 0.18215))
    if not (1e-4 < scaling < 1e4):
        fail(f"vae scaling_factor is {scaling}; expected a positive factor")
    if cfg.get("norm_num_groups", 32) <= 0 or int(cfg.get("out_channels", 1)) != 1:
        fail("vae: out_channels must be 1 (a mel spectrogram) and norm_num_groups positive")
    rename = {".query.": ".to_q.", ".key.": ".to_k.", ".value.": ".to_v.", ".proj_attn.": ".to_out.0."}
    tensors = []
    for key in sorted(sd):
        if not (key.startswith("decoder.") or key.startswith("post_quant_conv.")):
            continue
        t = sd[key]
        name = key
        for old, new in rename.items():
            name = name.replace(old, new)
        if ".attentions." in name and t.dim() == 4:  # 1x1 conv-shaped attention weights: linear
            t = t.reshape(t.shape[0], t.shape[1])
        if name == "post_quant_conv.weight":
            t = t / scaling
        tensors.append((name, t.numpy(), GGML_F32))
    if not tensors:
        fail(f"{model_dir}/vae holds no decoder.* tensors: not an AutoencoderKL checkpoint")
    meta = {
        "general.architecture": "audioldm_vae",
        "general.name": "audioldm-vae-decoder",
        "vae.latent_channels": int(cfg.get("latent_channels", 8)),
        "vae.out_channels": 1,
        "vae.block_out_channels": [int(c) for c in cfg.get("block_out_channels", [128, 256, 512])],
        "vae.layers_per_block": int(cfg.get("layers_per_block", 2)),
        "vae.norm_num_groups": int(cfg.get("norm_num_groups", 32)),
    }
    path = os.path.join(out, "vae.gguf")
    write_gguf(path, meta, tensors)
    print(f"{path}: {len(tensors)} tensors, 1/scaling_factor ({scaling}) folded into post_quant_conv")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0"], default="f32")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    gtype = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0}[a.type]
    parts = [p for p in ("vocoder", "vae") if os.path.isdir(os.path.join(a.model_dir, p))]
    if not parts:
        fail(f"{os.path.join(a.model_dir, 'vocoder', 'config.json')}: missing (expected the diffusers folder layout: vocoder/ and vae/, each a config.json beside its weights)")
    for part in ("vocoder", "vae"):
        if part not in parts:
            print(f"audioldm_to_gguf: no {part}/ folder in {a.model_dir}: skipped")
    if "vocoder" in parts:
        convert_vocoder(a.model_dir, a.out_dir, gtype)
    if "vae" in parts:
        convert_vae(a.model_dir, a.out_dir)


if __name__ == "__main__":
    main()
