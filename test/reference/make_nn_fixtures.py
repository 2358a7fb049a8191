#!/usr/bin/python3
"""Writes the nn-layer and optimiser fixtures (test/fixtures/nn_layers.safetensors,
test/fixtures/optim.safetensors), compared against by test/nn_layers.test.ts and
test/optim.test.ts.

Run with the Debian PyTorch (python3-torch 1.13), from the repository root:

    npm run fixtures:nn       # = /usr/bin/python3 test/reference/make_nn_fixtures.py

nn_layers: for each case, a torch.nn module in float64 with randomised parameters:

    <case>.sd.<key>        its state dict (the TypeScript module must have the same keys)
    <case>.in.<name>       an input
    <case>.out             the output
    <case>.gout            the upstream gradient given to backward
    <case>.grad.<name>     d(sum(out * gout)) / d(input <name>)  (floating inputs)
    <case>.pgrad.<key>     the same for parameter <key>

The metadata entry `cases` is a JSON list of {name, layer, options} (torch's arguments).

optim: for each optimiser case, three parameters p0..p2, a fixed gradient sequence and the
parameters after each of 5 steps, and the optimiser state after the last step:

    <case>.p<i>.init, <case>.p<i>.grad<s>, <case>.p<i>.after<s>   (s = 0..4)
    <case>.state.<i>.<key>                                        (exp_avg, momentum_buffer, ...)
    <case>.state3.<i>.<key>                                       (the state after 3 steps)

plus clip_grad_norm_ cases (clip.<case>.g<i>, clip.<case>.out<i>, clip.<case>.total) and
StepLR learning rates (steplr.<case>.lrs). Metadata `optim` lists the optimiser cases,
`clip` the clipping cases, `steplr` the scheduler cases.

torch 1.13 has no nn.RMSNorm: the RMSNorm reference below is torch 2.4's formula
(x * rsqrt(mean(x², trailing dims) + eps) * weight, eps = finfo(dtype).eps by default).
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402  (the minimal safetensors writer)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures')

torch.manual_seed(0)
RNG = np.random.default_rng(6)
torch.set_num_threads(1)


def randn(*shape, dtype=torch.float64):
    return torch.from_numpy(RNG.standard_normal(shape)).to(dtype)


def randint(lo, hi, *shape):
    return torch.from_numpy(RNG.integers(lo, hi, shape)).to(torch.int64)


class RMSNorm(nn.Module):
    """torch 2.4's nn.RMSNorm, for torch 1.13."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(self.normalized_shape, dtype=torch.float64)) if elementwise_affine else None

    def forward(self, x):
        dims = tuple(range(-len(self.normalized_shape), 0))
        eps = self.eps if self.eps is not None else torch.finfo(x.dtype).eps
        y = x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps)
        return y * self.weight if self.weight is not None else y


class ListNet(nn.Module):
    """A ModuleList applied in order with a tanh between."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 5), nn.Linear(5, 3)])

    def forward(self, x):
        for i, l in enumerate(self.layers):
            x = l(x)
            if i + 1 < len(self.layers):
                x = torch.tanh(x)
        return x


# ---------------------------------------------------------------------------------------
# nn layers

def reseed(seed):
    """Each file from its own seed, so adding cases to one leaves the other's bytes alone."""
    global RNG
    RNG = np.random.default_rng(seed)
    torch.manual_seed(seed)


