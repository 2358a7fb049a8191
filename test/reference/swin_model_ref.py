"""A Swin Transformer in PyTorch, written here from the semantics of microsoft/Swin-Transformer's
models/swin_transformer.py (see /work/shared/REFERENCE.md): same module tree, so the same
state_dict keys (relative_position_index and attn_mask are persistent buffers), the same op
order in every forward. Shared by test/reference/make_swin_model_fixtures.py and
bench/python/swin_model.py."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def drop_path(x, p, training):
    if p == 0.0 or not training:
        return x
    keep = 1.0 - p
    mask = torch.floor(keep + torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device))
    return x.div(keep) * mask


class DropPath(nn.Module):
    def __init__(self, p=0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        return drop_path(x, self.p, self.training)


class Mlp(nn.Module):
    def __init__(self, dim, hidden, drop=0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


def partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C).permute(0, 1, 3, 2, 4, 5).contiguous()
    return x.view(-1, ws, ws, C)


def reverse(w, ws, H, W):
    B = w.shape[0] // ((H // ws) * (W // ws))
    x = w.view(B, H // ws, W // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).contiguous()
    return x.view(B, H, W, -1)


def rel_index(ws):
    hh, ww = torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing='ij')
    coords = torch.stack([hh.flatten(), ww.flatten()])              # (2, N)
    d = coords[:, :, None] - coords[:, None, :]                      # (2, N, N)
    return (d[0] + ws - 1) * (2 * ws - 1) + (d[1] + ws - 1)


def shift_mask(H, W, ws, s):
    img = torch.zeros((1, H, W, 1))
    label = 0
    for hs in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
        for wsl in (slice(0, -ws), slice(-ws, -s), slice(-s, None)):
            img[:, hs, wsl, :] = label
            label += 1
    m = partition(img, ws).view(-1, ws * ws)
    m = m.unsqueeze(1) - m.unsqueeze(2)
    return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)


class WindowAttention(nn.Module):
    def __init__(self, dim, ws, heads, qkv_bias=True, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.ws, self.heads = ws, heads
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        self.register_buffer('relative_position_index', rel_index(ws))
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = q @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj_drop(self.proj(x))


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim, res, heads, ws=7, shift=0, mlp_ratio=4.0, qkv_bias=True, drop=0.0, attn_drop=0.0, dp=0.0):
        super().__init__()
        self.dim, self.res = dim, res
        if min(res) <= ws:
            shift, ws = 0, min(res)
        self.ws, self.shift = ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(dp)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        self.register_buffer('attn_mask', shift_mask(res[0], res[1], ws, shift) if shift > 0 else None)

    def forward(self, x):
        H, W = self.res
        B, L, C = x.shape
        assert L == H * W
        shortcut = x
        x = self.norm1(x).view(B, H, W, C)
        if self.shift > 0:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        xw = partition(x, self.ws).view(-1, self.ws * self.ws, C)
        aw = self.attn(xw, mask=self.attn_mask).view(-1, self.ws, self.ws, C)
        x = reverse(aw, self.ws, H, W)
        if self.shift > 0:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = shortcut + self.drop_path(x.view(B, H * W, C))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    def __init__(self, res, dim):
        super().__init__()
        self.res = res
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        H, W = self.res
        B, L, C = x.shape
        x = x.view(B, H, W, C)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(B, -1, 4 * C)))


class BasicLayer(nn.Module):
    def __init__(self, dim, res, depth, heads, ws, mlp_ratio, qkv_bias, drop, attn_drop, dps, downsample):
        super().__init__()
        self.blocks = nn.ModuleList([
            SwinTransformerBlock(dim, res, heads, ws, 0 if i % 2 == 0 else ws // 2, mlp_ratio, qkv_bias, drop, attn_drop, dps[i])
            for i in range(depth)])
        self.downsample = PatchMerging(res, dim) if downsample else None

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, img, patch, in_chans, embed, norm):
        super().__init__()
        self.img, self.patch = img, patch
        self.proj = nn.Conv2d(in_chans, embed, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(embed) if norm else None

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        return self.norm(x) if self.norm is not None else x


class SwinTransformer(nn.Module):
    def __init__(self, img=224, patch=4, in_chans=3, num_classes=1000, embed=96, depths=(2, 2, 6, 2), heads=(3, 6, 12, 24),
                 ws=7, mlp_ratio=4.0, qkv_bias=True, drop=0.0, attn_drop=0.0, dpr=0.1, patch_norm=True):
        super().__init__()
        n = len(depths)
        self.patch_embed = PatchEmbed(img, patch, in_chans, embed, patch_norm)
        pr = img // patch
        self.pos_drop = nn.Dropout(drop)
        rates = torch.linspace(0, dpr, sum(depths)).tolist()
        self.layers = nn.ModuleList()
        for i in range(n):
            r = pr // 2 ** i
            self.layers.append(BasicLayer(embed * 2 ** i, (r, r), depths[i], heads[i], ws, mlp_ratio, qkv_bias, drop, attn_drop,
                                          rates[sum(depths[:i]):sum(depths[:i + 1])], i < n - 1))
        self.num_features = embed * 2 ** (n - 1)
        self.norm = nn.LayerNorm(self.num_features)
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x):
        x = self.pos_drop(self.patch_embed(x))
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        return torch.flatten(self.avgpool(x.transpose(1, 2)), 1)

    def forward(self, x):
        return self.head(self.forward_features(x))
