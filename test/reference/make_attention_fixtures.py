#!/usr/bin/python3
"""Writes the attention fixtures of test/attention.test.ts to test/fixtures/.

Run with the Debian PyTorch (python3-torch 1.13), from the repository root:

    /usr/bin/python3 test/reference/make_attention_fixtures.py

attention.safetensors: scaled dot-product attention against a float64 math reference
written here (matmul, masks, softmax; PyTorch 1.13 has neither bottom-right causal
alignment, GQA, sliding windows, ALiBi, key-padding lengths nor softcap, so the reference
implements them; where 1.13 has the feature, its own math path must agree: checked below).

Inputs are not stored: they are a formula of their shape and a seed (`gen`, `gen_mask`),
which test/attention.test.ts evaluates with the same libtorch ops. The file stores, per case,

    <case>.out            the output                 (or <case>.rows.out: the spec's `rows`)
    <case>.lse            the row log-sum-exp
    <case>.grad.<x>       d(sum(out * gout)) / dx for x in q, k, v (and mask), gout = gen(out.shape, seed + 3)
                          (or <case>.rows.grad.<x>: the spec's `gradRows` below x's length)
    <case>.sum.<x>        sum(x * gen(x.shape, 99)) in float64: a checksum of a tensor stored as rows

and the metadata key 'cases' holds the JSON list of case specs (shapes, options). Cases
named `f32_*` are stored as float32 (computed in float64) to keep the file small.

attention_mha.safetensors: torch.nn.MultiheadAttention (float64, training mode, dropout 0)
with its state_dict (`<case>.sd.<key>`), inputs (`<case>.in.<name>`), outputs (`.out`,
`.weights`), upstream gradients (`.gout`, `.gweights`) and the gradients of inputs and
parameters (`<case>.grad.<name>`); metadata 'cases' holds the constructor and forward
arguments.

Everything is deterministic (formulas and torch.manual_seed): a re-run writes the same bytes.
"""
import json
import math
import os
import struct

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures')
torch.set_num_threads(1)
F64 = torch.float64

# ---------------------------------------------------------------------------------------
# A minimal safetensors writer: 8-byte little-endian header length, a JSON header padded with
# spaces to a multiple of 8 bytes, then the raw little-endian bytes of each tensor.