def nn_layers():
    reseed(6)
    tensors, cases = {}, []

    def case(name, layer, options, module, inputs, nograd=(), randomise=True):
        module = module.double()
        if randomise:
            with torch.no_grad():
                for k, p in module.named_parameters():
                    p.copy_(randn(*p.shape))
                if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
        cases.append({'name': name, 'layer': layer, 'options': options})
        for k, v in module.state_dict().items():
            tensors[f'{name}.sd.{k}'] = v.clone()
        leaves = {}
        for k, v in inputs.items():
            if v is None:  # a positional placeholder
                leaves[k] = None
                continue
            tensors[f'{name}.in.{k}'] = v
            leaves[k] = v.clone().requires_grad_(True) if v.is_floating_point() and k not in nograd else v
        out = module(*leaves.values())
        tensors[f'{name}.out'] = out.detach().clone()
        g = randn(*out.shape)
        tensors[f'{name}.gout'] = g
        out.backward(g)
        for k, v in leaves.items():
            if v is not None and v.requires_grad:
                tensors[f'{name}.grad.{k}'] = v.grad.clone()
        for k, p in module.named_parameters():
            tensors[f'{name}.pgrad.{k}'] = (p.grad if p.grad is not None else torch.zeros_like(p)).clone()

    case('layer_norm', 'LayerNorm', {'normalized_shape': [6]}, nn.LayerNorm([6]), {'x': randn(2, 3, 6)})
    case('layer_norm_2d_eps', 'LayerNorm', {'normalized_shape': [3, 6], 'eps': 1e-3}, nn.LayerNorm([3, 6], eps=1e-3), {'x': randn(2, 3, 6)})
    case('layer_norm_no_affine', 'LayerNorm', {'normalized_shape': [5], 'elementwise_affine': False},
         nn.LayerNorm([5], elementwise_affine=False), {'x': randn(4, 5)})
    case('rms_norm', 'RMSNorm', {'normalized_shape': [6]}, RMSNorm([6]), {'x': randn(2, 3, 6)})
    case('rms_norm_2d_eps', 'RMSNorm', {'normalized_shape': [3, 6], 'eps': 1e-6}, RMSNorm([3, 6], eps=1e-6), {'x': randn(2, 3, 6)})
    case('embedding', 'Embedding', {'num_embeddings': 10, 'embedding_dim': 4}, nn.Embedding(10, 4), {'idx': randint(0, 10, 3, 5)})
    idx = randint(0, 10, 4, 6)
    idx[0, :3] = 2
    case('embedding_padding', 'Embedding', {'num_embeddings': 10, 'embedding_dim': 4, 'padding_idx': 2},
         nn.Embedding(10, 4, padding_idx=2), {'idx': idx})
    case('gelu', 'GELU', {}, nn.GELU(), {'x': randn(3, 7) * 3})
    case('gelu_tanh', 'GELU', {'approximate': 'tanh'}, nn.GELU(approximate='tanh'), {'x': randn(3, 7) * 3})
    case('silu', 'SiLU', {}, nn.SiLU(), {'x': randn(3, 7) * 3})
    case('relu', 'ReLU', {}, nn.ReLU(), {'x': randn(3, 7) * 3})
    case('dropout_eval', 'Dropout', {'p': 0.3}, nn.Dropout(0.3).eval(), {'x': randn(3, 7)})
    case('sequential', 'Sequential', {}, nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.LayerNorm([8]), nn.Linear(8, 3, bias=False)),
         {'x': randn(5, 4)})
    case('module_list', 'ModuleList', {}, ListNet(), {'x': randn(5, 4)})
    case('conv2d', 'Conv2d', {'in_channels': 4, 'out_channels': 6, 'kernel_size': 3, 'stride': 2, 'padding': 1, 'groups': 2},
         nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), {'x': randn(2, 4, 9, 8)})
    case('conv2d_rect_dilated', 'Conv2d',
         {'in_channels': 3, 'out_channels': 5, 'kernel_size': [3, 2], 'stride': [1, 2], 'padding': [2, 1], 'dilation': [2, 1], 'bias': False},
         nn.Conv2d(3, 5, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(2, 1), bias=False), {'x': randn(2, 3, 7, 6)})
    tgt = randint(0, 5, 6)
    tgt[1] = 1
    case('cross_entropy', 'CrossEntropyLoss', {'ignore_index': 1, 'label_smoothing': 0.1},
         nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.1), {'x': randn(6, 5), 'target': tgt})
    case('cross_entropy_sum_nd', 'CrossEntropyLoss', {'reduction': 'sum'}, nn.CrossEntropyLoss(reduction='sum'),
         {'x': randn(2, 5, 3), 'target': randint(0, 5, 2, 3)})
    case('cross_entropy_none_weight', 'CrossEntropyLoss', {'reduction': 'none', 'weight': True},
         nn.CrossEntropyLoss(weight=torch.rand(5, dtype=torch.float64) + 0.5, reduction='none'), {'x': randn(6, 5), 'target': randint(0, 5, 6)})
    case('mse', 'MSELoss', {}, nn.MSELoss(), {'x': randn(3, 4), 'y': randn(3, 4)})
    case('mse_none', 'MSELoss', {'reduction': 'none'}, nn.MSELoss(reduction='none'), {'x': randn(3, 4), 'y': randn(3, 4)})

    def causal(n):
        return torch.triu(torch.full((n, n), float('-inf'), dtype=torch.float64), 1)

    def tlayer(cls, **kw):
        return cls(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, **kw)  # training mode, dropout 0

    enc_opts = {'d_model': 8, 'nhead': 2, 'dim_feedforward': 16, 'dropout': 0.0}
    case('encoder_layer', 'TransformerEncoderLayer', enc_opts, tlayer(nn.TransformerEncoderLayer), {'src': randn(5, 2, 8)})
    kpm = torch.zeros(2, 5, dtype=torch.bool)
    kpm[1, 3:] = True
    case('encoder_layer_prenorm_gelu_masks', 'TransformerEncoderLayer', {**enc_opts, 'batch_first': True, 'norm_first': True, 'activation': 'gelu'},
         tlayer(nn.TransformerEncoderLayer, batch_first=True, norm_first=True, activation='gelu'),
         {'src': randn(2, 5, 8), 'src_mask': causal(5), 'src_key_padding_mask': kpm}, nograd=('src_mask',))
    case('decoder_layer', 'TransformerDecoderLayer', enc_opts, tlayer(nn.TransformerDecoderLayer), {'tgt': randn(4, 2, 8), 'memory': randn(6, 2, 8)})
    mkpm = torch.zeros(2, 6, dtype=torch.bool)
    mkpm[0, 4:] = True
    case('decoder_layer_prenorm_masks', 'TransformerDecoderLayer', {**enc_opts, 'batch_first': True, 'norm_first': True, 'layer_norm_eps': 1e-6},
         tlayer(nn.TransformerDecoderLayer, batch_first=True, norm_first=True, layer_norm_eps=1e-6),
         {'tgt': randn(2, 4, 8), 'memory': randn(2, 6, 8), 'tgt_mask': causal(4), 'memory_mask': None, 'tgt_key_padding_mask': None,
          'memory_key_padding_mask': mkpm}, nograd=('tgt_mask',))
    stack_opts = {**enc_opts, 'batch_first': True, 'norm_first': True, 'num_layers': 2}
    case('encoder_stack', 'TransformerEncoder', stack_opts,
         nn.TransformerEncoder(tlayer(nn.TransformerEncoderLayer, batch_first=True, norm_first=True), 2, norm=nn.LayerNorm(8)),
         {'src': randn(2, 5, 8), 'mask': causal(5), 'src_key_padding_mask': kpm}, nograd=('mask',))
    case('transformer', 'Transformer', {**enc_opts, 'num_encoder_layers': 2, 'num_decoder_layers': 2},
         nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0),
         {'src': randn(5, 2, 8), 'tgt': randn(4, 2, 8), 'src_mask': None, 'tgt_mask': causal(4)}, nograd=('tgt_mask',))
    # Positional encodings: the PyTorch tutorial's sinusoidal table, Hugging Face LLaMA's
    # rotate-half RoPE, and the ALiBi paper's reference slopes.
    max_len, d = 20, 8
    pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * div_term)
    pe[:, 1::2] = torch.cos(pos * div_term)
    tensors['pos.sinusoidal.pe'] = pe

    def rope(x, dim, offset, base=10000.0):
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        t = torch.arange(offset, offset + x.shape[-2], dtype=torch.float64)
        emb = torch.cat([torch.outer(t, inv_freq)] * 2, dim=-1)
        xr, rest = x[..., :dim], x[..., dim:]
        x1, x2 = xr[..., :dim // 2], xr[..., dim // 2:]
        out = xr * emb.cos() + torch.cat([-x2, x1], dim=-1) * emb.sin()
        return torch.cat([out, rest], dim=-1)

    q = randn(2, 3, 6, 8)
    tensors['pos.rope.in'] = q
    tensors['pos.rope.out'] = rope(q, 8, 3)
    tensors['pos.rope_partial.out'] = rope(q, 4, 0, base=500.0)

    def get_slopes(n):  # github.com/ofirpress/attention_with_linear_biases
        def get_slopes_power_of_2(n):
            start = (2 ** (-2 ** -(math.log2(n) - 3)))
            ratio = start
            return [start * ratio ** i for i in range(n)]
        if math.log2(n).is_integer():
            return get_slopes_power_of_2(n)
        closest_power_of_2 = 2 ** math.floor(math.log2(n))
        return get_slopes_power_of_2(closest_power_of_2) + get_slopes(2 * closest_power_of_2)[0::2][:n - closest_power_of_2]

    for h in (1, 8, 6, 12):
        tensors[f'pos.alibi.{h}'] = torch.tensor(get_slopes(h), dtype=torch.float64)
    return tensors, {'cases': json.dumps(cases)}


# ---------------------------------------------------------------------------------------
# optimisers, clipping, StepLR

OPTIMISERS = {'SGD': torch.optim.SGD, 'Adam': torch.optim.Adam, 'AdamW': torch.optim.AdamW}


def optim():
    reseed(7)
    tensors, cases, clips, steplrs = {}, [], [], []
    shapes = [(3, 4), (4,), (2, 2, 3)]

    def case(name, optimiser, options, dtype=torch.float64, steps=5):
        params = [nn.Parameter(randn(*s, dtype=dtype)) for s in shapes]
        for i, p in enumerate(params):
            tensors[f'{name}.p{i}.init'] = p.detach().clone()
        opt = OPTIMISERS[optimiser](params, **options)
        for s in range(steps):
            for i, p in enumerate(params):
                g = randn(*p.shape, dtype=dtype)
                tensors[f'{name}.p{i}.grad{s}'] = g
                p.grad = g.clone()
            opt.step()
            for i, p in enumerate(params):
                tensors[f'{name}.p{i}.after{s}'] = p.detach().clone()
            if s == 2:  # PyTorch's own state after 3 steps, to resume from in TypeScript
                for i, st in opt.state_dict()['state'].items():
                    for k, v in st.items():
                        if v is not None:
                            tensors[f'{name}.state3.{i}.{k}'] = v.clone()
        sd = opt.state_dict()
        for i, st in sd['state'].items():
            for k, v in st.items():
                if v is not None:
                    tensors[f'{name}.state.{i}.{k}'] = v.clone()
        group = {k: (list(v) if isinstance(v, tuple) else v) for k, v in sd['param_groups'][0].items()}
        cases.append({'name': name, 'optimiser': optimiser, 'options': options, 'dtype': str(dtype).replace('torch.', ''),
                      'steps': steps, 'param_group': group})

    case('sgd', 'SGD', {'lr': 0.1})
    case('sgd_wd', 'SGD', {'lr': 0.05, 'weight_decay': 0.1})
    case('sgd_momentum', 'SGD', {'lr': 0.1, 'momentum': 0.9})
    case('sgd_momentum_dampening_wd', 'SGD', {'lr': 0.1, 'momentum': 0.8, 'dampening': 0.3, 'weight_decay': 0.01})
    case('sgd_nesterov', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 0.05})
    case('sgd_maximize', 'SGD', {'lr': 0.1, 'momentum': 0.5, 'maximize': True})
    case('adam', 'Adam', {'lr': 0.01})
    case('adam_wd_betas', 'Adam', {'lr': 0.02, 'betas': (0.8, 0.95), 'eps': 1e-6, 'weight_decay': 0.1})
    case('adam_amsgrad', 'Adam', {'lr': 0.01, 'amsgrad': True, 'weight_decay': 0.01})
    case('adamw', 'AdamW', {'lr': 0.01})
    case('adamw_wd_amsgrad', 'AdamW', {'lr': 0.02, 'weight_decay': 0.1, 'amsgrad': True, 'betas': (0.85, 0.99)})
    case('adam_maximize', 'Adam', {'lr': 0.01, 'maximize': True})
    case('adam_f32', 'Adam', {'lr': 0.01, 'weight_decay': 0.01}, dtype=torch.float32)
    case('adamw_f32', 'AdamW', {'lr': 0.01, 'weight_decay': 0.05}, dtype=torch.float32)
    case('sgd_nesterov_f32', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 0.05}, dtype=torch.float32)

    def clip(name, max_norm, norm_type, scale=1.0, dtype=torch.float64):
        params = [nn.Parameter(randn(*s, dtype=dtype)) for s in shapes]
        for i, p in enumerate(params):
            p.grad = randn(*p.shape, dtype=dtype) * scale
            tensors[f'clip.{name}.g{i}'] = p.grad.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        for i, p in enumerate(params):
            tensors[f'clip.{name}.out{i}'] = p.grad.clone()
        tensors[f'clip.{name}.total'] = total.detach().clone()
        clips.append({'name': name, 'max_norm': max_norm, 'norm_type': 'inf' if norm_type == math.inf else norm_type})

    clip('l2_clipped', 1.0, 2.0)
    clip('l2_unclipped', 100.0, 2.0)
    clip('l1', 2.0, 1.0)
    clip('l3', 0.5, 3.0)
    clip('inf', 0.7, math.inf)
    clip('l2_f32', 1.0, 2.0, dtype=torch.float32)

    def steplr(name, step_size, gamma, lr, epochs=12):
        p = nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size, gamma)
        lrs = [sched.get_last_lr()[0]]
        for _ in range(epochs):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        tensors[f'steplr.{name}.lrs'] = torch.tensor(lrs, dtype=torch.float64)
        steplrs.append({'name': name, 'step_size': step_size, 'gamma': gamma, 'lr': lr, 'epochs': epochs})

    steplr('s3_g01', 3, 0.1, 0.1)
    steplr('s1_g095', 1, 0.95, 0.3)
    return tensors, {'optim': json.dumps(cases), 'clip': json.dumps(clips), 'steplr': json.dumps(steplrs)}


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    for fname, fn in [('nn_layers', nn_layers), ('optim', optim)]:
        t, meta = fn()
        size = write_safetensors(os.path.join(OUT, f'{fname}.safetensors'), t, meta)
        print(f'{fname}.safetensors: {len(t)} tensors, {size} bytes')
