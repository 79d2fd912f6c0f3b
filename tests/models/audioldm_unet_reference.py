#!/usr/bin/python3
"""A tiny random-weight AudioLDM UNet (diffusers' UNet2DConditionModel as AudioLDM configures it:
DownBlock2D then CrossAttnDownBlock2D blocks, a cross-attention mid block, the mirror-image up
blocks; every transformer block's attn2 attends to the block itself, since AudioLDM passes no
encoder states; the CLAP text embedding projected by class_embedding and concatenated with the
timestep embedding), written here by hand with diffusers' module names, and AudioLDM's DDIM
sampler with classifier-free guidance, for tests/test_models_audioldm.cpp.

It writes a folder in the diffusers layout (unet/, scheduler/, and the vae/ and vocoder/ that
audioldm_reference.py makes) with:
  pred_R.f32       noise predictions (cond) for random latents at R latent rows (R in 12, 5)
  traj.f32         the sampler's latents after each DDIM step (steps 3, guidance 2.5) from
                   the latents of seed 7 (SplitMix64 + Box-Muller, as src/models/ggml/AudioldmPipeline.cpp)
  audio.f32        the pipeline's audio from those latents (VAE, vocoder, trimmed to the duration)
  cond.f32 / uncond.f32   the two (L2-normalised) embeddings

    audioldm_unet_reference.py --out DIR [--seed N] [--size tiny|real] [--no-reference] [--text-dim N]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audioldm_reference as decode_ref  # noqa: E402

UNET = {"_class_name": "UNet2DConditionModel", "in_channels": 4, "out_channels": 4, "block_out_channels": [32, 64, 96],
        "layers_per_block": 2, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "attention_head_dim": 4,
        "norm_num_groups": 8, "norm_eps": 1e-5, "cross_attention_dim": [32, 64, 96], "class_embed_type": "simple_projection",
        "projection_class_embeddings_input_dim": 16, "class_embeddings_concat": True, "flip_sin_to_cos": True, "freq_shift": 0,
        "use_linear_projection": False, "mid_block_scale_factor": 1, "sample_size": 16}
REAL_UNET = dict(UNET, in_channels=8, out_channels=8, block_out_channels=[128, 256, 384, 640], attention_head_dim=8,
                 norm_num_groups=32, cross_attention_dim=[128, 256, 384, 640], projection_class_embeddings_input_dim=512,
                 down_block_types=["DownBlock2D"] + ["CrossAttnDownBlock2D"] * 3, up_block_types=["CrossAttnUpBlock2D"] * 3 + ["UpBlock2D"])
SCHEDULER = {"_class_name": "DDIMScheduler", "beta_start": 0.0015, "beta_end": 0.0195, "beta_schedule": "scaled_linear",
             "num_train_timesteps": 1000, "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1,
             "prediction_type": "epsilon", "timestep_spacing": "leading", "trained_betas": None}
TRANSFORMER_EPS = 1e-6  # Transformer2DModel's group norm
LAYER_EPS = 1e-5        # BasicTransformerBlock's layer norms


class Resnet(nn.Module):  # ResnetBlock2D with a time embedding
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, context=None):
        context = x if context is None else context
        b, n, d = x.shape
        hd = d // self.heads
        split = lambda t: t.reshape(b, -1, self.heads, hd).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.to_q(x)), split(self.to_k(context)), split(self.to_v(context))
        p = torch.softmax(q @ k.transpose(-1, -2) * hd ** -0.5, dim=-1)
        return self.to_out[0]((p @ v).transpose(1, 2).reshape(b, n, d))


class Geglu(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([Geglu(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class TransformerBlock(nn.Module):  # BasicTransformerBlock: self-attention, "cross" attention, GEGLU
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_EPS)
        self.attn1 = Attention(dim, heads, dim)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_EPS)
        self.attn2 = Attention(dim, heads, context_dim)
        self.norm3 = nn.LayerNorm(dim, eps=LAYER_EPS)
        self.ff = FeedForward(dim)

    def forward(self, x):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x))  # AudioLDM gives no encoder states: attn2 attends to x too
        return x + self.ff(self.norm3(x))


class Transformer2D(nn.Module):
    def __init__(self, ch, heads, context_dim, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch, eps=TRANSFORMER_EPS)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.transformer_blocks = nn.ModuleList([TransformerBlock(ch, heads, context_dim)])
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        for blk in self.transformer_blocks:
            t = blk(t)
        return x + self.proj_out(t.reshape(b, h, w, c).permute(0, 3, 1, 2))


class Down(nn.Module):
    def __init__(self, cin, cout, temb, layers, groups, eps, attention, heads, context_dim, downsample):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(cin if j == 0 else cout, cout, temb, groups, eps) for j in range(layers)])
        if attention:
            self.attentions = nn.ModuleList([Transformer2D(cout, heads, context_dim, groups) for _ in range(layers)])
        if downsample:
            self.downsamplers = nn.ModuleList([nn.Module()])
            self.downsamplers[0].conv = nn.Conv2d(cout, cout, 3, stride=2, padding=1)

    def forward(self, x, emb):
        states = []
        for j, r in enumerate(self.resnets):
            x = r(x, emb)
            if hasattr(self, "attentions"):
                x = self.attentions[j](x)
            states.append(x)
        if hasattr(self, "downsamplers"):
            x = self.downsamplers[0].conv(x)
            states.append(x)
        return x, states


class Up(nn.Module):
    def __init__(self, cin, cout, prev, temb, layers, groups, eps, attention, heads, context_dim, upsample):
        super().__init__()
        self.resnets = nn.ModuleList()
        for j in range(layers):
            skip = cin if j == layers - 1 else cout
            self.resnets.append(Resnet((prev if j == 0 else cout) + skip, cout, temb, groups, eps))
        if attention:
            self.attentions = nn.ModuleList([Transformer2D(cout, heads, context_dim, groups) for _ in range(layers)])
        if upsample:
            self.upsamplers = nn.ModuleList([nn.Module()])
            self.upsamplers[0].conv = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x, emb, skips, size):
        for j, r in enumerate(self.resnets):
            x = r(torch.cat([x, skips.pop()], dim=1), emb)
            if hasattr(self, "attentions"):
                x = self.attentions[j](x)
        if hasattr(self, "upsamplers"):
            x = self.upsamplers[0].conv(F.interpolate(x, size=size, mode="nearest"))
        return x


class Mid(nn.Module):
    def __init__(self, ch, temb, groups, eps, heads, context_dim):
        super().__init__()
        self.resnets = nn.ModuleList([Resnet(ch, ch, temb, groups, eps), Resnet(ch, ch, temb, groups, eps)])
        self.attentions = nn.ModuleList([Transformer2D(ch, heads, context_dim, groups)])

    def forward(self, x, emb):
        return self.resnets[1](self.attentions[0](self.resnets[0](x, emb)), emb)


def timestep_embedding(t, dim):  # diffusers' get_timestep_embedding, flip_sin_to_cos, shift 0
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(0, half, dtype=torch.float32) / half)
    args = torch.tensor([float(t)])[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class Unet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        ch, g, eps = c["block_out_channels"], c["norm_num_groups"], c["norm_eps"]
        heads = c["attention_head_dim"]  # diffusers' naming: this is the number of heads
        ctx = c["cross_attention_dim"]
        temb = ch[0] * 4
        self.time_embedding = nn.Module()
        self.time_embedding.linear_1 = nn.Linear(ch[0], temb)
        self.time_embedding.linear_2 = nn.Linear(temb, temb)
        self.class_embedding = nn.Linear(c["projection_class_embeddings_input_dim"], temb)
        btemb = temb * 2  # class_embeddings_concat
        self.conv_in = nn.Conv2d(c["in_channels"], ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        out = ch[0]
        for i, kind in enumerate(c["down_block_types"]):
            cin, out = out, ch[i]
            self.down_blocks.append(Down(cin, out, btemb, c["layers_per_block"], g, eps, kind.startswith("CrossAttn"), heads, ctx[i],
                                         i < len(ch) - 1))
        self.mid_block = Mid(ch[-1], btemb, g, eps, heads, ctx[-1])
        rev = list(reversed(ch))
        self.up_blocks = nn.ModuleList()
        out = rev[0]
        for i, kind in enumerate(c["up_block_types"]):
            prev, out, cin = out, rev[i], rev[min(i + 1, len(ch) - 1)]
            self.up_blocks.append(Up(cin, out, prev, btemb, c["layers_per_block"] + 1, g, eps, kind.startswith("CrossAttn"), heads,
                                     list(reversed(ctx))[i], i < len(ch) - 1))
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=eps)
        self.conv_out = nn.Conv2d(ch[0], c["out_channels"], 3, padding=1)

    def forward(self, x, t, class_labels):  # x (B, C, H, W); class_labels (B, D)
        emb = self.time_embedding.linear_2(F.silu(self.time_embedding.linear_1(timestep_embedding(t, self.c["block_out_channels"][0]))))
        emb = torch.cat([emb.expand(x.shape[0], -1), self.class_embedding(class_labels)], dim=-1)
        x = self.conv_in(x)
        states = [x]
        for d in self.down_blocks:
            x, s = d(x, emb)
            states += s
        x = self.mid_block(x, emb)
        for i, u in enumerate(self.up_blocks):
            skips = states[-len(u.resnets):]
            states = states[:-len(u.resnets)]
            x = u(x, emb, skips, states[-1].shape[2:] if states else None)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


# AudioLDM's DDIM (diffusers' DDIMScheduler with the config above: eta 0, "leading" spacing).
def ddim_tables(s):
    betas = torch.linspace(s["beta_start"] ** 0.5, s["beta_end"] ** 0.5, s["num_train_timesteps"], dtype=torch.float32) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def ddim_timesteps(s, steps):
    ratio = s["num_train_timesteps"] // steps
    return [int(i * ratio) + s["steps_offset"] for i in reversed(range(steps))]


def ddim_step(s, acp, steps, eps, t, x):
    prev = t - s["num_train_timesteps"] // steps
    a = acp[t]
    a_prev = acp[prev] if prev >= 0 else (torch.tensor(1.0) if s["set_alpha_to_one"] else acp[0])
    x0 = (x - (1 - a) ** 0.5 * eps) / a ** 0.5
    return a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps


def splitmix_gaussians(seed, count):
    """SplitMix64 words, two 53-bit uniforms per pair, Box-Muller: as AudioldmPipeline's latents."""
    state = seed & 0xFFFFFFFFFFFFFFFF
    mask = 0xFFFFFFFFFFFFFFFF

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    out = []
    while len(out) < count:
        u1 = (nxt() >> 11) * 2.0 ** -53
        u2 = (nxt() >> 11) * 2.0 ** -53
        r = math.sqrt(-2.0 * math.log(1.0 - u1))
        out += [r * math.cos(2 * math.pi * u2), r * math.sin(2 * math.pi * u2)]
    return np.array(out[:count], dtype=np.float32)


