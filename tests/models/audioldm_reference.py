#!/usr/bin/python3
"""A tiny random-weight AudioLDM vocoder (SpeechT5HifiGan's architecture) and VAE (diffusers'
AutoencoderKL; its decoder is what AudioLDM uses), written here by hand with their module names and
saved in the diffusers folder layout (vocoder/ and vae/: config.json beside the weights), with a
random mel spectrogram and the audio PyTorch makes from it, and random latents with the mel the VAE
makes from them (scaled by 1/scaling_factor first, as the pipeline does) and that mel's audio,
for tests/test_models_audioldm.cpp.

    audioldm_reference.py --out DIR [--seed N] [--frames T] [--break missing|shape] [--legacy-attention]
"""
import argparse
import json
import math
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

VOCODER = {"model_in_dim": 16, "sampling_rate": 16000, "upsample_initial_channel": 64, "upsample_rates": [5, 2],
           "upsample_kernel_sizes": [16, 4], "resblock_kernel_sizes": [3, 5], "resblock_dilation_sizes": [[1, 3, 5], [1, 2, 3]],
           "leaky_relu_slope": 0.1, "normalize_before": True}


def pad(k, d):
    return (k * d - d) // 2


class ResBlock(nn.Module):
    def __init__(self, ch, k, dilations, slope):
        super().__init__()
        self.slope = slope
        self.convs1 = nn.ModuleList([nn.Conv1d(ch, ch, k, dilation=d, padding=pad(k, d)) for d in dilations])
        self.convs2 = nn.ModuleList([nn.Conv1d(ch, ch, k, padding=pad(k, 1)) for _ in dilations])

    def forward(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, self.slope)), self.slope))
        return x


class Vocoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        ch = c["upsample_initial_channel"]
        self.conv_pre = nn.Conv1d(c["model_in_dim"], ch, 7, padding=3)
        self.upsampler = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (r, k) in enumerate(zip(c["upsample_rates"], c["upsample_kernel_sizes"])):
            self.upsampler.append(nn.ConvTranspose1d(ch >> i, ch >> (i + 1), k, stride=r, padding=(k - r) // 2))
            for rk, rd in zip(c["resblock_kernel_sizes"], c["resblock_dilation_sizes"]):
                self.resblocks.append(ResBlock(ch >> (i + 1), rk, rd, c["leaky_relu_slope"]))
        self.conv_post = nn.Conv1d(ch >> len(c["upsample_rates"]), 1, 7, padding=3)
        self.register_buffer("mean", torch.randn(c["model_in_dim"]))
        self.register_buffer("scale", 0.5 + torch.rand(c["model_in_dim"]))

    def forward(self, mel):  # (frames, mel bins) -> (samples,)
        if self.c["normalize_before"]:
            mel = (mel - self.mean) / self.scale
        x = self.conv_pre(mel.t().unsqueeze(0))
        kinds = len(self.c["resblock_kernel_sizes"])
        for i, up in enumerate(self.upsampler):
            x = up(F.leaky_relu(x, self.c["leaky_relu_slope"]))
            x = sum(self.resblocks[i * kinds + j](x) for j in range(kinds)) / kinds
        return torch.tanh(self.conv_post(F.leaky_relu(x))).reshape(-1)  # the last slope is PyTorch's default 0.01


VAE = {"in_channels": 1, "out_channels": 1, "latent_channels": 4, "block_out_channels": [16, 32], "layers_per_block": 1,
       "norm_num_groups": 8, "scaling_factor": 0.9227914214134216, "sample_size": 16,
       "down_block_types": ["DownEncoderBlock2D"] * 2, "up_block_types": ["UpDecoderBlock2D"] * 2}
EPS = 1e-6
# AudioLDM-s's published sizes (cvssp/audioldm-s-full-v2), for benchmarks (--size real --no-reference).
REAL_VOCODER = dict(VOCODER, model_in_dim=64, upsample_initial_channel=1024, upsample_rates=[5, 4, 2, 2, 2],
                    upsample_kernel_sizes=[16, 16, 8, 4, 4], resblock_kernel_sizes=[3, 7, 11],
                    resblock_dilation_sizes=[[1, 3, 5]] * 3, normalize_before=False)
REAL_VAE = dict(VAE, latent_channels=8, block_out_channels=[128, 256, 512], layers_per_block=2, norm_num_groups=32,
                down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3)


class Resnet(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=EPS)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=EPS)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):  # one head over every position, as the VAE's mid block has
    def __init__(self, ch, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, ch, eps=EPS)
        self.to_q, self.to_k, self.to_v = nn.Linear(ch, ch), nn.Linear(ch, ch), nn.Linear(ch, ch)
        self.to_out = nn.ModuleList([nn.Linear(ch, ch)])

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(t), self.to_k(t), self.to_v(t)
        p = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1)
        return x + self.to_out[0](p @ v).transpose(1, 2).reshape(b, c, h, w)


