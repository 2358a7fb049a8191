"""Swin Transformer V2 in plain torch, following the semantics of the official
models/swin_transformer_v2.py (microsoft/Swin-Transformer) — scaled cosine attention with a
clamped learnable logit scale, the continuous position bias MLP over log-spaced coordinates
(16·sigmoid), res-post-norm blocks, PatchMerging normalising after the reduction — with its
module and parameter names. Written for the fixtures of test/swin_v2.test.ts; reuses the V1
pieces of swin_model_ref.py. Not the official code.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from swin_model_ref import DropPath, Mlp, PatchEmbed, partition, rel_index, reverse, shift_mask


def coords_table(ws, pretrained=0):
    d = (pretrained - 1) if pretrained > 0 else (ws - 1)
    h = torch.arange(-(ws - 1), ws, dtype=torch.float32)
    w = torch.arange(-(ws - 1), ws, dtype=torch.float32)
    t = torch.stack(torch.meshgrid([h, w], indexing='ij')).permute(1, 2, 0).contiguous().unsqueeze(0) / d
    t = t * 8
    return torch.sign(t) * torch.log2(torch.abs(t) + 1.0) / np.log2(8)


class WindowAttentionV2(nn.Module):
    def __init__(self, dim, ws, heads, qkv_bias=True, pretrained=0):
        super().__init__()
        self.dim, self.ws, self.heads = dim, ws, heads
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True), nn.Linear(512, heads, bias=False))
        self.register_buffer('relative_coords_table', coords_table(ws, pretrained))
        self.register_buffer('relative_position_index', rel_index(ws))
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.v_bias = nn.Parameter(torch.zeros(dim)) if qkv_bias else None
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias)) if self.q_bias is not None else None
        qkv = F.linear(x, self.qkv.weight, bias).reshape(B_, N, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(self.logit_scale, max=math.log(1. / 0.01)).exp()
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.heads)
        rpb = table[self.relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
        attn = attn + 16 * torch.sigmoid(rpb).unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        attn = attn.softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B_, N, C))


class SwinTransformerBlockV2(nn.Module):
    def __init__(self, dim, res, heads, ws=7, shift=0, mlp_ratio=4.0, qkv_bias=True, dp=0.0, pretrained=0):
        super().__init__()
        self.dim, self.res = dim, res
        if min(res) <= ws:
            shift, ws = 0, min(res)
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttentionV2(dim, ws, heads, qkv_bias, pretrained)
        self.drop_path = DropPath(dp)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.register_buffer('attn_mask', shift_mask(res[0], res[1], ws, shift) if shift > 0 else None)

    def forward(self, x):
        H, W = self.res
        B, L, C = x.shape
        shortcut = x
        x = x.view(B, H, W, C)
        if self.shift > 0:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        aw = self.attn(partition(x, self.ws).view(-1, self.ws * self.ws, C), mask=self.attn_mask).view(-1, self.ws, self.ws, C)
        x = reverse(aw, self.ws, H, W)
        if self.shift > 0:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = shortcut + self.drop_path(self.norm1(x.reshape(B, H * W, C)))
        return x + self.drop_path(self.norm2(self.mlp(x)))


class PatchMergingV2(nn.Module):
    def __init__(self, res, dim):
        super().__init__()
        self.res = res
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x):
        H, W = self.res
        B, L, C = x.shape
        x = x.view(B, H, W, C)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.norm(self.reduction(x.view(B, -1, 4 * C)))


class BasicLayerV2(nn.Module):
    def __init__(self, dim, res, depth, heads, ws, downsample):
        super().__init__()
        self.blocks = nn.ModuleList([SwinTransformerBlockV2(dim, res, heads, ws, 0 if i % 2 == 0 else ws // 2) for i in range(depth)])
        self.downsample = PatchMergingV2(res, dim) if downsample else None

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.downsample(x) if self.downsample is not None else x


class SwinTransformerV2(nn.Module):
    def __init__(self, img, patch, in_chans, num_classes, embed, depths, heads, ws):
        super().__init__()
        n = len(depths)
        self.patch_embed = PatchEmbed(img, patch, in_chans, embed, True)
        self.pos_drop = nn.Dropout(0.0)
        pr = img // patch
        self.layers = nn.ModuleList([BasicLayerV2(embed * 2 ** i, (pr // 2 ** i, pr // 2 ** i), depths[i], heads[i], ws, i < n - 1) for i in range(n)])
        self.num_features = embed * 2 ** (n - 1)
        self.norm = nn.LayerNorm(self.num_features)
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(self.num_features, num_classes)

    def forward(self, x):
        x = self.pos_drop(self.patch_embed(x))
        for layer in self.layers:
            x = layer(x)
        return self.head(torch.flatten(self.avgpool(self.norm(x).transpose(1, 2)), 1))