def save(t, path):
    t.detach().numpy().astype(np.float32).tofile(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--size", choices=["tiny", "real"], default="tiny")
    ap.add_argument("--no-reference", action="store_true", help="write the UNet checkpoint only (benchmarks)")
    ap.add_argument("--text-dim", type=int, help="the text embedding's size (projection_class_embeddings_input_dim)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    cfg = REAL_UNET if a.size == "real" else UNET
    if a.text_dim:
        cfg = dict(cfg, projection_class_embeddings_input_dim=a.text_dim)
    unet = Unet(cfg).eval()
    with torch.no_grad():  # norms' affine parameters away from 1 and 0, biases non-zero, so they matter
        for name, p in unet.named_parameters():
            if "norm" in name:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
            elif name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.05)
    os.makedirs(os.path.join(a.out, "unet"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "scheduler"), exist_ok=True)
    torch.save(unet.state_dict(), os.path.join(a.out, "unet", "diffusion_pytorch_model.bin"))
    json.dump(cfg, open(os.path.join(a.out, "unet", "config.json"), "w"))
    json.dump(SCHEDULER, open(os.path.join(a.out, "scheduler", "scheduler_config.json"), "w"))
    if a.no_reference:
        return
    dim = cfg["projection_class_embeddings_input_dim"]
    cond = F.normalize(torch.randn(1, dim), dim=-1)
    uncond = F.normalize(torch.randn(1, dim), dim=-1)
    save(cond, os.path.join(a.out, "cond.f32"))
    save(uncond, os.path.join(a.out, "uncond.f32"))
    columns = 8
    with torch.no_grad():
        for rows, t in ((12, 901), (5, 17)):
            x = torch.randn(1, cfg["in_channels"], rows, columns)
            save(x, os.path.join(a.out, f"x_{rows}.f32"))
            save(unet(x, t, cond), os.path.join(a.out, f"pred_{rows}.f32"))
    # The pipeline: decode_ref's tiny VAE (2 blocks: 2 mel frames and bins per latent row and
    # column, 4 latent channels) and vocoder (10 samples a frame at 16 kHz) in the same folder.
    rc = os.system(f"{sys.executable} {os.path.join(os.path.dirname(os.path.abspath(__file__)), 'audioldm_reference.py')} --out {a.out} --seed {a.seed} >/dev/null")
    if rc != 0:
        sys.exit("audioldm_reference.py failed")
    torch.manual_seed(a.seed)
    voc = decode_ref.Vocoder(decode_ref.VOCODER).eval()
    voc.load_state_dict(torch.load(os.path.join(a.out, "vocoder", "pytorch_model.bin")))
    vae = decode_ref.Vae(decode_ref.VAE).eval()
    vae.load_state_dict(torch.load(os.path.join(a.out, "vae", "diffusion_pytorch_model.bin")))
    seconds, steps, guidance, seed = 0.05, 3, 2.5, 7
    hop = int(np.prod(decode_ref.VOCODER["upsample_rates"]))
    rate = decode_ref.VOCODER["sampling_rate"]
    scale = 2 ** (len(decode_ref.VAE["block_out_channels"]) - 1)
    height = int(seconds * rate) // hop  # mel frames, then rounded up to a whole latent row
    height = -(-height // scale) * scale
    shape = (1, cfg["in_channels"], height // scale, decode_ref.VOCODER["model_in_dim"] // scale)
    x = torch.from_numpy(splitmix_gaussians(seed, int(np.prod(shape)))).reshape(shape)
    save(x, os.path.join(a.out, "traj_start.f32"))
    acp = ddim_tables(SCHEDULER)
    traj = []
    with torch.no_grad():
        for t in ddim_timesteps(SCHEDULER, steps):
            e = unet(torch.cat([x, x]), t, torch.cat([uncond, cond]))
            eps = e[0:1] + guidance * (e[1:2] - e[0:1])
            x = ddim_step(SCHEDULER, acp, steps, eps, t, x)
            traj.append(x.clone())
        audio = voc(vae.decode_latents(x))[: int(seconds * rate)]
    save(torch.stack(traj), os.path.join(a.out, "traj.f32"))
    save(audio, os.path.join(a.out, "pipeline_audio.f32"))
    open(os.path.join(a.out, "pipeline.txt"), "w").write(f"{seconds} {steps} {guidance} {seed} {shape[2]} {shape[3]}")
    print(f"{a.out}: latents {tuple(shape)}, timesteps {ddim_timesteps(SCHEDULER, steps)}, {audio.shape[0]} samples, peak {audio.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
