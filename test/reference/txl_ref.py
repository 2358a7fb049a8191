"""Transformer-XL in plain torch, following the semantics of kimiyoung/transformer-xl
pytorch/mem_transformer.py (attn_type 0) as ../shared/REFERENCE.md records them: the
(len, batch, ...) layout, the pad-and-view rel_shift, the causal mask with memory and the
same_length variant, memory updates, adaptive embedding and projected adaptive softmax. Written
for the fixtures of test/txl_*.test.ts (module and parameter names as upstream, so state dicts
move between them); not upstream's code.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def rel_shift(x, zero_triu=False):
    """x (qlen, klen, ...): pad a zero column, view as (klen + 1, qlen, ...), drop the first row."""
    q, k = x.shape[0], x.shape[1]
    padded = torch.cat([x.new_zeros((q, 1) + tuple(x.shape[2:])), x], dim=1)
    padded = padded.view((k + 1, q) + tuple(x.shape[2:]))
    out = padded[1:].reshape(x.shape)
    if zero_triu:
        keep = torch.tril(torch.ones(q, k, dtype=x.dtype), k - q)
        out = out * keep.view((q, k) + (1,) * (x.dim() - 2))
    return out


def dec_attn_mask(qlen, mlen, same_length=False, mem_len=0):
    """(qlen, klen) bool, True = hidden."""
    klen = qlen + mlen
    ones = torch.ones(qlen, klen)
    if same_length:
        mask_len = klen - mem_len
        shift = qlen - mask_len if mask_len > 0 else qlen
        return (torch.triu(ones, 1 + mlen) + torch.tril(ones, -shift)) > 0
    return torch.triu(ones, 1 + mlen) > 0


def rel_attention_core(q, k, v, r, r_w_bias, r_r_bias, mask, scale):
    """Official layout: q (qlen, B, H, d), k/v (klen, B, H, d), r (klen, H, d); mask (qlen, klen) True = hidden.
    Returns (qlen, B, H, d)."""
    ac = torch.einsum('ibnd,jbnd->ijbn', q + r_w_bias, k)
    bd = rel_shift(torch.einsum('ibnd,jnd->ijbn', q + r_r_bias, r))
    score = (ac + bd) * scale
    score = score.masked_fill(mask[:, :, None, None], float('-inf'))
    prob = score.softmax(dim=1)
    return torch.einsum('ijbn,jbnd->ibnd', prob, v)


class PositionalEmbedding(nn.Module):
    def __init__(self, demb):
        super().__init__()
        self.demb = demb
        self.register_buffer('inv_freq', 1 / (10000 ** (torch.arange(0.0, demb, 2.0) / demb)))

    def forward(self, pos_seq):
        x = torch.outer(pos_seq, self.inv_freq)
        return torch.cat([x.sin(), x.cos()], dim=-1)[:, None, :]


class PositionwiseFF(nn.Module):
    def __init__(self, d_model, d_inner, dropout, pre_lnorm=False):
        super().__init__()
        self.CoreNet = nn.Sequential(nn.Linear(d_model, d_inner), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d_inner, d_model), nn.Dropout(dropout))
        self.layer_norm = nn.LayerNorm(d_model)
        self.pre_lnorm = pre_lnorm

    def forward(self, x):
        if self.pre_lnorm:
            return x + self.CoreNet(self.layer_norm(x))
        return self.layer_norm(x + self.CoreNet(x))


class RelPartialLearnableMultiHeadAttn(nn.Module):
    def __init__(self, n_head, d_model, d_head, dropout, dropatt=0.0, pre_lnorm=False):
        super().__init__()
        self.n_head, self.d_model, self.d_head = n_head, d_model, d_head
        self.qkv_net = nn.Linear(d_model, 3 * n_head * d_head, bias=False)
        self.drop = nn.Dropout(dropout)
        self.dropatt = nn.Dropout(dropatt)
        self.o_net = nn.Linear(n_head * d_head, d_model, bias=False)
        self.layer_norm = nn.LayerNorm(d_model)
        self.scale = 1 / (d_head ** 0.5)
        self.pre_lnorm = pre_lnorm
        self.r_net = nn.Linear(d_model, n_head * d_head, bias=False)

    def forward(self, w, r, r_w_bias, r_r_bias, attn_mask, mems=None):
        qlen, bsz = w.shape[0], w.shape[1]
        cat = w if mems is None or mems.numel() == 0 else torch.cat([mems, w], 0)
        heads = self.qkv_net(self.layer_norm(cat) if self.pre_lnorm else cat)
        r_k = self.r_net(r).view(r.shape[0], self.n_head, self.d_head)
        q, k, v = torch.chunk(heads, 3, dim=-1)
        q = q[-qlen:]
        klen = k.shape[0]
        q = q.view(qlen, bsz, self.n_head, self.d_head)
        k = k.view(klen, bsz, self.n_head, self.d_head)
        v = v.view(klen, bsz, self.n_head, self.d_head)
        ac = torch.einsum('ibnd,jbnd->ijbn', q + r_w_bias, k)
        bd = rel_shift(torch.einsum('ibnd,jnd->ijbn', q + r_r_bias, r_k))
        score = (ac + bd) * self.scale
        score = score.masked_fill(attn_mask[:, :, None, None], float('-inf'))
        prob = self.dropatt(score.softmax(dim=1))
        vec = torch.einsum('ijbn,jbnd->ibnd', prob, v).reshape(qlen, bsz, self.n_head * self.d_head)
        out = self.drop(self.o_net(vec))
        return w + out if self.pre_lnorm else self.layer_norm(w + out)


class RelPartialLearnableDecoderLayer(nn.Module):
    def __init__(self, n_head, d_model, d_head, d_inner, dropout, dropatt=0.0, pre_lnorm=False):
        super().__init__()
        self.dec_attn = RelPartialLearnableMultiHeadAttn(n_head, d_model, d_head, dropout, dropatt, pre_lnorm)
        self.pos_ff = PositionwiseFF(d_model, d_inner, dropout, pre_lnorm)

    def forward(self, x, r, r_w_bias, r_r_bias, mask, mems=None):
        return self.pos_ff(self.dec_attn(x, r, r_w_bias, r_r_bias, mask, mems))


class AdaptiveEmbedding(nn.Module):
    def __init__(self, n_token, d_embed, d_proj, cutoffs, div_val=1):
        super().__init__()
        self.n_token, self.d_embed, self.d_proj, self.div_val = n_token, d_embed, d_proj, div_val
        self.cutoffs = cutoffs + [n_token]
        self.cutoff_ends = [0] + self.cutoffs
        self.emb_scale = d_proj ** 0.5
        self.emb_layers = nn.ModuleList()
        self.emb_projs = nn.ParameterList()
        if div_val == 1:
            self.emb_layers.append(nn.Embedding(n_token, d_embed))
            if d_proj != d_embed:
                self.emb_projs.append(nn.Parameter(torch.randn(d_proj, d_embed)))
        else:
            for i in range(len(self.cutoffs)):
                d_i = d_embed // (div_val ** i)
                self.emb_layers.append(nn.Embedding(self.cutoff_ends[i + 1] - self.cutoff_ends[i], d_i))
                self.emb_projs.append(nn.Parameter(torch.randn(d_proj, d_i)))

    def forward(self, inp):
        if self.div_val == 1:
            emb = self.emb_layers[0](inp)
            if self.d_proj != self.d_embed:
                emb = F.linear(emb, self.emb_projs[0])
        else:
            flat = inp.reshape(-1)
            out = torch.zeros(flat.shape[0], self.d_proj, dtype=self.emb_projs[0].dtype)
            for i in range(len(self.cutoffs)):
                lo, hi = self.cutoff_ends[i], self.cutoff_ends[i + 1]
                idx = ((flat >= lo) & (flat < hi)).nonzero().squeeze(1)
                if idx.numel() == 0:
                    continue
                e = F.linear(self.emb_layers[i](flat.index_select(0, idx) - lo), self.emb_projs[i])
                out = out.index_copy(0, idx, e)
            emb = out.view(inp.shape + (self.d_proj,))
        return emb * self.emb_scale


class ProjectedAdaptiveLogSoftmax(nn.Module):
    """Negative log-likelihood per target, in the targets' order (upstream's keep_order=True;
    its default groups by cluster, which changes the order but not the mean)."""

    def __init__(self, n_token, d_embed, d_proj, cutoffs, div_val=1):
        super().__init__()
        self.n_token, self.d_embed, self.d_proj, self.div_val = n_token, d_embed, d_proj, div_val
        self.cutoffs = cutoffs + [n_token]
        self.cutoff_ends = [0] + self.cutoffs
        self.n_clusters = len(self.cutoffs) - 1
        if self.n_clusters > 0:
            self.cluster_weight = nn.Parameter(torch.zeros(self.n_clusters, d_embed))
            self.cluster_bias = nn.Parameter(torch.zeros(self.n_clusters))
        self.out_layers = nn.ModuleList()
        self.out_projs = nn.ParameterList()
        if div_val == 1:
            for _ in range(len(self.cutoffs)):
                self.out_projs.append(nn.Parameter(torch.randn(d_proj, d_embed)) if d_proj != d_embed else None)
            self.out_layers.append(nn.Linear(d_embed, n_token))
        else:
            for i in range(len(self.cutoffs)):
                d_i = d_embed // (div_val ** i)
                self.out_projs.append(nn.Parameter(torch.randn(d_proj, d_i)))
                self.out_layers.append(nn.Linear(d_i, self.cutoff_ends[i + 1] - self.cutoff_ends[i]))

    @staticmethod
    def logit(h, weight, bias, proj):
        if proj is not None:
            h = F.linear(h, proj.t().contiguous())
        return F.linear(h, weight, bias)

    def forward(self, hidden, target):
        if self.n_clusters == 0:
            lp = F.log_softmax(self.logit(hidden, self.out_layers[0].weight, self.out_layers[0].bias, self.out_projs[0]), dim=-1)
            return -lp.gather(1, target[:, None]).squeeze(1)
        weights, biases = [], []
        for i in range(len(self.cutoffs)):
            if self.div_val == 1:
                lo, hi = self.cutoff_ends[i], self.cutoff_ends[i + 1]
                w, b = self.out_layers[0].weight[lo:hi], self.out_layers[0].bias[lo:hi]
            else:
                w, b = self.out_layers[i].weight, self.out_layers[i].bias
            if i == 0:
                w = torch.cat([w, self.cluster_weight], 0)
                b = torch.cat([b, self.cluster_bias], 0)
            weights.append(w)
            biases.append(b)
        head = F.log_softmax(self.logit(hidden, weights[0], biases[0], self.out_projs[0]), dim=1)
        nll = torch.zeros(target.shape[0], dtype=hidden.dtype)
        for i in range(len(self.cutoffs)):
            lo, hi = self.cutoff_ends[i], self.cutoff_ends[i + 1]
            idx = ((target >= lo) & (target < hi)).nonzero().squeeze(1)
            if idx.numel() == 0:
                continue
            t = target.index_select(0, idx) - lo
            head_i = head.index_select(0, idx)
            if i == 0:
                lp = head_i.gather(1, t[:, None]).squeeze(1)
            else:
                tail = F.log_softmax(self.logit(hidden.index_select(0, idx), weights[i], biases[i], self.out_projs[i]), dim=1)
                lp = head_i[:, -i] + tail.gather(1, t[:, None]).squeeze(1)
            nll = nll.index_copy(0, idx, -lp)
        return nll


class MemTransformerLM(nn.Module):
    def __init__(self, n_token, n_layer, n_head, d_model, d_head, d_inner, dropout=0.0, dropatt=0.0, tie_weight=True, d_embed=None,
                 div_val=1, tie_projs=(False,), pre_lnorm=False, tgt_len=None, ext_len=0, mem_len=0, cutoffs=(), same_length=False, clamp_len=-1):
        super().__init__()
        d_embed = d_model if d_embed is None else d_embed
        cutoffs = list(cutoffs)
        self.n_layer, self.mem_len, self.ext_len, self.same_length, self.clamp_len = n_layer, mem_len, ext_len, same_length, clamp_len
        self.word_emb = AdaptiveEmbedding(n_token, d_embed, d_model, cutoffs, div_val)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList([RelPartialLearnableDecoderLayer(n_head, d_model, d_head, d_inner, dropout, dropatt, pre_lnorm) for _ in range(n_layer)])
        self.crit = ProjectedAdaptiveLogSoftmax(n_token, d_embed, d_model, cutoffs, div_val)
        if tie_weight:
            for i in range(len(self.crit.out_layers)):
                self.crit.out_layers[i].weight = self.word_emb.emb_layers[i].weight
        for i, tie in enumerate(tie_projs):
            if tie and div_val == 1 and d_model != d_embed:
                self.crit.out_projs[i] = self.word_emb.emb_projs[0]
            elif tie and div_val != 1:
                self.crit.out_projs[i] = self.word_emb.emb_projs[i]
        self.pos_emb = PositionalEmbedding(d_model)
        self.r_w_bias = nn.Parameter(torch.randn(n_head, d_head))
        self.r_r_bias = nn.Parameter(torch.randn(n_head, d_head))

    def init_mems(self):
        return [torch.empty(0) for _ in range(self.n_layer + 1)] if self.mem_len > 0 else None

    def update_mems(self, hids, mems, qlen, mlen):
        with torch.no_grad():
            end = mlen + max(0, qlen - self.ext_len)
            beg = max(0, end - self.mem_len)
            return [(h if m.numel() == 0 else torch.cat([m, h], 0))[beg:end].detach() for h, m in zip(hids, mems)]

    def forward(self, data, target, *mems):
        if not mems:
            mems = self.init_mems()
        qlen, bsz = data.shape
        emb = self.word_emb(data)
        mlen = mems[0].shape[0] if mems is not None and mems[0].numel() > 0 else 0
        klen = mlen + qlen
        mask = dec_attn_mask(qlen, mlen, self.same_length, self.mem_len)
        pos_seq = torch.arange(klen - 1, -1, -1.0, dtype=emb.dtype)
        if self.clamp_len > 0:
            pos_seq = pos_seq.clamp(max=self.clamp_len)
        pos = self.drop(self.pos_emb(pos_seq))
        core = self.drop(emb)
        hids = [core]
        for i, layer in enumerate(self.layers):
            m = None if mems is None else mems[i]
            core = layer(core, pos, self.r_w_bias, self.r_r_bias, mask, m)
            hids.append(core)
        core = self.drop(core)
        new_mems = None if mems is None else self.update_mems(hids, mems, qlen, mlen)
        tgt_len = target.shape[0]
        hid = core[-tgt_len:]
        loss = self.crit(hid.reshape(-1, hid.shape[-1]), target.reshape(-1)).view(tgt_len, -1)
        return [loss] if new_mems is None else [loss] + new_mems
