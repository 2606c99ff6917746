"""PyTorch CPU reference timing for bench/run.ts: the google/ddpm-cifar10-32 UNet forward, 2 threads.

diffusers is not installable here (only Debian's python3-torch is), so this file builds the same network as
diffusers 0.30.3's UNet2DModel for that config with plain torch.nn modules: the same layers, shapes and order of
operations (NCHW, GroupNorm + SiLU, 3x3 convs, attention as baddbmm/softmax/bmm like diffusers' AttnProcessor on
torch < 2), with random weights. It is a timing reference, not a numerical one.

    python3 bench/torch_unet.py --batches 1,8,16 --runs 5 --threads 2

Prints one line `TORCH_UNET_RESULT {json}` at the end.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

GROUPS = 32
EPS = 1e-6


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb=512):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin, eps=EPS)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(GROUPS, cout, eps=EPS)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.group_norm = nn.GroupNorm(GROUPS, c, eps=EPS)
        self.to_q, self.to_k, self.to_v, self.to_out = (nn.Linear(c, c) for _ in range(4))
        self.scale = c ** -0.5

    def forward(self, x):
        n, c, h, w = x.shape
        s = self.group_norm(x).view(n, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(s), self.to_k(s), self.to_v(s)
        scores = torch.baddbmm(torch.empty(n, h * w, h * w, dtype=q.dtype), q, k.transpose(-1, -2), beta=0, alpha=self.scale)
        o = torch.bmm(scores.softmax(dim=-1), v)
        return self.to_out(o).transpose(-1, -2).reshape(n, c, h, w) + x


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    """UNet2DModel(block_out_channels=(128, 256, 256, 256), layers_per_block=2, attention in the second block)."""

    def __init__(self, channels=(128, 256, 256, 256), attn=(False, True, False, False), layers=2):
        super().__init__()
        self.conv_in = nn.Conv2d(3, channels[0], 3, padding=1)
        self.time_embedding = nn.Sequential(nn.Linear(channels[0], 512), nn.SiLU(), nn.Linear(512, 512))
        self.down = nn.ModuleList()
        cin = channels[0]
        for i, cout in enumerate(channels):
            block = nn.Module()
            block.resnets = nn.ModuleList(ResnetBlock2D(cin if j == 0 else cout, cout) for j in range(layers))
            block.attentions = nn.ModuleList(Attention(cout) for _ in range(layers)) if attn[i] else None
            block.downsample = Downsample2D(cout) if i < len(channels) - 1 else None
            self.down.append(block)
            cin = cout
        self.mid_res1 = ResnetBlock2D(channels[-1], channels[-1])
        self.mid_attn = Attention(channels[-1])
        self.mid_res2 = ResnetBlock2D(channels[-1], channels[-1])
        self.up = nn.ModuleList()
        rev = list(reversed(channels))
        rev_attn = list(reversed(attn))
        prev = rev[0]
        for i, cout in enumerate(rev):
            skip_in = rev[min(i + 1, len(rev) - 1)]
            block = nn.Module()
            block.resnets = nn.ModuleList(
                ResnetBlock2D((prev if j == 0 else cout) + (skip_in if j == layers else cout), cout) for j in range(layers + 1)
            )
            block.attentions = nn.ModuleList(Attention(cout) for _ in range(layers + 1)) if rev_attn[i] else None
            block.upsample = Upsample2D(cout) if i < len(rev) - 1 else None
            self.up.append(block)
            prev = cout
        self.conv_norm_out = nn.GroupNorm(GROUPS, channels[0], eps=EPS)
        self.conv_out = nn.Conv2d(channels[0], 3, 3, padding=1)
        self.temb_dim = channels[0]

    def timestep_embedding(self, t):
        # diffusers get_timestep_embedding(flip_sin_to_cos=False, downscale_freq_shift=1)
        half = self.temb_dim // 2
        exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - 1)
        emb = t[:, None].float() * torch.exp(exponent)[None, :]
        return torch.cat([emb.sin(), emb.cos()], dim=-1)

    def forward(self, x, t):
        temb = self.time_embedding(self.timestep_embedding(t))
        h = self.conv_in(x)
        skips = [h]
        for block in self.down:
            for j, resnet in enumerate(block.resnets):
                h = resnet(h, temb)
                if block.attentions is not None:
                    h = block.attentions[j](h)
                skips.append(h)
            if block.downsample is not None:
                h = block.downsample(h)
                skips.append(h)
        h = self.mid_res2(self.mid_attn(self.mid_res1(h, temb)), temb)
        for block in self.up:
            for j, resnet in enumerate(block.resnets):
                h = resnet(torch.cat([h, skips.pop()], dim=1), temb)
                if block.attentions is not None:
                    h = block.attentions[j](h)
            if block.upsample is not None:
                h = block.upsample(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def forward_gflop(model, batch=1):
    """2 x multiply-adds of every conv, linear and attention product (q k^T and p v) of one forward."""
    macs = []

    def conv_hook(m, inp, out):
        macs.append(out.numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups)

    def linear_hook(m, inp, out):
        macs.append(out.numel() * m.in_features)

    def attention_hook(m, inp, out):
        n, c, h, w = inp[0].shape
        macs.append(2 * n * (h * w) * (h * w) * c)

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attention_hook))
    with torch.no_grad():
        model(torch.randn(batch, 3, 32, 32), torch.full((batch,), 500))
    for h in hooks:
        h.remove()
    return 2 * sum(macs) / 1e9 / batch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,16")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = UNet().eval()
    params = sum(p.numel() for p in model.parameters())
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": params,
        "gflop_per_sample": forward_gflop(model),
        "batches": [],
    }
    with torch.no_grad():
        for batch in [int(b) for b in args.batches.split(",")]:
            x = torch.randn(batch, 3, 32, 32)
            t = torch.full((batch,), 999)
            start = time.perf_counter()
            model(x, t)
            first = time.perf_counter() - start
            model(x, t)  # warm-up
            times = []
            for i in range(args.runs):
                start = time.perf_counter()
                model(x, torch.full((batch,), 500 + i))
                times.append(time.perf_counter() - start)
            med = statistics.median(times) * 1000
            result["batches"].append(
                {"batch": batch, "firstMs": first * 1000, "medianMs": med, "minMs": min(times) * 1000, "runs": args.runs, "msPerSample": med / batch}
            )
    print("TORCH_UNET_RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
