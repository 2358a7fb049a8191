"""Fixtures for test/txl_model.test.ts: small MemTransformerLMs of test/reference/txl_ref.py
(the official semantics) in float64 with random weights — state dicts (upstream's keys, tied
tensors under both names), and three consecutive segments carrying memory: per-token losses and
new memories of each, and every parameter's gradient of the last segment's mean loss.

Run: /usr/bin/python3 test/reference/make_txl_model_fixtures.py
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402
from txl_ref import MemTransformerLM, dec_attn_mask  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures')
torch.set_num_threads(1)

CASES = [
    ('adaptive', dict(n_token=50, n_layer=2, n_head=2, d_model=16, d_head=8, d_inner=32, mem_len=6, tgt_len=5, cutoffs=[20, 35], div_val=2,
                      tie_projs=[False, True, True]), 3, 5),
    ('same_length', dict(n_token=23, n_layer=2, n_head=3, d_model=12, d_head=4, d_inner=24, mem_len=5, tgt_len=4, same_length=True, clamp_len=4,
                         pre_lnorm=True), 2, 4),
    ('projected', dict(n_token=30, n_layer=1, n_head=2, d_model=16, d_head=8, d_inner=20, mem_len=7, tgt_len=6, cutoffs=[10], div_val=1, d_embed=12,
                       tie_projs=[False, True]), 2, 6),
]


def log_probs(model, hidden):
    """All tokens' log-probabilities of one hidden state, through the criterion's own NLL."""
    V = model.crit.n_token
    return -model.crit(hidden.expand(V, -1), torch.arange(V))


@torch.no_grad()
def greedy_with_memory(model, cfg, rng):
    """Prompt in segments of tgt_len, then one token at a time, carrying memory; greedy."""
    model.eval()
    prompt = [int(i) for i in rng.integers(0, cfg['n_token'], 7)]
    mems = model.init_mems()

    def run(ids):
        nonlocal mems
        data = torch.tensor(ids).view(-1, 1)
        qlen = data.shape[0]
        emb = model.word_emb(data)
        mlen = mems[0].shape[0] if mems[0].numel() > 0 else 0
        klen = mlen + qlen
        mask = dec_attn_mask(qlen, mlen, model.same_length, model.mem_len)
        pos_seq = torch.arange(klen - 1, -1, -1.0, dtype=emb.dtype)
        if model.clamp_len > 0:
            pos_seq = pos_seq.clamp(max=model.clamp_len)
        pos = model.pos_emb(pos_seq)
        core, hids = emb, [emb]
        for i, layer in enumerate(model.layers):
            core = layer(core, pos, model.r_w_bias, model.r_r_bias, mask, mems[i])
            hids.append(core)
        mems = model.update_mems(hids, mems, qlen, mlen)
        return log_probs(model, core[-1, 0][None, :])

    seg = cfg['tgt_len']
    for at in range(0, len(prompt), seg):
        lp = run(prompt[at:at + seg])
    out = []
    for _ in range(8):
        nxt = int(lp.argmax())
        out.append(nxt)
        lp = run([nxt])
    model.train()
    return {'prompt': prompt, 'tokens': out}


def main():
    rng = np.random.default_rng(41)
    tensors, meta = {}, []
    for name, cfg, bsz, seg in CASES:
        torch.manual_seed(0)
        model = MemTransformerLM(**cfg).double()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))) * 0.3)
        for k, v in model.state_dict().items():
            tensors[f'{name}.sd.{k}'] = v.clone()
        mems = []
        for s in range(3):
            data = torch.from_numpy(rng.integers(0, cfg['n_token'], (seg, bsz)))
            target = torch.from_numpy(rng.integers(0, cfg['n_token'], (seg, bsz)))
            model.zero_grad()
            out = model(data, target, *mems)
            loss, mems = out[0], out[1:]
            tensors[f'{name}.seg{s}.data'] = data
            tensors[f'{name}.seg{s}.target'] = target
            tensors[f'{name}.seg{s}.loss'] = loss.detach()
            for i, m in enumerate(mems):
                tensors[f'{name}.seg{s}.mem{i}'] = m
        loss.mean().backward()
        for k, p in model.named_parameters():
            tensors[f'{name}.grad.{k}'] = p.grad.clone()
        meta.append({'name': name, 'config': cfg, 'bsz': bsz, 'greedy': greedy_with_memory(model, cfg, rng)})
    return tensors, {'cases': json.dumps(meta)}


if __name__ == '__main__':
    t, m = main()
    size = write_safetensors(os.path.join(OUT, 'txl_model.safetensors'), t, m)
    print(f'txl_model.safetensors: {len(t)} tensors, {size} bytes')