class Mid(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(ch, ch, groups), Resnet(ch, ch, groups)])
        self.attentions = nn.ModuleList([Attention(ch, groups)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Up(nn.Module):
    def __init__(self, cin, cout, layers, groups, upsample):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if j == 0 else cout, cout, groups) for j in range(layers)])
        if upsample:
            self.upsamplers = nn.ModuleList([Upsample(cout)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        return self.upsamplers[0](x) if hasattr(self, "upsamplers") else x


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        chans, g = list(reversed(c["block_out_channels"])), c["norm_num_groups"]
        self.conv_in = nn.Conv2d(c["latent_channels"], chans[0], 3, padding=1)
        self.mid_block = Mid(chans[0], g)
        self.up_blocks = nn.ModuleList([Up(chans[max(i - 1, 0)], chans[i], c["layers_per_block"] + 1, g, i < len(chans) - 1) for i in range(len(chans))])
        self.conv_norm_out = nn.GroupNorm(g, chans[-1], eps=EPS)
        self.conv_out = nn.Conv2d(chans[-1], c["out_channels"], 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for up in self.up_blocks:
            x = up(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Vae(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.encoder = nn.Module()  # the converter skips the encoder
        self.encoder.conv_in = nn.Conv2d(c["in_channels"], c["block_out_channels"][0], 3, padding=1)
        self.quant_conv = nn.Conv2d(2 * c["latent_channels"], 2 * c["latent_channels"], 1)
        self.post_quant_conv = nn.Conv2d(c["latent_channels"], c["latent_channels"], 1)
        self.decoder = Decoder(c)

    def decode_latents(self, latents):  # (1, C, H, W) -> (frames, mel bins), as AudioLDM's pipeline
        return self.decoder(self.post_quant_conv(latents / self.c["scaling_factor"]))[0, 0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--break", dest="broken", choices=["missing", "shape"])
    ap.add_argument("--size", choices=["tiny", "real"], default="tiny")
    ap.add_argument("--no-reference", action="store_true", help="write the checkpoints only (benchmarks)")
    ap.add_argument("--legacy-attention", action="store_true", help="the VAE's attention under its old names (query, key, value, proj_attn)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    vcfg, acfg = (REAL_VOCODER, REAL_VAE) if a.size == "real" else (VOCODER, VAE)
    voc = Vocoder(vcfg).eval()
    os.makedirs(os.path.join(a.out, "vocoder"), exist_ok=True)
    sd = voc.state_dict()
    if a.broken == "missing":
        del sd["conv_post.bias"]
    elif a.broken == "shape":
        sd["conv_pre.bias"] = torch.zeros(sd["conv_pre.bias"].shape[0] + 1)
    torch.save(sd, os.path.join(a.out, "vocoder", "pytorch_model.bin"))
    json.dump(dict(vcfg, model_type="speecht5_hifigan"), open(os.path.join(a.out, "vocoder", "config.json"), "w"))
    vae = Vae(acfg).eval()
    if a.no_reference:
        os.makedirs(os.path.join(a.out, "vae"), exist_ok=True)
        torch.save(vae.state_dict(), os.path.join(a.out, "vae", "diffusion_pytorch_model.bin"))
        json.dump(dict(acfg, _class_name="AutoencoderKL"), open(os.path.join(a.out, "vae", "config.json"), "w"))
        return
    mel = torch.randn(a.frames, VOCODER["model_in_dim"]) * 2 - 3
    with torch.no_grad():
        audio = voc(mel)
    mel.numpy().astype(np.float32).tofile(os.path.join(a.out, "mel.f32"))
    audio.numpy().astype(np.float32).tofile(os.path.join(a.out, "audio.f32"))
    with torch.no_grad():  # GroupNorm's affine parameters away from 1 and 0, so they matter
        for name, p in vae.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
    os.makedirs(os.path.join(a.out, "vae"), exist_ok=True)
    vsd = vae.state_dict()
    if a.legacy_attention:
        old = {".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."}
        for new_name, old_name in old.items():
            vsd = {k.replace(new_name, old_name): v for k, v in vsd.items()}
    torch.save(vsd, os.path.join(a.out, "vae", "diffusion_pytorch_model.bin"))
    json.dump(dict(VAE, _class_name="AutoencoderKL"), open(os.path.join(a.out, "vae", "config.json"), "w"))
    levels = 2 ** (len(VAE["block_out_channels"]) - 1)
    latents = torch.randn(1, VAE["latent_channels"], max(1, a.frames // levels), VOCODER["model_in_dim"] // levels)
    with torch.no_grad():
        vmel = vae.decode_latents(latents)
        vaudio = voc(vmel)
    latents.numpy().astype(np.float32).tofile(os.path.join(a.out, "latents.f32"))
    open(os.path.join(a.out, "latents.txt"), "w").write(f"{latents.shape[2]} {latents.shape[3]}")
    vmel.numpy().astype(np.float32).tofile(os.path.join(a.out, "vae_mel.f32"))
    vaudio.numpy().astype(np.float32).tofile(os.path.join(a.out, "vae_audio.f32"))
    print(f"{a.out}: {a.frames} mel frames -> {audio.shape[0]} samples, peak {audio.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
