#!/usr/bin/python3
"""A small PyTorch EnCodec (Hugging Face's EncodecModel layout: weight-normed non-causal convs
with reflect padding, a 2-layer LSTM with a skip, transposed-conv upsampling, residual blocks,
ELU, and the residual vector quantizer's codebooks) with random weights, for checking Soundstar's
ggml decoder. Writes into --out: encodec.pt (state dict), config.json, codes.i32 (codebooks x
frames, int32), audio.f32 (torch's decoded audio, channels interleaved) and frames.txt.

    encodec_reference.py --out DIR [--size tiny|shortcut|small] [--frames N] [--seed N] [--break missing|shape]
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import weight_norm

SIZES = {
    # hidden, filters, ratios, codebooks, bins, lstm layers, residual layers, conv shortcut
    "tiny": dict(hidden_size=32, num_filters=32, upsampling_ratios=[4, 2], codebooks=2, codebook_size=64,
                 num_lstm_layers=2, num_residual_layers=1, use_conv_shortcut=False),
    "shortcut": dict(hidden_size=16, num_filters=8, upsampling_ratios=[3, 2], codebooks=3, codebook_size=32,
                     num_lstm_layers=1, num_residual_layers=2, use_conv_shortcut=True),
    # MusicGen's facebook/encodec_32khz sizes (about 30 M decoder parameters).
    "small": dict(hidden_size=128, num_filters=64, upsampling_ratios=[8, 5, 4, 4], codebooks=4, codebook_size=2048,
                  num_lstm_layers=2, num_residual_layers=1, use_conv_shortcut=False),
}


class Conv(nn.Module):
    def __init__(self, cin, cout, k, dilation=1):
        super().__init__()
        self.conv = weight_norm(nn.Conv1d(cin, cout, k, dilation=dilation))

    def forward(self, x):
        total = (self.conv.kernel_size[0] - 1) * self.conv.dilation[0]
        right = total // 2
        return self.conv(F.pad(x, (total - right, right), mode="reflect"))


class ConvT(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv = weight_norm(nn.ConvTranspose1d(cin, cout, 2 * stride, stride))

    def forward(self, x):
        y = self.conv(x)
        total = self.conv.kernel_size[0] - self.stride
        right = total // 2
        return y[..., total - right: y.shape[-1] - right]


class Lstm(nn.Module):
    def __init__(self, dim, layers):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, layers)

    def forward(self, x):
        x = x.permute(2, 0, 1)
        return (self.lstm(x)[0] + x).permute(1, 2, 0)


class Resnet(nn.Module):
    def __init__(self, dim, dilation, c):
        super().__init__()
        hidden = dim // c["compress"]
        self.block = nn.ModuleList([nn.ELU(), Conv(dim, hidden, c["residual_kernel_size"], dilation), nn.ELU(), Conv(hidden, dim, 1)])
        self.shortcut = Conv(dim, dim, 1) if c["use_conv_shortcut"] else nn.Identity()

    def forward(self, x):
        h = x
        for layer in self.block:
            h = layer(h)
        return self.shortcut(x) + h


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        scale = 2 ** len(c["upsampling_ratios"])
        layers = [Conv(c["hidden_size"], scale * c["num_filters"], c["kernel_size"]), Lstm(scale * c["num_filters"], c["num_lstm_layers"])]
        for ratio in c["upsampling_ratios"]:
            ch = scale * c["num_filters"]
            layers += [nn.ELU(), ConvT(ch, ch // 2, ratio)]
            layers += [Resnet(ch // 2, c["dilation_growth_rate"] ** j, c) for j in range(c["num_residual_layers"])]
            scale //= 2
        layers += [nn.ELU(), Conv(c["num_filters"], c["audio_channels"], c["last_kernel_size"])]
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Codebook(nn.Module):
    def __init__(self, bins, dim):
        super().__init__()
        self.register_buffer("inited", torch.ones(1))
        self.register_buffer("cluster_size", torch.rand(bins))
        self.register_buffer("embed", torch.randn(bins, dim))
        self.register_buffer("embed_avg", torch.randn(bins, dim))


class Layer(nn.Module):
    def __init__(self, bins, dim):
        super().__init__()
        self.codebook = Codebook(bins, dim)


class Quantizer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([Layer(c["codebook_size"], c["hidden_size"]) for _ in range(c["codebooks"])])

    def decode(self, codes):  # (codebooks, frames) -> (1, hidden, frames)
        latent = sum(F.embedding(codes[q], layer.codebook.embed) for q, layer in enumerate(self.layers))
        return latent.t().unsqueeze(0)


class Encodec(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList([Conv(c["audio_channels"], c["num_filters"], c["kernel_size"])])  # the converter skips it
        self.quantizer = Quantizer(c)
        self.decoder = Decoder(c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", choices=SIZES, default="tiny")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--break", dest="broken", choices=["missing", "shape"])
    ap.add_argument("--no-reference", action="store_true", help="write the checkpoint only (benchmarks)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    c = dict(SIZES[a.size], sampling_rate=32000, audio_channels=1, kernel_size=7, last_kernel_size=7, residual_kernel_size=3,
             dilation_growth_rate=2, compress=2, use_causal_conv=False)
    model = Encodec(c).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():  # weight-norm gains away from ||v||, so folding matters
            if name.endswith("weight_g"):
                p.mul_(0.5 + torch.rand_like(p))
    os.makedirs(a.out, exist_ok=True)
    sd = model.state_dict()
    if a.broken == "missing":
        del sd["decoder.layers.0.conv.bias"]
    elif a.broken == "shape":
        sd["decoder.layers.0.conv.bias"] = torch.zeros(sd["decoder.layers.0.conv.bias"].shape[0] + 1)
    torch.save(sd, os.path.join(a.out, "encodec.pt"))
    cfg = {k: v for k, v in c.items() if k != "codebooks"}
    json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"))
    if a.no_reference:
        return
    codes = torch.randint(0, c["codebook_size"], (c["codebooks"], a.frames), dtype=torch.int64)
    with torch.no_grad():
        audio = model.decoder(model.quantizer.decode(codes))[0]  # (channels, samples)
    codes.numpy().astype(np.int32).tofile(os.path.join(a.out, "codes.i32"))
    audio.t().contiguous().numpy().astype(np.float32).tofile(os.path.join(a.out, "audio.f32"))
    open(os.path.join(a.out, "frames.txt"), "w").write(str(a.frames))
    print(f"{a.out}: {c['codebooks']} x {a.frames} codes -> {audio.shape[1]} samples, peak {audio.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
