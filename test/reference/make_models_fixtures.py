"""Fixtures for test/models_gpt.test.ts: a GPT (test/reference/models_ref.py) in float64 with
random weights — its state dict, logits, loss and every parameter's gradient for a batch
with ignored (-1) targets, and a greedy continuation computed without a cache.

Run: /usr/bin/python3 test/reference/make_models_fixtures.py  (torch 1.13, Debian python3-torch)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402
from models_ref import GPT, BertForMaskedLM, Seq2SeqTransformer  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')
torch.set_num_threads(1)


def gpt_cases():
    rng = np.random.default_rng(11)
    torch.manual_seed(11)
    tensors, cases = {}, []
    for name, cfg, B, T in [
        ('gpt', dict(vocab_size=37, block_size=24, n_layer=2, n_head=4, n_embd=32, bias=True), 3, 17),
        ('gpt_nobias', dict(vocab_size=19, block_size=12, n_layer=1, n_head=2, n_embd=16, bias=False), 2, 12),
    ]:
        model = GPT(**cfg).double()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))) * 0.3)
        for k, v in model.state_dict().items():
            tensors[f'{name}.sd.{k}'] = v.clone()
        idx = torch.from_numpy(rng.integers(0, cfg['vocab_size'], (B, T)))
        targets = torch.from_numpy(rng.integers(0, cfg['vocab_size'], (B, T)))
        targets[0, :3] = -1
        logits, loss = model(idx, targets)
        loss.backward()
        tensors[f'{name}.in.idx'] = idx
        tensors[f'{name}.in.targets'] = targets
        tensors[f'{name}.out.logits'] = logits.detach()
        tensors[f'{name}.out.loss'] = loss.detach().reshape(1)
        for k, p in model.named_parameters():
            tensors[f'{name}.grad.{k}'] = p.grad.clone()
        prompt = [int(i) for i in rng.integers(0, cfg['vocab_size'], 5)]
        n = cfg['block_size'] - len(prompt)
        cases.append({'name': name, 'config': cfg, 'prompt': prompt, 'greedy': model.greedy(prompt, n)})
    return tensors, {'cases': json.dumps(cases)}


def bert_cases():
    rng = np.random.default_rng(12)
    torch.manual_seed(12)
    cfg = dict(vocab_size=41, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, max_position_embeddings=20)
    model = BertForMaskedLM(**cfg).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))) * 0.3)
    tensors = {f'bert.sd.{k}': v.clone() for k, v in model.state_dict().items()}
    B, L = 3, 11
    ids = torch.from_numpy(rng.integers(0, cfg['vocab_size'], (B, L)))
    mask = torch.ones(B, L, dtype=torch.int64)
    mask[1, -3:] = 0
    mask[2, -1:] = 0
    types = torch.from_numpy(rng.integers(0, 2, (B, L)))
    labels = torch.full((B, L), -100, dtype=torch.int64)
    sel = torch.from_numpy(rng.random((B, L)) < 0.3)
    labels[sel] = ids[sel]
    logits, loss = model(ids, mask, types, labels)
    loss.backward()
    tensors.update({'bert.in.ids': ids, 'bert.in.mask': mask, 'bert.in.types': types, 'bert.in.labels': labels,
                    'bert.out.logits': logits.detach(), 'bert.out.loss': loss.detach().reshape(1)})
    for k, p in model.named_parameters():
        tensors[f'bert.grad.{k}'] = p.grad.clone()
    return tensors, {'bert': json.dumps(cfg)}


def seq2seq_cases():
    rng = np.random.default_rng(13)
    torch.manual_seed(13)
    cfg = dict(src_vocab=17, tgt_vocab=19, d_model=16, nhead=2, n_enc=2, n_dec=2, dim_ff=32)
    model = Seq2SeqTransformer(**cfg).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))) * 0.3)
    tensors = {f's2s.sd.{k}': v.clone() for k, v in model.state_dict().items()}
    src = torch.from_numpy(rng.integers(3, 17, (3, 9)))
    tgt = torch.from_numpy(rng.integers(3, 19, (3, 7)))
    src_pad = torch.zeros(3, 9, dtype=torch.bool)
    src_pad[1, -2:] = True
    tgt_pad = torch.zeros(3, 7, dtype=torch.bool)
    tgt_pad[2, -1:] = True
    logits = model(src, tgt, src_pad, tgt_pad)
    g = torch.from_numpy(rng.standard_normal(tuple(logits.shape)))
    logits.backward(g)
    tensors.update({'s2s.in.src': src, 's2s.in.tgt': tgt, 's2s.in.src_pad': src_pad, 's2s.in.tgt_pad': tgt_pad, 's2s.out': logits.detach(), 's2s.gout': g})
    for k, p in model.named_parameters():
        tensors[f's2s.grad.{k}'] = p.grad.clone()
    greedy = model.greedy(src[[0, 2]], 1, 2, 6)
    return tensors, {'s2s': json.dumps({**cfg, 'greedy': greedy})}


if __name__ == '__main__':
    t, meta = gpt_cases()
    for fn in (bert_cases, seq2seq_cases):
        more, more_meta = fn()
        t.update(more)
        meta.update(more_meta)
    size = write_safetensors(os.path.join(OUT, 'models_gpt.safetensors'), t, meta)
    print(f'models_gpt.safetensors: {len(t)} tensors, {size} bytes')
