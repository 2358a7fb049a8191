#!/usr/bin/python3
"""Writes the reference fixtures of the test suite to test/fixtures/.

Run with the Debian PyTorch (python3-torch 1.13, numpy), from the repository root:

    npm run fixtures          # = /usr/bin/python3 test/reference/make_fixtures.py

Every fixture file holds, for each case, its inputs AND the expected outputs AND the
gradients, under the names

    <case>.in.<name>     an input (float inputs listed in <case>.grad.* get requires_grad)
    <case>.out           the output (or <case>.out.0, <case>.out.1, ... for several)
    <case>.gout          the upstream gradient fed to backward (or <case>.gout.<i> for
                         output i; only floating outputs get one)
    <case>.grad.<name>   d(sum(out * gout)) / d(input <name>)

The TypeScript side (test/cases.ts) has one function per case, taking the inputs by name;
test/ops.test.ts compares the forward results and test/grad.test.ts the gradients. Gradient
cases are float64 throughout; a few `f32_*` cases check float32 forward results.

The files are written by the minimal safetensors writer below (no dependency beyond torch),
except `python_safetensors.safetensors`, which the real `safetensors` package writes, to
check interoperability with files from Python. That package is not installed for the
Debian python3; the committed file was made with the wheel unpacked beside it:

    pip download safetensors --no-deps -d /tmp/st --only-binary=:all: \\
        --python-version 3.11 --platform manylinux_2_17_x86_64
    mkdir -p /tmp/stlib && cd /tmp/stlib && unzip -o /tmp/st/safetensors-*.whl
    PYTHONPATH=/tmp/stlib /usr/bin/python3 test/reference/make_fixtures.py

(safetensors 0.8.0, through `safetensors.torch.save_file`, falling back to
`safetensors.numpy.save_file` without the bfloat16 entry). Without the package the script
keeps the existing file and says so.

Everything is seeded (torch.manual_seed, numpy's default_rng), so a re-run writes the same
bytes with the same torch version.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures')

torch.manual_seed(0)
RNG = np.random.default_rng(0)
torch.set_num_threads(1)

# ---------------------------------------------------------------------------------------
# A minimal safetensors writer: 8-byte little-endian header length, a JSON header
# {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}} padded with
# spaces to a multiple of 8 bytes, then the raw little-endian bytes of each tensor.

ST_DTYPE = {
    torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
    torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8',
    torch.uint8: 'U8', torch.bool: 'BOOL',
}


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits as int16
        t = t.view(torch.int16)
    a = t.numpy()
    if a.dtype.byteorder == '>':
        a = a.byteswap().newbyteorder()
    return a.tobytes()


def write_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata is not None:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        raw = tensor_bytes(t)
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
# Cases.

def randn(*shape, dtype=torch.float64):
    return torch.from_numpy(RNG.standard_normal(shape)).to(dtype)


def uniform(lo, hi, *shape, dtype=torch.float64):
    return torch.from_numpy(RNG.uniform(lo, hi, shape)).to(dtype)


def randint(lo, hi, *shape):
    return torch.from_numpy(RNG.integers(lo, hi, shape)).to(torch.int64)


class Fixture:
    def __init__(self, name):
        self.name = name
        self.tensors = {}
        self.cases = []

    def case(self, name, fn, inputs, grad=True, nograd=()):
        """Runs fn(**inputs); records inputs, outputs and, when grad, the gradients of
        sum(out * gout) with respect to the floating inputs not in `nograd`."""
        assert name not in self.cases, name
        self.cases.append(name)
        leaves = {}
        for k, v in inputs.items():
            self.tensors[f'{name}.in.{k}'] = v
            if grad and v.is_floating_point() and k not in nograd:
                leaves[k] = v.detach().clone().requires_grad_(True)
            else:
                leaves[k] = v
        out = fn(**leaves)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        single = not isinstance(out, (tuple, list))
        for i, o in enumerate(outs):
            self.tensors[f'{name}.out' if single else f'{name}.out.{i}'] = o.detach().clone()
        if not grad:
            return
        diff, gouts = [], []
        for i, o in enumerate(outs):
            if o.is_floating_point() and o.requires_grad:
                g = randn(*o.shape, dtype=o.dtype)
                self.tensors[f'{name}.gout' if single else f'{name}.gout.{i}'] = g
                diff.append(o)
                gouts.append(g)
        assert diff, f'{name}: no differentiable output'
        torch.autograd.backward(diff, gouts)
        n = 0
        for k, v in leaves.items():
            if isinstance(v, torch.Tensor) and v.requires_grad:
                g = v.grad if v.grad is not None else torch.zeros_like(v)
                self.tensors[f'{name}.grad.{k}'] = g.detach().clone()
                n += 1
        assert n, f'{name}: no gradient'

    def write(self):
        path = os.path.join(OUT, f'{self.name}.safetensors')
        size = write_safetensors(path, self.tensors, {
            'generator': 'test/reference/make_fixtures.py',
            'torch': torch.__version__,
            'cases': ','.join(self.cases),
        })
        print(f'{path}: {len(self.cases)} cases, {len(self.tensors)} tensors, {size} bytes')
        return size


def elementwise():
    fx = Fixture('elementwise')
    a = randn(3, 4)
    pos = uniform(0.5, 2.0, 3, 4)
    row = randn(4)
    col = randn(3, 1)
    nz = uniform(0.5, 2.0, 4) * torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    fx.case('add', lambda a, b: a + b, {'a': a, 'b': row})
    fx.case('add_alpha', lambda a, b: torch.add(a, b, alpha=2.5), {'a': a, 'b': col})
    fx.case('add_scalar', lambda a: a + 1.25, {'a': a})
    fx.case('sub', lambda a, b: a - b, {'a': a, 'b': col})
    fx.case('rsub_scalar', lambda a: 2.0 - a, {'a': a})
    fx.case('mul', lambda a, b: a * b, {'a': a, 'b': randn(2, 1, 4)})
    fx.case('mul_scalar', lambda a: a * -3.5, {'a': a})
    fx.case('div', lambda a, b: a / b, {'a': a, 'b': nz})
    fx.case('rdiv_scalar', lambda b: 1.5 / b, {'b': nz})
    fx.case('pow', lambda a, b: a ** b, {'a': pos, 'b': randn(4)})
    fx.case('pow_scalar', lambda a: a ** 3, {'a': a})
    fx.case('pow_half', lambda a: a ** 0.5, {'a': pos})
    fx.case('maximum', lambda a, b: torch.maximum(a, b), {'a': a, 'b': randn(3, 1)})
    fx.case('exp', lambda a: torch.exp(a), {'a': a})
    fx.case('log', lambda a: torch.log(a), {'a': pos})
    fx.case('tanh', lambda a: torch.tanh(a), {'a': a})
    fx.case('sigmoid', lambda a: torch.sigmoid(a), {'a': a})
    fx.case('relu', lambda a: torch.relu(a), {'a': a})
    fx.case('gelu', lambda a: F.gelu(a), {'a': a})
    fx.case('gelu_tanh', lambda a: F.gelu(a, approximate='tanh'), {'a': a})
    fx.case('silu', lambda a: F.silu(a), {'a': a})
    x3 = randn(2, 3, 4)
    fx.case('softmax_last', lambda x: torch.softmax(x, -1), {'x': x3})
    fx.case('softmax_0', lambda x: torch.softmax(x, 0), {'x': x3})
    fx.case('log_softmax_1', lambda x: torch.log_softmax(x, 1), {'x': x3})
    # Composite: broadcasting chain of several ops.
    fx.case('chain', lambda a, b, c: torch.tanh(a * b + c).exp() / (1 + torch.sigmoid(c)),
            {'a': a, 'b': row, 'c': col})
    # float32 forward results (small tensors: the addon's tiny-tensor path; large ones: libtorch).
    a32, b32 = randn(3, 4, dtype=torch.float32), randn(3, 4, dtype=torch.float32)
    nz32 = uniform(0.5, 2.0, 3, 4, dtype=torch.float32)
    big32, bigb32 = randn(40, 30, dtype=torch.float32), uniform(0.5, 2.0, 40, 30, dtype=torch.float32)
    fx.case('f32_add', lambda a, b: a + b, {'a': a32, 'b': b32}, grad=False)
    fx.case('f32_sub', lambda a, b: a - b, {'a': a32, 'b': b32}, grad=False)
    fx.case('f32_mul', lambda a, b: a * b, {'a': a32, 'b': b32}, grad=False)
    fx.case('f32_div', lambda a, b: a / b, {'a': a32, 'b': nz32}, grad=False)
    fx.case('f32_div_scalar', lambda a: a / 3.0, {'a': a32}, grad=False)
    fx.case('f32_mul_scalar', lambda a: a * 0.1, {'a': a32}, grad=False)
    fx.case('f32_add_big', lambda a, b: a + b, {'a': big32, 'b': bigb32}, grad=False)
    fx.case('f32_div_big', lambda a, b: a / b, {'a': big32, 'b': bigb32}, grad=False)
    fx.case('f32_exp', lambda a: torch.exp(a), {'a': a32}, grad=False)
    fx.case('f32_softmax', lambda a: torch.softmax(a, -1), {'a': a32}, grad=False)
    fx.case('f32_gelu', lambda a: F.gelu(a), {'a': a32}, grad=False)
    fx.case('f32_sigmoid', lambda a: torch.sigmoid(a), {'a': a32}, grad=False)
    # Type promotion: int64 tensor with a float32 tensor gives float32.
    fx.case('promote_int_f32', lambda a, b: a + b, {'a': randint(-5, 5, 3, 4), 'b': b32}, grad=False)
    fx.case('promote_int_div', lambda a, b: a / b, {'a': randint(-5, 5, 3, 4), 'b': randint(1, 4, 4)}, grad=False)
    return fx


def reductions():
    fx = Fixture('reductions')
    x = randn(3, 4, 5)
    fx.case('sum_all', lambda x: x.sum(), {'x': x})
    fx.case('sum_d1', lambda x: x.sum(1), {'x': x})
    fx.case('sum_d02_keep', lambda x: x.sum((0, 2), keepdim=True), {'x': x})
    fx.case('mean_all', lambda x: x.mean(), {'x': x})
    fx.case('mean_dm1_keep', lambda x: x.mean(-1, keepdim=True), {'x': x})
    fx.case('mean_d01', lambda x: x.mean((0, 1)), {'x': x})
    fx.case('max_all', lambda x: x.max(), {'x': x})
    fx.case('max_d1', lambda x: tuple(x.max(1)), {'x': x})
    fx.case('max_d2_keep', lambda x: tuple(x.max(2, keepdim=True)), {'x': x})
    fx.case('min_d0', lambda x: tuple(x.min(0)), {'x': x})
    fx.case('argmax_all', lambda x: x.argmax(), {'x': x}, grad=False)
    fx.case('argmax_d2', lambda x: x.argmax(2), {'x': x}, grad=False)
    fx.case('argmax_d1_keep', lambda x: x.argmax(1, keepdim=True), {'x': x}, grad=False)
    fx.case('amax_d12', lambda x: x.amax((1, 2)), {'x': x})
    fx.case('logsumexp_d1', lambda x: torch.logsumexp(x, 1), {'x': x})
    fx.case('logsumexp_d02_keep', lambda x: torch.logsumexp(x, (0, 2), keepdim=True), {'x': x})
    fx.case('var_d1_c0', lambda x: torch.var(x, 1, correction=0), {'x': x})
    fx.case('var_all_c1', lambda x: torch.var(x, None, correction=1), {'x': x})
    fx.case('var_d2_c1_keep', lambda x: torch.var(x, 2, correction=1, keepdim=True), {'x': x})
    fx.case('std_d12_c1_keep', lambda x: torch.std(x, (1, 2), correction=1, keepdim=True), {'x': x})
    fx.case('std_all_c0', lambda x: torch.std(x, None, correction=0), {'x': x})
    fx.case('norm_all', lambda x: torch.norm(x), {'x': x})
    fx.case('norm_p1_d1', lambda x: torch.norm(x, p=1, dim=1), {'x': x})
    fx.case('norm_p3_dm1_keep', lambda x: torch.norm(x, p=3, dim=-1, keepdim=True), {'x': x})
    fx.case('prod_d1', lambda x: x.prod(1), {'x': x})
    fx.case('cumsum_d2', lambda x: x.cumsum(2), {'x': x})
    fx.case('f32_sum_d1', lambda x: x.sum(1), {'x': randn(3, 4, 5, dtype=torch.float32)}, grad=False)
    fx.case('int_sum', lambda x: x.sum(0), {'x': randint(-100, 100, 4, 3)}, grad=False)
    return fx


def linalg_nn():
    fx = Fixture('linalg_nn')
    fx.case('matmul_2d', lambda a, b: a @ b, {'a': randn(3, 4), 'b': randn(4, 5)})
    fx.case('matmul_batched_bcast', lambda a, b: a @ b, {'a': randn(2, 3, 4), 'b': randn(4, 5)})
    fx.case('matmul_bcast4d', lambda a, b: a @ b, {'a': randn(2, 1, 3, 4), 'b': randn(3, 4, 2)})
    fx.case('matmul_vec_mat', lambda a, b: a @ b, {'a': randn(4), 'b': randn(4, 5)})
    fx.case('matmul_mat_vec', lambda a, b: a @ b, {'a': randn(3, 4), 'b': randn(4)})
    fx.case('bmm', lambda a, b: torch.bmm(a, b), {'a': randn(2, 3, 4), 'b': randn(2, 4, 5)})
    fx.case('f32_matmul', lambda a, b: a @ b, {'a': randn(8, 16, dtype=torch.float32), 'b': randn(16, 4, dtype=torch.float32)}, grad=False)
    fx.case('linear', lambda x, w, b: F.linear(x, w, b), {'x': randn(2, 3, 4), 'w': randn(5, 4), 'b': randn(5)})
    fx.case('linear_nobias', lambda x, w: F.linear(x, w), {'x': randn(3, 4), 'w': randn(2, 4)})
    fx.case('layer_norm', lambda x, w, b: F.layer_norm(x, [8], w, b, 1e-5),
            {'x': randn(2, 3, 8) * 3 + 1, 'w': randn(8), 'b': randn(8)})
    fx.case('layer_norm_2d_noaffine', lambda x: F.layer_norm(x, [3, 8]), {'x': randn(2, 3, 8)})
    fx.case('layer_norm_eps', lambda x, w, b: F.layer_norm(x, [6], w, b, 0.1),
            {'x': randn(4, 6) * 0.2, 'w': randn(6), 'b': randn(6)})
    fx.case('f32_layer_norm', lambda x, w, b: F.layer_norm(x, [8], w, b),
            {'x': randn(4, 8, dtype=torch.float32), 'w': randn(8, dtype=torch.float32), 'b': randn(8, dtype=torch.float32)}, grad=False)
    idx = torch.tensor([[1, 3, 3, 0, 9], [2, 1, 0, 7, 3]], dtype=torch.int64)
    fx.case('embedding', lambda idx, w: F.embedding(idx, w), {'idx': idx, 'w': randn(10, 4)})
    fx.case('embedding_pad', lambda idx, w: F.embedding(idx, w, padding_idx=0), {'idx': idx, 'w': randn(10, 4)})
    logits = randn(6, 5) * 2
    target = torch.tensor([0, 4, 2, 2, 1, 3], dtype=torch.int64)
    target_ign = torch.tensor([0, -100, 2, 2, -100, 3], dtype=torch.int64)
    weight = uniform(0.2, 2.0, 5)
    fx.case('ce_mean', lambda x, t: F.cross_entropy(x, t), {'x': logits, 't': target})
    fx.case('ce_ignore_default', lambda x, t: F.cross_entropy(x, t), {'x': logits, 't': target_ign})
    fx.case('ce_ignore_idx', lambda x, t: F.cross_entropy(x, t, ignore_index=2), {'x': logits, 't': target})
    fx.case('ce_smooth', lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), {'x': logits, 't': target})
    fx.case('ce_weight', lambda x, t, w: F.cross_entropy(x, t, weight=w), {'x': logits, 't': target, 'w': weight}, nograd=('w',))
    fx.case('ce_weight_smooth_ignore', lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=2, label_smoothing=0.2),
            {'x': logits, 't': target, 'w': weight}, nograd=('w',))
    fx.case('ce_sum', lambda x, t: F.cross_entropy(x, t, reduction='sum'), {'x': logits, 't': target_ign})
    fx.case('ce_none', lambda x, t: F.cross_entropy(x, t, reduction='none'), {'x': logits, 't': target_ign})
    fx.case('ce_probs', lambda x, t: F.cross_entropy(x, t), {'x': logits, 't': torch.softmax(randn(6, 5), 1)}, nograd=('t',))
    fx.case('ce_3d', lambda x, t: F.cross_entropy(x, t), {'x': randn(2, 5, 3), 't': randint(0, 5, 2, 3)})
    p, q = randn(3, 4), randn(3, 4)
    fx.case('mse_mean', lambda a, b: F.mse_loss(a, b), {'a': p, 'b': q})
    fx.case('mse_sum', lambda a, b: F.mse_loss(a, b, reduction='sum'), {'a': p, 'b': q})
    fx.case('mse_none', lambda a, b: F.mse_loss(a, b, reduction='none'), {'a': p, 'b': q})
    fx.case('dropout_p0', lambda x: F.dropout(x, 0.0, training=True), {'x': p})
    fx.case('dropout_eval', lambda x: F.dropout(x, 0.5, training=False), {'x': p})
    # A tiny two-layer network with a loss: everything in one graph.
    fx.case('mlp', lambda x, w1, b1, w2, g, bn, t: F.cross_entropy(
        F.linear(F.gelu(F.layer_norm(F.linear(x, w1, b1), [6], g, bn)), w2), t, label_smoothing=0.05),
        {'x': randn(5, 4), 'w1': randn(6, 4) * 0.5, 'b1': randn(6), 'w2': randn(3, 6) * 0.5, 'g': randn(6), 'bn': randn(6),
         't': randint(0, 3, 5)})
    return fx


def shape():
    fx = Fixture('shape')
    x = randn(2, 3, 4)
    fx.case('reshape', lambda x: x.reshape(4, -1), {'x': x})
    fx.case('permute', lambda x: x.permute(2, 0, 1), {'x': x})
    fx.case('transpose', lambda x: x.transpose(0, 2), {'x': x})
    fx.case('cat', lambda x, y: torch.cat([x, y], 1), {'x': x, 'y': randn(2, 2, 4)})
    fx.case('cat_neg', lambda x, y: torch.cat([x, y, x], -1), {'x': x, 'y': randn(2, 3, 1)})
    fx.case('stack', lambda x, y: torch.stack([x, y], 1), {'x': x, 'y': randn(2, 3, 4)})
    fx.case('split_size', lambda x: list(torch.split(x, 3, 2)), {'x': x})
    fx.case('split_sizes', lambda x: list(torch.split(x, [1, 2], 1)), {'x': x})
    fx.case('chunk', lambda x: list(torch.chunk(x, 3, 2)), {'x': x})
    fx.case('narrow', lambda x: x.narrow(2, 1, 2), {'x': x})
    gidx = randint(0, 4, 2, 3, 5)
    fx.case('gather', lambda x, idx: torch.gather(x, 2, idx), {'x': x, 'idx': gidx})
    sidx = torch.tensor([2, 0, 2], dtype=torch.int64)
    fx.case('index_select', lambda x, idx: torch.index_select(x, 1, idx), {'x': x, 'idx': sidx})
    mask = torch.from_numpy(RNG.random((3, 4)) < 0.4)
    fx.case('masked_fill', lambda x, mask: x.masked_fill(mask, -1.5), {'x': x, 'mask': mask})
    cond = torch.from_numpy(RNG.random((2, 3, 4)) < 0.5)
    fx.case('where', lambda c, x, y: torch.where(c, x, y), {'c': cond, 'x': x, 'y': randn(3, 4)})
    fx.case('where_scalar', lambda c, x: torch.where(c, x, torch.tensor(0.5, dtype=torch.float64)), {'c': cond, 'x': x})
    fx.case('roll_1', lambda x: torch.roll(x, 1, 2), {'x': x})
    fx.case('roll_multi', lambda x: torch.roll(x, (1, -1), (0, 2)), {'x': x})
    fx.case('roll_flat', lambda x: torch.roll(x, 5), {'x': x})
    fx.case('pad_const', lambda x: F.pad(x, (1, 2), value=0.5), {'x': x})
    fx.case('pad_const2d', lambda x: F.pad(x, (1, 1, 2, 0)), {'x': x})
    fx.case('pad_reflect', lambda x: F.pad(x, (2, 1), mode='reflect'), {'x': x})
    fx.case('pad_reflect2d', lambda x: F.pad(x, (1, 1, 1, 2), mode='reflect'), {'x': x})
    fx.case('pad_replicate', lambda x: F.pad(x, (2, 0), mode='replicate'), {'x': x})
    m = randn(4, 5)
    fx.case('tril', lambda m: torch.tril(m), {'m': m})
    fx.case('triu_1', lambda m: torch.triu(m, 1), {'m': m})
    fx.case('tril_3d_m1', lambda x: torch.tril(x, -1), {'x': x})
    fx.case('flip', lambda x: torch.flip(x, (0, 2)), {'x': x})
    fx.case('unsqueeze_expand', lambda y: y.unsqueeze(0).expand(2, 3, 4), {'y': randn(3, 1)})
    fx.case('flatten', lambda x: x.flatten(1), {'x': x})
    fx.case('squeeze', lambda y: y.squeeze(), {'y': randn(3, 1, 2, 1)})
    # A gradient through a composite of selection ops: sum(gather(x) * w) + ...
    fx.case('composite', lambda x, w, idx, sidx, mask: (torch.gather(x, 2, idx) * w).sum()
            + torch.index_select(x, 1, sidx).pow(2).sum()
            + torch.cat([x.narrow(2, 0, 1), x.transpose(1, 2).reshape(2, 12, 1)], 1).mul(0.5).sum()
            + x.masked_fill(mask, 0.0).roll(1, 1).tanh().sum(),
            {'x': x, 'w': randn(2, 3, 5), 'idx': gidx, 'sidx': sidx, 'mask': mask})
    return fx


def indexing():
    fx = Fixture('indexing')
    x = randn(4, 5, 6, 7)
    idx = torch.tensor([0, 2, 2, 5], dtype=torch.int64)
    # The reference expression of the brief: x[1, 1:3, None, ..., idx].
    fx.case('idx_main', lambda x, idx: x[1, 1:3, None, ..., idx], {'x': x, 'idx': idx})
    fx.case('idx_neg_int', lambda x: x[-1], {'x': x})
    fx.case('idx_step', lambda x: x[:, ::2], {'x': x})
    fx.case('idx_neg_slice', lambda x: x[1:-1:2, :, -3:], {'x': x})
    fx.case('idx_ellipsis_last', lambda x: x[..., 0], {'x': x})
    fx.case('idx_none_front', lambda x: x[None, 0], {'x': x})
    fx.case('idx_slice_obj', lambda x: x[1:3, :, 2], {'x': x})
    fx.case('idx_tensor_first', lambda x, i: x[i], {'x': x, 'i': torch.tensor([3, 0, 3], dtype=torch.int64)})
    fx.case('idx_adv_two', lambda x, i, j: x[i, :, j], {'x': x, 'i': torch.tensor([0, 3], dtype=torch.int64),
                                                         'j': torch.tensor([5, 1], dtype=torch.int64)})
    x2 = randn(4, 5)
    fx.case('idx_mask', lambda x, m: x[m], {'x': x2, 'm': torch.from_numpy(RNG.random((4, 5)) < 0.5)})
    fx.case('idx_row_mask', lambda x, m: x[m], {'x': x2, 'm': torch.tensor([True, False, True, True])})

    def put(x, v, idx):
        y = x.clone()
        y[1, :, idx] = v
        return y
    fx.case('index_put', put, {'x': x2.reshape(2, 2, 5), 'v': randn(2, 3), 'idx': torch.tensor([4, 0, 2], dtype=torch.int64)})
    return fx


# ---------------------------------------------------------------------------------------
# Files for the dtype and safetensors tests.

def all_dtypes():
    """Every dtype, written by the minimal writer, with known values (see safetensors.test.ts)."""
    base = torch.tensor([[0.0, 1.5, -2.25], [3.0, -0.5, 100.0]], dtype=torch.float64)
    ints = torch.tensor([[0, 1, -2], [3, -128, 127]], dtype=torch.int64)
    t = {
        'float64': base,
        'float32': base.float(),
        'float16': base.half(),
        'bfloat16': base.bfloat16(),
        'int64': torch.tensor([[0, 1, -2], [3, -(2 ** 40), 2 ** 40]], dtype=torch.int64),
        'int32': torch.tensor([[0, 1, -2], [3, -(2 ** 31), 2 ** 31 - 1]], dtype=torch.int32),
        'int16': torch.tensor([[0, 1, -2], [3, -(2 ** 15), 2 ** 15 - 1]], dtype=torch.int16),
        'int8': ints.to(torch.int8),
        'uint8': torch.tensor([[0, 1, 2], [3, 128, 255]], dtype=torch.uint8),
        'bool': torch.tensor([[True, False, True], [False, False, True]]),
        'scalar': torch.tensor(2.5, dtype=torch.float32),
        'empty': torch.zeros(0, 3, dtype=torch.float32),
    }
    path = os.path.join(OUT, 'dtypes.safetensors')
    size = write_safetensors(path, t, {'format': 'pt', 'note': 'all dtypes, minimal writer'})
    print(f'{path}: {len(t)} tensors, {size} bytes')
    return size


def python_written():
    """The same kind of content, written by the real safetensors package (when importable)."""
    path = os.path.join(OUT, 'python_safetensors.safetensors')
    try:
        import safetensors.numpy  # noqa: F401
    except ImportError:
        print(f'{path}: safetensors is not importable; keeping the existing file (see the docstring)')
        return os.path.getsize(path) if os.path.exists(path) else 0
    import safetensors
    t = {
        'f64': torch.arange(6, dtype=torch.float64).reshape(2, 3) / 4,
        'f32': torch.arange(6, dtype=torch.float32).reshape(3, 2) - 2.5,
        'f16': torch.tensor([0.5, -1.0, 65504.0], dtype=torch.float16),
        'bf16': torch.tensor([1.0, -2.0, 3.5, 1e10], dtype=torch.bfloat16),
        'i64': torch.tensor([-(2 ** 53), 0, 2 ** 53], dtype=torch.int64),
        'i32': torch.arange(-3, 3, dtype=torch.int32).reshape(2, 3),
        'i16': torch.tensor([-32768, 32767], dtype=torch.int16),
        'i8': torch.tensor([-128, 0, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 128, 255], dtype=torch.uint8),
        'bool': torch.tensor([True, False, False, True]),
        'matrix': randn(16, 8, dtype=torch.float32),
    }
    # One key only: the package writes metadata in hash order, so two keys could swap between runs.
    meta = {'producer': f'safetensors {safetensors.__version__} (make_fixtures.py)'}
    try:
        import safetensors.torch
        safetensors.torch.save_file(t, path, metadata=meta)
    except Exception as e:  # noqa: BLE001 - fall back to the numpy API, which has no bfloat16
        print(f'safetensors.torch failed ({e}); using safetensors.numpy without bf16')
        import safetensors.numpy
        del t['bf16']
        safetensors.numpy.save_file({k: v.numpy() for k, v in t.items()}, path, metadata=meta)
    os.chmod(path, 0o644)
    # The expected values of 'matrix' (its other entries are known in closed form).
    size = os.path.getsize(path)
    print(f'{path}: {len(t)} tensors, {size} bytes (safetensors {safetensors.__version__})')
    write_safetensors(os.path.join(OUT, 'python_safetensors_expected.safetensors'), {'matrix': t['matrix']})
    return size


def main():
    os.makedirs(OUT, exist_ok=True)
    total = 0
    for make in (elementwise, reductions, linalg_nn, shape, indexing):
        total += make().write()
    total += all_dtypes()
    total += python_written()
    print(f'total {total} bytes')
    assert total < 2 * 1024 * 1024, 'fixtures should stay under 2 MB'


if __name__ == '__main__':
    sys.exit(main())
