#!/usr/bin/python3
"""Converts parts of an AudioLDM checkpoint in the Hugging Face diffusers folder layout to the GGUF
files Soundstar's ggml AudioLDM parts read: the vocoder (SpeechT5HifiGan, read by
src/models/ggml/HifiganVocoder.cpp), the VAE's decoder (AutoencoderKL, read by
src/models/ggml/VaeDecoder.cpp) and the UNet (UNet2DConditionModel as AudioLDM configures it, read
by src/models/ggml/AudioldmUnet.cpp) with the DDIM scheduler's settings.

    audioldm_to_gguf.py MODEL_DIR OUT_DIR [--type f32|f16|q8_0]

MODEL_DIR is the folder as published (e.g. cvssp/audioldm-s-full-v2): it reads vocoder/config.json
and vocoder/pytorch_model.bin or vocoder/*.safetensors (read here with numpy: no safetensors
package needed) and writes OUT_DIR/vocoder.gguf; the same from vae/ to OUT_DIR/vae.gguf (the decoder and
post_quant_conv only, with 1/scaling_factor folded into post_quant_conv's weight; older
attention names query/key/value/proj_attn are renamed to_q/to_k/to_v/to_out.0; kept f32).
From unet/ (and scheduler/scheduler_config.json when present) it writes OUT_DIR/unet.gguf: conv
weights 2-D (out, in*kh*kw) like the vocoder's (and "transformer_blocks." shortened to "tb.",
ggml's names being under 64 bytes), so --type quantizes them and the linear layers
whose rows are whole q8_0 blocks; norms, biases and the rest stay f32. The scheduler's betas go
into unet.gguf's metadata (beta_start and beta_end in units of 1e-7); anything the ggml UNet or
sampler does not run (another class embedding, linear-projection-free variants are fine, a
v-prediction or clipping scheduler, ...) is refused by name.
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


UNET_BLOCKS = {"DownBlock2D": 0, "CrossAttnDownBlock2D": 1}
UNET_UP_BLOCKS = {"UpBlock2D": 0, "CrossAttnUpBlock2D": 1}


def per_block(value, n, name):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            fail(f"unet {name} lists {len(value)} values; block_out_channels has {n} blocks")
        return [int(v) for v in value]
    return [int(value)] * n


def require(cfg, key, want, default):
    got = cfg.get(key, default)
    if got != want:
        fail(f"unet {key} is {got!r}; the ggml UNet runs AudioLDM's {want!r}")


def scheduler_meta(model_dir):
    path = os.path.join(model_dir, "scheduler", "scheduler_config.json")
    if os.path.isfile(path):  # absent keys take DDIMScheduler's own defaults, as diffusers reads them
        s = dict({"clip_sample": True, "clip_sample_range": 1.0, "set_alpha_to_one": True, "steps_offset": 0, "beta_start": 0.0001,
                  "beta_end": 0.02, "beta_schedule": "linear"}, **json.load(open(path)))
    else:  # AudioLDM's published settings
        s = {"clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1, "beta_start": 0.0015, "beta_end": 0.0195,
             "beta_schedule": "scaled_linear"}
    want = {"beta_schedule": "scaled_linear", "prediction_type": "epsilon", "thresholding": False, "timestep_spacing": "leading",
            "rescale_betas_zero_snr": False, "trained_betas": None}
    for key, value in want.items():
        if s.get(key, value) != value:
            fail(f"{path}: {key} is {s.get(key)!r}; Soundstar's DDIM runs {value!r}")
    start, end = float(s["beta_start"]), float(s["beta_end"])
    steps = int(s.get("num_train_timesteps", 1000))
    if not (0 < start < end < 0.5) or not (10 <= steps <= 10000):
        fail(f"{path}: beta_start {start}, beta_end {end}, num_train_timesteps {steps}; expected 0 < start < end < 0.5, 10 to 10000 steps")
    clip = float(s.get("clip_sample_range", 1.0)) if s["clip_sample"] else 0.0
    if not (0 <= clip <= 100) or not (0 <= int(s["steps_offset"]) < steps):
        fail(f"{path}: clip_sample_range {clip} / steps_offset {s['steps_offset']} out of range (0 to 100, 0 to num_train_timesteps - 1)")
    return {
        "ddim.train_steps": steps,
        "ddim.beta_start_e7": int(round(start * 1e7)),
        "ddim.beta_end_e7": int(round(end * 1e7)),
        "ddim.steps_offset": int(s["steps_offset"]),
        "ddim.set_alpha_to_one": bool(s["set_alpha_to_one"]),
        "ddim.clip_range_e7": int(round(clip * 1e7)),  # 0: no clipping
    }


def convert_unet(model_dir, out, gtype):
    cfg, sd = load_part(model_dir, "unet")
    require(cfg, "class_embed_type", "simple_projection", None)
    require(cfg, "class_embeddings_concat", True, False)
    require(cfg, "flip_sin_to_cos", True, True)
    require(cfg, "freq_shift", 0, 0)
    require(cfg, "act_fn", "silu", "silu")
    require(cfg, "center_input_sample", False, False)
    require(cfg, "resnet_time_scale_shift", "default", "default")
    require(cfg, "mid_block_type", "UNetMidBlock2DCrossAttn", "UNetMidBlock2DCrossAttn")
    require(cfg, "time_embedding_type", "positional", "positional")
    require(cfg, "transformer_layers_per_block", 1, 1)
    require(cfg, "only_cross_attention", False, False)
    require(cfg, "dual_cross_attention", False, False)
    require(cfg, "mid_block_scale_factor", 1, 1)
    require(cfg, "addition_embed_type", None, None)
    if abs(float(cfg.get("norm_eps", 1e-5)) - 1e-5) > 1e-12:
        fail(f"unet norm_eps is {cfg.get('norm_eps')}; the ggml UNet runs 1e-05")
    chans = [int(c) for c in cfg.get("block_out_channels", [320, 640, 1280, 1280])]
    n = len(chans)
    downs, ups = list(cfg.get("down_block_types", [])), list(cfg.get("up_block_types", []))
    if len(downs) != n or len(ups) != n or any(d not in UNET_BLOCKS for d in downs) or any(u not in UNET_UP_BLOCKS for u in ups):
        fail(f"unet down_block_types {downs} / up_block_types {ups}: {n} of each, from {sorted(UNET_BLOCKS)} and {sorted(UNET_UP_BLOCKS)}")
    attn = [UNET_BLOCKS[d] for d in downs]
    if [UNET_UP_BLOCKS[u] for u in reversed(ups)] != attn:
        fail("unet up_block_types must mirror down_block_types (attention at the same levels)")
    heads = per_block(cfg.get("num_attention_heads") or cfg.get("attention_head_dim", 8), n, "attention_head_dim")
    groups = int(cfg.get("norm_num_groups", 32))
    for c, h in zip(chans, heads):
        if groups <= 0 or c % groups or h <= 0 or c % h:
            fail(f"unet block of {c} channels: not a multiple of norm_num_groups ({groups}) and of its {h} attention heads")
    if cfg.get("cross_attention_dim") is not None and per_block(cfg["cross_attention_dim"], n, "cross_attention_dim") != chans:
        fail(f"unet cross_attention_dim is {cfg['cross_attention_dim']}; AudioLDM's attends to each block itself ({chans})")
    tensors = []
    for key in sorted(sd):
        t = sd[key]
        if t.dim() == 4:  # conv (out, in, kh, kw) -> (out, in*kh*kw)
            t = t.reshape(t.shape[0], -1)
        arr = t.numpy()
        # ggml keeps tensor names under 64 bytes: "transformer_blocks." is stored as "tb.".
        name = key.replace(".transformer_blocks.", ".tb.")
        if len(name.encode()) >= 64:
            fail(f"unet tensor {key}: its name is {len(name.encode())} bytes in GGUF; ggml allows 63")
        tensors.append((name, arr, matrix_type(arr, gtype)))
    if "conv_in.weight" not in sd:
        fail(f"{model_dir}/unet holds no conv_in.weight: not a UNet2DConditionModel checkpoint")
    meta = {
        "general.architecture": "audioldm_unet",
        "general.name": "audioldm-unet",
        "unet.in_channels": int(cfg.get("in_channels", 8)),
        "unet.out_channels": int(cfg.get("out_channels", 8)),
        "unet.block_out_channels": chans,
        "unet.layers_per_block": int(cfg.get("layers_per_block", 2)),
        "unet.norm_num_groups": groups,
        "unet.attention_heads": heads,
        "unet.down_attention": attn,
        "unet.class_embed_dim": int(cfg.get("projection_class_embeddings_input_dim", 512)),
    }
    meta.update(scheduler_meta(model_dir))
    path = os.path.join(out, "unet.gguf")
    write_gguf(path, meta, tensors)
    print(f"{path}: {len(tensors)} tensors")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0"], default="f32")
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    gtype = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0}[a.type]
    parts = [p for p in ("vocoder", "vae", "unet") if os.path.isdir(os.path.join(a.model_dir, p))]
    if not parts:
        fail(f"{os.path.join(a.model_dir, 'vocoder', 'config.json')}: missing (expected the diffusers folder layout: vocoder/ and vae/, each a config.json beside its weights)")
    for part in ("vocoder", "vae", "unet"):
        if part not in parts:
            print(f"audioldm_to_gguf: no {part}/ folder in {a.model_dir}: skipped")
    if "vocoder" in parts:
        convert_vocoder(a.model_dir, a.out_dir, gtype)
    if "vae" in parts:
        convert_vae(a.model_dir, a.out_dir)
    if "unet" in parts:
        convert_unet(a.model_dir, a.out_dir, gtype)


if __name__ == "__main__":
    main()
