#!/usr/bin/python3
"""Writes test/fixtures/swin.safetensors, the reference of test/swin_ops.test.ts.

Run with the Debian PyTorch (python3-torch 1.13), from the repository root:

    npm run fixtures:swin          # = /usr/bin/python3 test/reference/make_swin_fixtures.py

The reference below is written here from the semantics of microsoft/Swin-Transformer's
models/swin_transformer.py (see /work/shared/REFERENCE.md): the view/permute window
partition and its reverse, torch.roll by -shift before the partition and +shift after the
reverse, the shift mask labelled by slices (0, -ws), (-ws, -shift), (-shift, None) with
-100.0 where labels differ, the relative position index (dh + Wh - 1) * (2 Ww - 1) +
(dw + Ww - 1), and the unfused window attention (q * scale @ k^T, + bias, + mask per window,
softmax, @ v). Padding to window multiples is F.pad on the right and bottom, as the
detection variants do.

Names follow make_fixtures.py: <case>.in.<name>, <case>.out, <case>.gout, <case>.grad.<name>
(float64; gradients of sum(out * gout)). Everything is seeded: a re-run writes the same bytes.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import OUT, Fixture, randn, write_safetensors  # noqa: E402  (seeded on import)

F64 = torch.float64


# ---------------------------------------------------------------------------------------
# The reference (official semantics).

def window_partition(x, ws):
    """(B, H, W, C) -> (B * nW, ws, ws, C)."""
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def window_reverse(windows, ws, H, W):
    """(B * nW, ws, ws, C) -> (B, H, W, C)."""
    B = windows.shape[0] // ((H // ws) * (W // ws))
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def roll_partition(x, ws, shift):
    """roll(-shift) then partition, flattened as the blocks do: (B * nW, ws * ws, C)."""
    if shift > 0:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    return window_partition(x, ws).view(-1, ws * ws, x.shape[-1])


def merge_roll(windows, ws, H, W, shift):
    """reverse then roll(+shift)."""
    x = window_reverse(windows.view(-1, ws, ws, windows.shape[-1]), ws, H, W)
    if shift > 0:
        x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
    return x


def shift_mask(H, W, ws, shift, fill=-100.0):
    """The attn_mask of a shifted block at padded resolution H x W: (nW, N, N)."""
    img_mask = torch.zeros((1, H, W, 1))
    cnt = 0
    slices = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mask_windows = window_partition(img_mask, ws).view(-1, ws * ws)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, float(fill)).masked_fill(attn_mask == 0, 0.0)


def relative_position_index(wh, ww):
    coords = torch.stack(torch.meshgrid([torch.arange(wh), torch.arange(ww)], indexing='ij'))  # 2, Wh, Ww
    flat = torch.flatten(coords, 1)  # 2, N
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()  # N, N, 2
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    return rel.sum(-1)


def window_attention(q, k, v, table, index, mask, scale):
    """Unfused, op for op as WindowAttention.forward after the qkv projection."""
    Bw, nH, N, _ = q.shape
    q = q * scale
    attn = q @ k.transpose(-2, -1)
    bias = table[index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
    attn = attn + bias.unsqueeze(0)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(Bw // nW, nW, nH, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, nH, N, N)
    attn = attn.softmax(dim=-1)
    return attn @ v


def pad_to_window(x, ws):
    _, H, W, _ = x.shape
    pad_b = (ws - H % ws) % ws
    pad_r = (ws - W % ws) % ws
    return F.pad(x, (0, 0, 0, pad_r, 0, pad_b))


def patch_merge(x):
    """PatchMerging's gather (before its LayerNorm and Linear), odd sizes padded as the
    detection variants do."""
    _, H, W, _ = x.shape
    if H % 2 == 1 or W % 2 == 1:
        x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
    x0 = x[:, 0::2, 0::2, :]
    x1 = x[:, 1::2, 0::2, :]
    x2 = x[:, 0::2, 1::2, :]
    x3 = x[:, 1::2, 1::2, :]
    return torch.cat([x0, x1, x2, x3], -1)


# ---------------------------------------------------------------------------------------
# Cases.

def partition_cases(fx):
    ws = 7
    for (B, H, W, C) in ((2, 14, 14, 3), (1, 56, 56, 1), (1, 21, 35, 2)):
        for shift in (0, 3):
            x = randn(B, H, W, C)
            fx.case(f'rollpart_{H}x{W}_s{shift}', lambda x, shift=shift: roll_partition(x, ws, shift), {'x': x})
            nW = (H // ws) * (W // ws)
            w = randn(B * nW, ws * ws, C)
            fx.case(f'mergeroll_{H}x{W}_s{shift}', lambda windows, H=H, W=W, shift=shift: merge_roll(windows, ws, H, W, shift),
                    {'windows': w})
    fx.case('partition_14x14', lambda x: window_partition(x, ws), {'x': randn(2, 14, 14, 3)})
    fx.case('reverse_14x14', lambda windows: window_reverse(windows, ws, 14, 14), {'windows': randn(8, ws, ws, 3)})
    # A non-multiple resolution through padding: pad, shift + partition, merge + roll back, crop.
    x = randn(1, 30, 45, 2)

    def padded(x):
        xp = pad_to_window(x, ws)
        Hp, Wp = xp.shape[1], xp.shape[2]
        w = roll_partition(xp, ws, 3)
        y = merge_roll(w * 2.0, ws, Hp, Wp, 3)
        return w, y[:, :30, :45, :].contiguous()
    fx.case('padded_30x45_s3', padded, {'x': x})


def check_mask(mask):
    assert mask.dtype == torch.float32 and bool(((mask == 0) | (mask == -100.0)).all())
    return mask == -100.0


def merge_cases(fx):
    fx.case('patchmerge_14x14', patch_merge, {'x': randn(2, 14, 14, 3)})
    fx.case('patchmerge_7x9', patch_merge, {'x': randn(1, 7, 9, 2)})


def mask_cases(fx):
    for (H, W, shift) in ((14, 14, 3), (56, 56, 3), (35, 49, 3), (14, 21, 2), (7, 7, 3)):
        # stored as bool (mask == -100) to keep the file small; the values are 0 or -100 only
        fx.case(f'mask_{H}x{W}_s{shift}', lambda H=H, W=W, shift=shift: check_mask(shift_mask(H, W, 7, shift)), {},
                grad=False)
    for (wh, ww) in ((7, 7), (3, 5), (1, 1)):
        fx.case(f'index_{wh}x{ww}', lambda wh=wh, ww=ww: relative_position_index(wh, ww), {}, grad=False)


def attention_cases(fx):
    ws, N = 7, 49
    idx = relative_position_index(ws, ws)
    specs = (
        # name, B, H, W, nH, d, shift, fill
        ('attn_14x14_s3', 2, 14, 14, 2, 4, 3, -100.0),
        ('attn_14x14_s0', 2, 14, 14, 2, 4, 0, None),
        ('attn_14x14_s3_inf', 1, 14, 14, 2, 4, 3, float('-inf')),
        ('attn_56x56_s3', 1, 56, 56, 1, 2, 3, -100.0),
        ('attn_35x49_s3', 1, 35, 49, 1, 2, 3, -100.0),
    )
    for name, B, H, W, nH, d, shift, fill in specs:
        nW = (H // ws) * (W // ws)
        scale = d ** -0.5
        inputs = {
            'q': randn(B * nW, nH, N, d), 'k': randn(B * nW, nH, N, d), 'v': randn(B * nW, nH, N, d),
            'table': randn((2 * ws - 1) ** 2, nH) * 0.5, 'index': idx,
        }
        # The mask is not stored: the test builds it with shiftedWindowMask(H, W, 7, shift, fill)
        # (checked against mask_* above), in float32 as the official buffer.
        mask = shift_mask(H, W, ws, shift, fill) if fill is not None else None
        fx.case(name, lambda q, k, v, table, index, mask=mask, scale=scale: window_attention(q, k, v, table, index, mask, scale),
                inputs)


def block_attention(x, H, W, ws, shift, nH, qkv_w, qkv_b, proj_w, proj_b, table):
    """The attention half of SwinTransformerBlock.forward (no norm, no MLP, no residual):
    stage rule, roll, partition, WindowAttention (qkv, bias, mask, proj), reverse, roll back."""
    if min(H, W) <= ws:  # the official rule: no shift, window = resolution
        shift, ws = 0, min(H, W)
    B, L, C = x.shape
    N, d = ws * ws, C // nH
    x = x.view(B, H, W, C)
    if shift > 0:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    xw = window_partition(x, ws).view(-1, N, C)
    Bw = xw.shape[0]
    qkv = F.linear(xw, qkv_w, qkv_b).reshape(Bw, N, 3, nH, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    mask = shift_mask(H, W, ws, shift) if shift > 0 else None
    o = window_attention(q, k, v, table, relative_position_index(ws, ws), mask, d ** -0.5)
    y = F.linear(o.transpose(1, 2).reshape(Bw, N, C), proj_w, proj_b)
    y = window_reverse(y.view(-1, ws, ws, C), ws, H, W)
    if shift > 0:
        y = torch.roll(y, shifts=(shift, shift), dims=(1, 2))
    return y.view(B, H * W, C)


def block_cases(fx):
    C, nH = 8, 2
    for (B, H, W, shift) in ((2, 14, 14, 3), (2, 14, 14, 0), (1, 7, 7, 3), (1, 4, 4, 3)):
        ws = min(7, H, W)
        inputs = {
            'x': randn(B, H * W, C), 'qkv_w': randn(3 * C, C) * C ** -0.5, 'qkv_b': randn(3 * C) * 0.1,
            'proj_w': randn(C, C) * C ** -0.5, 'proj_b': randn(C) * 0.1, 'table': randn((2 * ws - 1) ** 2, nH) * 0.5,
        }
        fx.case(f'block_{H}x{W}_s{shift}',
                lambda H=H, W=W, shift=shift, **t: block_attention(t['x'], H, W, 7, shift, nH, t['qkv_w'], t['qkv_b'],
                                                                   t['proj_w'], t['proj_b'], t['table']),
                inputs)


class SwinFixture(Fixture):
    def write(self):
        path = os.path.join(OUT, f'{self.name}.safetensors')
        size = write_safetensors(path, self.tensors, {
            'generator': 'test/reference/make_swin_fixtures.py',
            'torch': torch.__version__,
            'cases': ','.join(self.cases),
        })
        print(f'{path}: {len(self.cases)} cases, {len(self.tensors)} tensors, {size} bytes')
        return size


def main():
    torch.set_num_threads(1)
    fx = SwinFixture('swin')
    partition_cases(fx)
    mask_cases(fx)
    attention_cases(fx)
    merge_cases(fx)  # appended after the others: keeps their random inputs unchanged
    block_cases(fx)
    size = fx.write()
    assert size < 3 * 1024 * 1024, 'the swin fixtures should stay under 3 MB'


if __name__ == '__main__':
    sys.exit(main())
