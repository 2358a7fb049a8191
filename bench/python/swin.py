"""Swin window attention from Python: the baseline for bench/swin.ts.

Run by the Node benchmark with /usr/bin/python3 (Debian python3-torch 1.13, the libtorch the
addon links) and the same thread settings. The code is written op for op like the official
microsoft/Swin-Transformer models/swin_transformer.py (from its semantics, see
/work/shared/REFERENCE.md): torch.roll(-shift) + view/permute window partition, and
WindowAttention.forward after the qkv projection: q * scale @ k^T, + the relative position
bias gathered from the table, + the shift mask per window, softmax, @ v; and a whole
SwinTransformerBlock.forward (pre-norm, window attention with qkv and proj, MLP with GELU,
residuals) as functional code.

    swin.py THREADS CONFIG_JSON   -> {"rows": [{"case", "ms"}], "torch"}

CONFIG_JSON: {"batch", "res", "window", "shift", "dim", "heads", "reps"}. Prints one JSON line.
"""
import json
import sys
import time

import torch

from timing import median, timed  # noqa: E402  (bench/python/timing.py)
import torch.nn.functional as F




def window_partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws, ws, C)


def window_reverse(windows, ws, H, W):
    B = windows.shape[0] // ((H // ws) * (W // ws))
    x = windows.view(B, H // ws, W // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def shift_mask(H, W, ws, shift):
    img_mask = torch.zeros((1, H, W, 1))
    cnt = 0
    for h in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
        for w in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            img_mask[:, h, w, :] = cnt
            cnt += 1
    mw = window_partition(img_mask, ws).view(-1, ws * ws)
    m = mw.unsqueeze(1) - mw.unsqueeze(2)
    return m.masked_fill(m != 0, -100.0).masked_fill(m == 0, 0.0)


def relative_position_index(ws):
    coords = torch.stack(torch.meshgrid([torch.arange(ws), torch.arange(ws)], indexing='ij'))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += ws - 1
    rel[:, :, 1] += ws - 1
    rel[:, :, 0] *= 2 * ws - 1
    return rel.sum(-1)


def window_attention(q, k, v, table, index, mask, scale):
    B_, nH, N, _ = q.shape
    q = q * scale
    attn = q @ k.transpose(-2, -1)
    bias = table[index.view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
    attn = attn + bias.unsqueeze(0)
    nW = mask.shape[0]
    attn = attn.view(B_ // nW, nW, nH, N, N) + mask.unsqueeze(1).unsqueeze(0)
    attn = attn.view(-1, nH, N, N).softmax(dim=-1)
    return attn @ v


def swin_block(x, p, H, W, ws, shift, nH, mask, index):
    """SwinTransformerBlock.forward, op for op (pre-norm, drop path 0): attention half then MLP."""
    B, L, C = x.shape
    N, d = ws * ws, C // nH
    shortcut = x
    x = F.layer_norm(x, (C,), p['norm1_w'], p['norm1_b']).view(B, H, W, C)
    x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
    xw = window_partition(x, ws).view(-1, N, C)
    Bw = xw.shape[0]
    qkv = F.linear(xw, p['qkv_w'], p['qkv_b']).reshape(Bw, N, 3, nH, d).permute(2, 0, 3, 1, 4)
    o = window_attention(qkv[0], qkv[1], qkv[2], p['table'], index, mask, d ** -0.5)
    o = F.linear(o.transpose(1, 2).reshape(Bw, N, C), p['proj_w'], p['proj_b'])
    x = window_reverse(o.view(-1, ws, ws, C), ws, H, W)
    x = torch.roll(x, shifts=(shift, shift), dims=(1, 2)).view(B, H * W, C)
    x = shortcut + x
    h = F.layer_norm(x, (C,), p['norm2_w'], p['norm2_b'])
    return x + F.linear(F.gelu(F.linear(h, p['fc1_w'], p['fc1_b'])), p['fc2_w'], p['fc2_b'])


def block_params(C, nH, ws, hidden):
    return {
        'norm1_w': torch.ones(C), 'norm1_b': torch.zeros(C),
        'qkv_w': torch.randn(3 * C, C) * C ** -0.5, 'qkv_b': torch.zeros(3 * C),
        'proj_w': torch.randn(C, C) * C ** -0.5, 'proj_b': torch.zeros(C),
        'table': torch.randn((2 * ws - 1) ** 2, nH) * 0.02,
        'norm2_w': torch.ones(C), 'norm2_b': torch.zeros(C),
        'fc1_w': torch.randn(hidden, C) * C ** -0.5, 'fc1_b': torch.zeros(hidden),
        'fc2_w': torch.randn(C, hidden) * hidden ** -0.5, 'fc2_b': torch.zeros(C),
    }


def run(threads, cfg):
    torch.set_num_threads(threads)
    B, res, ws, shift, dim, nH = cfg['batch'], cfg['res'], cfg['window'], cfg['shift'], cfg['dim'], cfg['heads']
    reps = cfg.get('reps', 7)
    nW, N, d = (res // ws) ** 2, ws * ws, dim // nH
    q, k, v = (torch.randn(B * nW, nH, N, d) for _ in range(3))
    table = (torch.randn((2 * ws - 1) ** 2, nH) * 0.02)
    index = relative_position_index(ws)
    mask = shift_mask(res, res, ws, shift)
    scale = d ** -0.5
    rows = []
    with torch.no_grad():
        rows.append(dict(case='attn fwd', ms=timed(lambda: window_attention(q, k, v, table, index, mask, scale), reps)))
    qg, kg, vg, tg = (t.clone().requires_grad_(True) for t in (q, k, v, table))
    g = torch.randn(B * nW, nH, N, d)

    def step():
        out = window_attention(qg, kg, vg, tg, index, mask, scale)
        out.backward(g)
        for t in (qg, kg, vg, tg):
            t.grad = None
    rows.append(dict(case='attn fwd+bwd', ms=timed(step, reps)))
    x = torch.randn(B, res, res, dim)
    with torch.no_grad():
        def part():
            return window_partition(torch.roll(x, shifts=(-shift, -shift), dims=(1, 2)), ws).view(-1, N, dim)
        rows.append(dict(case='roll+partition', ms=timed(part, reps)))
        w = part()
        rows.append(dict(case='reverse+roll', ms=timed(
            lambda: torch.roll(window_reverse(w.view(-1, ws, ws, dim), ws, res, res), shifts=(shift, shift), dims=(1, 2)), reps)))
    p = block_params(dim, nH, ws, 4 * dim)
    xb = torch.randn(B, res * res, dim)
    with torch.no_grad():
        rows.append(dict(case='block fwd', ms=timed(lambda: swin_block(xb, p, res, res, ws, shift, nH, mask, index), reps)))
    pg = {k: t.clone().requires_grad_(True) for k, t in p.items()}
    xg = xb.clone().requires_grad_(True)
    gb = torch.randn(B, res * res, dim)

    def block_step():
        swin_block(xg, pg, res, res, ws, shift, nH, mask, index).backward(gb)
        for t in [xg, *pg.values()]:
            t.grad = None
    rows.append(dict(case='block fwd+bwd', ms=timed(block_step, reps)))
    return dict(rows=rows, torch=torch.__version__)


if __name__ == '__main__':
    print(json.dumps(run(int(sys.argv[1]), json.loads(sys.argv[2]))))
