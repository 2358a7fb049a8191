"""Transformer-XL from Python: the baseline for bench/txl.ts.

The model is test/reference/txl_ref.py (this repository's plain-torch MemTransformerLM with the
official semantics: einsum AC and BD, pad-and-view rel_shift, masked softmax). Evaluation feeds
consecutive segments with memory under torch.no_grad(); a training step is forward, mean loss,
backward and torch.optim.Adam.step().

    txl.py THREADS CONFIG_JSON   -> {"rows": [{"case", "ms"}], "torch"}
"""
import json
import os
import sys

import torch

from timing import timed  # noqa: E402  (bench/python/timing.py)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'reference'))
from txl_ref import MemTransformerLM  # noqa: E402


def run(threads, cfg):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    m = cfg['model']
    model = MemTransformerLM(m['nToken'], m['nLayer'], m['nHead'], m['dModel'], m['dHead'], m['dInner'], tgt_len=m['tgtLen'], mem_len=m['memLen'])
    T = m['tgtLen']
    rows = []
    for bsz in cfg['evalBatches']:
        model.eval()
        data = torch.randint(0, m['nToken'], (T, bsz))
        with torch.no_grad():
            mems = model(data, data)[1:]
            state = {'mems': mems}

            def segment():
                out = model(data, data, *state['mems'])
                state['mems'] = out[1:]
            rows.append({'case': f'eval b{bsz}', 'ms': timed(segment, cfg['reps'])})
    model.train()
    bsz = cfg['trainBatch']
    data = torch.randint(0, m['nToken'], (T, bsz))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    with torch.no_grad():
        mems = model(data, data)[1:]

    def step():
        opt.zero_grad(set_to_none=True)
        out = model(data, data, *mems)
        out[0].mean().backward()
        opt.step()
    rows.append({'case': 'train', 'ms': timed(step, cfg['reps'])})
    return rows


if __name__ == '__main__':
    threads = int(sys.argv[1])
    cfg = json.loads(sys.argv[2])
    print(json.dumps({'rows': run(threads, cfg), 'torch': torch.__version__}))