ST_DTYPE = {torch.float64: 'F64', torch.float32: 'F32', torch.int64: 'I64', torch.bool: 'BOOL'}


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().numpy().tobytes()
        header[name] = {'dtype': ST_DTYPE[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    js = json.dumps(header, separators=(',', ':')).encode('utf-8')
    js += b' ' * ((8 - len(js) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)
    return os.path.getsize(path)


# ---------------------------------------------------------------------------------------
# Inputs as formulas (mirrored in test/attention.test.ts: same ops, same order).

def gen(shape, seed, amp=1.0):
    """sin(i·a + i²·b + c)·amp over the flat index i: deterministic, irregular, in [-amp, amp]."""
    n = math.prod(shape)
    i = torch.arange(n, dtype=F64)
    x = (i * (0.7 + 0.1 * seed) + i * i * (1e-3 * (1 + seed % 3)) + 0.37 * seed).sin() * amp
    return x.reshape(shape)


def gen_mask(shape, seed):
    """Boolean, about 4 in 5 true (integer arithmetic: exact on both sides)."""
    n = math.prod(shape)
    i = torch.arange(n, dtype=torch.int64)
    return ((i * 7 + seed * 3) % 5 != 0).reshape(shape)


# ---------------------------------------------------------------------------------------
# The float64 math reference.

def reference(q, k, v, mask=None, lengths=None, slopes=None, scale=None, causal=False, align='bottom-right',
              window=None, softcap=None):
    B, Hq, Lq, d = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    if Hq != Hkv:  # GQA: query head h reads kv head h // (Hq / Hkv)
        k = k.repeat_interleave(Hq // Hkv, 1)
        v = v.repeat_interleave(Hq // Hkv, 1)
    scale = 1 / math.sqrt(d) if scale is None else scale
    s = (q @ k.transpose(-1, -2)) * scale
    if softcap:
        s = softcap * torch.tanh(s / softcap)
    off = Lk - Lq if align == 'bottom-right' else 0
    pq = torch.arange(Lq).view(Lq, 1) + off  # the key position each query sits at
    pk = torch.arange(Lk).view(1, Lk)
    if slopes is not None:
        sl = slopes.view(1, Hq, 1, 1) if slopes.dim() == 1 else slopes.view(B, Hq, 1, 1)
        s = s - sl * (pq - pk).abs().to(F64)
    visible = torch.ones(B, Hq, Lq, Lk, dtype=torch.bool)
    if mask is not None:
        if mask.dtype == torch.bool:
            visible = visible & mask
        else:
            s = s + mask
    if causal:
        visible = visible & (pk <= pq)
    if window is not None:
        left, right = window
        if left >= 0:
            visible = visible & (pk >= pq - left)
        if right >= 0:
            visible = visible & (pk <= pq + right)
    if lengths is not None:
        visible = visible & (torch.arange(Lk).view(1, 1, 1, Lk) < lengths.view(B, 1, 1, 1))
    s = s.masked_fill(~visible, -math.inf)
    lse = torch.logsumexp(s, -1)
    alive = torch.isfinite(lse).unsqueeze(-1)  # rows with a visible key
    p = torch.softmax(torch.where(alive, s, torch.zeros_like(s)), -1) * alive
    return p @ v, lse


# ---------------------------------------------------------------------------------------
# Scaled dot-product attention cases.

CASES = []


def case(name, B=2, Hq=2, Hkv=None, Lq=5, Lk=7, d=8, dv=None, seed=1, grad=True, **opts):
    spec = dict(name=name, B=B, Hq=Hq, Hkv=Hkv or Hq, Lq=Lq, Lk=Lk, d=d, dv=dv or d, seed=seed, grad=grad, **opts)
    CASES.append(spec)


# masks: every kind, broadcast shapes
case('plain')
case('bool_mask_full', mask=dict(kind='bool', shape=[2, 2, 5, 7]))
case('bool_mask_2d', mask=dict(kind='bool', shape=[5, 7]), seed=2)
case('bool_mask_bcast', mask=dict(kind='bool', shape=[2, 1, 1, 7]), seed=3)
case('float_mask_full', mask=dict(kind='float', shape=[2, 2, 5, 7]), maskGrad=True, seed=4)
case('float_mask_bcast', mask=dict(kind='float', shape=[1, 2, 5, 1]), maskGrad=True, seed=5)
case('float_mask_2d', mask=dict(kind='float', shape=[5, 7]), maskGrad=True, seed=6)
case('float_mask_inf', mask=dict(kind='float-inf', shape=[2, 1, 5, 7]), seed=7)
case('scale', scale=0.9, seed=8)
# causal alignments with Lq != Lk (both ways), Lq == Lk
case('causal_br_short_q', Lq=5, Lk=9, causal=True, align='bottom-right', seed=9)
case('causal_tl_short_q', Lq=5, Lk=9, causal=True, align='top-left', seed=10)
case('causal_br_long_q', Lq=9, Lk=5, causal=True, align='bottom-right', seed=11)  # first rows see nothing
case('causal_tl_long_q', Lq=9, Lk=5, causal=True, align='top-left', seed=12)
case('causal_square', Lq=7, Lk=7, causal=True, seed=13)
case('causal_bool_mask', Lq=6, Lk=8, causal=True, mask=dict(kind='bool', shape=[6, 8]), seed=14)
# grouped-query and multi-query attention
case('gqa', Hq=4, Hkv=2, gqa=True, seed=15)
case('mqa', Hq=4, Hkv=1, gqa=True, causal=True, seed=16)
case('gqa_mask', Hq=6, Hkv=2, gqa=True, mask=dict(kind='float', shape=[2, 6, 5, 7]), maskGrad=True, seed=17)
# sliding windows
case('window_causal', Lq=9, Lk=9, causal=True, window=[3, -1], seed=18)
case('window_both', Lq=8, Lk=11, window=[2, 1], seed=19)
case('window_right_only', Lq=6, Lk=6, window=[-1, 0], seed=20)
case('window_top_left', Lq=8, Lk=5, window=[1, 2], align='top-left', seed=21)
# ALiBi, padding lengths, softcap, combinations
case('alibi', Hq=4, alibi=[0.5, 0.25, 0.125, 0.0625], causal=True, seed=22)
case('alibi_per_batch', alibi=[[0.3, 0.1], [0.7, 0.05]], Lq=4, Lk=9, seed=23)
case('lengths', lengths=[7, 3], seed=24)
case('lengths_zero', lengths=[0, 4], seed=25)  # batch 0 sees nothing: zeros
case('softcap', softcap=2.0, scale=1.5, seed=26, amp=3.0)
case('everything', Hq=4, Hkv=2, gqa=True, Lq=6, Lk=10, causal=True, window=[4, -1], alibi=[0.2, 0.1, 0.05, 0.02],
     lengths=[10, 8], softcap=5.0, mask=dict(kind='float', shape=[2, 1, 6, 10]), maskGrad=True, seed=27)
case('fully_masked_rows', mask=dict(kind='rows', shape=[2, 2, 5, 7]), seed=28)  # rows 1 and 3 hide every key
case('dv_differs', d=8, dv=12, seed=29)
case('lk_one', Lq=4, Lk=1, seed=30)
# non-contiguous inputs: (B, L, H, d) transposed, and a last dim with stride != 1
case('noncontig_bhld', layout='blhd', seed=31, causal=True)
case('noncontig_lastdim', layout='bhdl', seed=32, mask=dict(kind='bool', shape=[2, 2, 5, 7]))
# sizes that are not multiples of the kernel's blocks (float32 storage)
for L in (1, 3, 37):
    for d in (8, 16, 64, 80, 128):
        big = L == 37 and d >= 64  # gradients as rows and checksums only
        case(f'f32_L{L}_d{d}', B=1, Hq=1, Lq=L, Lk=L, d=d, seed=40 + L + d, causal=(d in (16, 80)), f32=True,
             **(dict(gradRows=[0, 17, 36]) if big else {}))
case('f32_cross_37x130', B=1, Hq=2, Lq=37, Lk=130, d=64, causal=True, seed=41, f32=True, gradRows=[0, 36, 129])
# long sequences: selected rows, lse and checksums only
case('big_L1000', B=1, Hq=1, Lq=1000, Lk=1000, d=64, seed=42, grad=False, rows=[0, 1, 2, 499, 500, 997, 998, 999])
case('big_L1000_causal', B=1, Hq=1, Lq=1000, Lk=1000, d=64, seed=43, grad=False, causal=True,
     rows=[0, 1, 2, 499, 500, 997, 998, 999])
case('big_cross_causal', B=1, Hq=2, Lq=1000, Lk=1100, d=80, seed=44, grad=False, causal=True, rows=[0, 255, 256, 999])
case('big_grad', B=1, Hq=1, Lq=1000, Lk=1000, d=16, seed=45, causal=True, rows=[0, 1, 511, 512, 999],
     gradRows=[0, 1, 511, 512, 999])


def make_inputs(c):
    B, Hq, Hkv, Lq, Lk, d, dv, seed = c['B'], c['Hq'], c['Hkv'], c['Lq'], c['Lk'], c['d'], c['dv'], c['seed']
    amp = c.get('amp', 1.5)
    layout = c.get('layout')

    def shaped(shape, s, a):
        if layout == 'blhd':  # generated as (B, L, H, d), viewed as (B, H, L, d)
            return gen([shape[0], shape[2], shape[1], shape[3]], s, a).transpose(1, 2)
        if layout == 'bhdl':  # generated as (B, H, d, L), viewed as (B, H, L, d)
            return gen([shape[0], shape[1], shape[3], shape[2]], s, a).transpose(2, 3)
        return gen(shape, s, a)

    q = shaped([B, Hq, Lq, d], seed, amp)
    k = shaped([B, Hkv, Lk, d], seed + 1, 1.0)
    v = shaped([B, Hkv, Lk, dv], seed + 2, 1.0)
    mask = None
    m = c.get('mask')
    if m:
        if m['kind'] == 'bool':
            mask = gen_mask(m['shape'], seed)
        elif m['kind'] == 'float':
            mask = gen(m['shape'], seed + 5, 2.0)
        elif m['kind'] == 'float-inf':
            mask = torch.where(gen_mask(m['shape'], seed), gen(m['shape'], seed + 5, 2.0), torch.tensor(-math.inf, dtype=F64))
        elif m['kind'] == 'rows':  # bool, rows 1 and 3 of every (b, h) fully hidden
            rows = torch.tensor([True, False, True, False, True]).view(1, 1, 5, 1)
            mask = gen_mask(m['shape'], seed) & rows
            mask[..., 0, 0] = True
    lengths = torch.tensor(c['lengths'], dtype=torch.int64) if 'lengths' in c else None
    slopes = torch.tensor(c['alibi'], dtype=F64) if 'alibi' in c else None
    return q, k, v, mask, lengths, slopes


def run_reference(c, q, k, v, mask, lengths, slopes):
    return reference(q, k, v, mask=mask, lengths=lengths, slopes=slopes, scale=c.get('scale'), causal=c.get('causal', False),
                     align=c.get('align', 'bottom-right'), window=c.get('window'), softcap=c.get('softcap'))


def check_against_torch(c, q, k, v, mask, out):
    """Where PyTorch 1.13's own math path has the feature, it must give our reference's answer."""
    if any(x in c for x in ('lengths', 'alibi', 'window', 'softcap', 'scale', 'gqa')):
        return False
    if c.get('causal') and c['Lq'] != c['Lk'] and c.get('align') != 'top-left':
        return False  # 1.13's is_causal is top-left only
    if c.get('mask', {}).get('kind') == 'rows' or (mask is not None and c.get('causal')):
        return False  # 1.13 gives NaN for rows that see nothing, and takes no mask with is_causal
    with torch.no_grad():
        m = mask
        if m is not None and m.dtype == torch.bool:  # as additive: 1.13's bool convention is its own
            m = torch.zeros(m.shape, dtype=F64).masked_fill(~m, -math.inf)
        if m is not None:
            m = m.expand(c['B'], c['Hq'], c['Lq'], c['Lk'])
        t = torch.nn.functional._scaled_dot_product_attention(q, k, v, m, 0.0, False, bool(c.get('causal')))[0]
    err = (t - out).abs().max().item()
    assert err < 1e-12, (c['name'], err)
    return True


def make_sdpa():
    tensors = {}
    checked = []
    for c in CASES:
        name = c['name']
        q, k, v, mask, lengths, slopes = make_inputs(c)
        leaves = [q, k, v] + ([mask] if c.get('maskGrad') else [])
        if c['grad']:
            for t in leaves:
                t.requires_grad_(True)
        out, lse = run_reference(c, q, k, v, mask, lengths, slopes)
        assert torch.isfinite(out).all(), name
        if check_against_torch(c, q.detach(), k.detach(), v.detach(), mask.detach() if mask is not None else None, out.detach()):
            checked.append(name)
        store = (lambda t: t.detach().to(torch.float32)) if c.get('f32') else (lambda t: t.detach().clone())
        rows = c.get('rows')
        gout = gen(list(out.shape), c['seed'] + 3)
        if rows is None:
            tensors[f'{name}.out'] = store(out)
            tensors[f'{name}.lse'] = store(lse)
        else:
            tensors[f'{name}.rows.out'] = out.detach()[:, :, rows, :].clone()
            tensors[f'{name}.lse'] = lse.detach().to(torch.float32)
            tensors[f'{name}.sum.out'] = (out.detach() * gen(list(out.shape), 99)).sum().view(1)
        if c['grad']:
            (out * gout).sum().backward()
            grad_rows = c.get('gradRows')
            for nm, t in zip(['q', 'k', 'v', 'mask'], leaves):
                assert torch.isfinite(t.grad).all(), (name, nm)
                if grad_rows is None:
                    tensors[f'{name}.grad.{nm}'] = store(t.grad)
                else:  # rows past a tensor's length are skipped
                    r = [i for i in grad_rows if i < t.grad.shape[2]]
                    tensors[f'{name}.sum.grad.{nm}'] = (t.grad * gen(list(t.grad.shape), 99)).sum().view(1)
                    tensors[f'{name}.rows.grad.{nm}'] = store(t.grad[:, :, r, :])
    print('cases checked against torch._scaled_dot_product_attention:', ', '.join(checked))
    return tensors


# ---------------------------------------------------------------------------------------
# torch.nn.MultiheadAttention cases.

MHA = [
    dict(name='self_seq_first_kpm', embedDim=16, numHeads=4, batchFirst=False, N=2, L=5, S=5, self=True,
         kpm='bool', needWeights=True, average=True),
    dict(name='cross_batch_first_kvdim', embedDim=16, numHeads=2, kdim=12, vdim=10, batchFirst=True, N=2, L=4, S=6,
         attnMask='float2d', needWeights=True, average=False),
    dict(name='cross_bool_masks', embedDim=12, numHeads=3, batchFirst=False, N=2, L=4, S=6, attnMask='bool3d',
         kpm='bool', needWeights=True, average=True),
    dict(name='float_mask_bool_kpm', embedDim=8, numHeads=2, batchFirst=True, N=3, L=3, S=5, attnMask='float2d',
         kpm='bool', needWeights=True, average=True),
    dict(name='no_bias_causal', embedDim=16, numHeads=4, bias=False, batchFirst=True, N=2, L=6, S=6, self=True,
         attnMask='causal', needWeights=False),
    dict(name='unbatched_float_kpm', embedDim=8, numHeads=2, batchFirst=False, N=None, L=4, S=7, kpm='float',
         needWeights=True, average=True),
]


def make_mha():
    tensors = {}
    for i, c in enumerate(MHA):
        torch.manual_seed(100 + i)
        name = c['name']
        E, H = c['embedDim'], c['numHeads']
        m = torch.nn.MultiheadAttention(E, H, dropout=0.0, bias=c.get('bias', True), kdim=c.get('kdim'), vdim=c.get('vdim'),
                                        batch_first=c['batchFirst'], dtype=F64)
        with torch.no_grad():  # non-zero biases so that they are tested too
            for pn, p in m.named_parameters():
                if pn.endswith('bias'):
                    p.copy_(torch.randn(p.shape, dtype=F64) * 0.1)
        for k, t in m.state_dict().items():
            tensors[f'{name}.sd.{k}'] = t.clone()
        N, L, S = c['N'], c['L'], c['S']
        kd, vd = c.get('kdim', E), c.get('vdim', E)

        def shape(T, D):
            if N is None:
                return [T, D]
            return [N, T, D] if c['batchFirst'] else [T, N, D]

        inputs = {'query': torch.randn(shape(L, E), dtype=F64)}
        if not c.get('self'):
            inputs['key'] = torch.randn(shape(S, kd), dtype=F64)
            inputs['value'] = torch.randn(shape(S, vd), dtype=F64)
        kw = {}
        if c.get('kpm') == 'bool':
            pad = torch.zeros(N, S, dtype=torch.bool)
            pad[0, S - 2:] = True  # batch 0: last two keys are padding
            pad[1, 0] = True  # batch 1: the first
            kw['key_padding_mask'] = pad
        elif c.get('kpm') == 'float':
            kw['key_padding_mask'] = torch.randn(S if N is None else (N, S), dtype=F64)
        am = c.get('attnMask')
        if am == 'float2d':
            kw['attn_mask'] = torch.randn(L, S, dtype=F64)
        elif am == 'bool3d':
            hide = torch.rand(N * H, L, S) < 0.3
            hide[..., 2] = False  # no row fully hidden (PyTorch would give NaN there)
            kw['attn_mask'] = hide
        elif am == 'causal':
            kw['attn_mask'] = torch.ones(L, S, dtype=torch.bool).triu(1)  # the TS side uses isCausal instead
        for k, t in inputs.items():
            tensors[f'{name}.in.{k}'] = t.clone()
            t.requires_grad_(True)
        for k, t in kw.items():
            if k != 'attn_mask' or am != 'causal':
                tensors[f'{name}.in.{k}'] = t.clone()
        q = inputs['query']
        key = inputs.get('key', q)
        value = inputs.get('value', q)
        out, w = m(q, key, value, need_weights=c['needWeights'], average_attn_weights=c.get('average', True), **kw)
        assert torch.isfinite(out).all(), name
        tensors[f'{name}.out'] = out.detach().clone()
        gout = torch.randn(out.shape, dtype=F64)
        tensors[f'{name}.gout'] = gout
        loss = (out * gout).sum()
        if w is not None:
            tensors[f'{name}.weights'] = w.detach().clone()
            gw = torch.randn(w.shape, dtype=F64)
            tensors[f'{name}.gweights'] = gw
            loss = loss + (w * gw).sum()
        loss.backward()
        for k, t in inputs.items():
            tensors[f'{name}.grad.{k}'] = t.grad.clone()
        for pn, p in m.named_parameters():
            tensors[f'{name}.grad.{pn}'] = p.grad.clone()
    return tensors


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    meta = {'cases': json.dumps(CASES, separators=(',', ':')), 'torch': torch.__version__}
    n = write_safetensors(os.path.join(OUT, 'attention.safetensors'), make_sdpa(), meta)
    print(f'attention.safetensors: {len(CASES)} cases, {n} bytes')
    meta = {'cases': json.dumps(MHA, separators=(',', ':')), 'torch': torch.__version__}
    n = write_safetensors(os.path.join(OUT, 'attention_mha.safetensors'), make_mha(), meta)
    print(f'attention_mha.safetensors: {len(MHA)} cases, {n} bytes')
