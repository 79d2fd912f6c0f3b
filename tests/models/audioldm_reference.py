#!/usr/bin/python3
"""A tiny random-weight AudioLDM vocoder (SpeechT5HifiGan's architecture, written here by hand with
its module names) saved in the diffusers folder layout (vocoder/config.json, vocoder/pytorch_model.bin),
with a random mel spectrogram and the audio PyTorch makes from it, for tests/test_models_audioldm.cpp.

    audioldm_reference.py --out DIR [--seed N] [--frames T] [--break missing|shape]
"""
import argparse
import json
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--break", dest="broken", choices=["missing", "shape"])
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    voc = Vocoder(VOCODER).eval()
    os.makedirs(os.path.join(a.out, "vocoder"), exist_ok=True)
    sd = voc.state_dict()
    if a.broken == "missing":
        del sd["conv_post.bias"]
    elif a.broken == "shape":
        sd["conv_pre.bias"] = torch.zeros(sd["conv_pre.bias"].shape[0] + 1)
    torch.save(sd, os.path.join(a.out, "vocoder", "pytorch_model.bin"))
    json.dump(dict(VOCODER, model_type="speecht5_hifigan"), open(os.path.join(a.out, "vocoder", "config.json"), "w"))
    mel = torch.randn(a.frames, VOCODER["model_in_dim"]) * 2 - 3
    with torch.no_grad():
        audio = voc(mel)
    mel.numpy().astype(np.float32).tofile(os.path.join(a.out, "mel.f32"))
    audio.numpy().astype(np.float32).tofile(os.path.join(a.out, "audio.f32"))
    print(f"{a.out}: {a.frames} mel frames -> {audio.shape[0]} samples, peak {audio.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
