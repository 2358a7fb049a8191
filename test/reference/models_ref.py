"""A GPT-2-style decoder LM in plain torch (pre-norm blocks, learned positions, tied
lm_head, exact GELU, nanoGPT's parameter names), written for the fixtures of
test/models_gpt.test.ts. Not nanoGPT's code: the same architecture and key names, so a
state dict moves between them."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)

    def forward(self, x):
        B, T, C = x.shape
        hd = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, hd).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        att = att.masked_fill(~causal, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, n_embd, bias):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x)))


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (torch 1.13's has none without affine)."""

    def __init__(self, n, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias)
        self.attn = Attention(n_embd, n_head, bias)
        self.ln_2 = LayerNorm(n_embd, bias)
        self.mlp = MLP(n_embd, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, bias=True):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),
            wpe=nn.Embedding(block_size, n_embd),
            h=nn.ModuleList([Block(n_embd, n_head, bias) for _ in range(n_layer)]),
            ln_f=LayerNorm(n_embd, bias),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def greedy(self, prompt, n):
        """Greedy continuation recomputing the whole context each step (no cache)."""
        idx = torch.tensor([prompt])
        out = []
        for _ in range(n):
            logits, _ = self(idx)
            nxt = int(logits[0, -1].argmax())
            out.append(nxt)
            idx = torch.cat([idx, torch.tensor([[nxt]])], dim=1)
        return out


class BertSelfAttention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)


class BertAddNorm(nn.Module):
    def __init__(self, d_in, d):
        super().__init__()
        self.dense = nn.Linear(d_in, d)
        self.LayerNorm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, h, residual):
        return self.LayerNorm(self.dense(h) + residual)


class BertLayer(nn.Module):
    def __init__(self, d, heads, inter):
        super().__init__()
        self.heads = heads
        self.attention = nn.Module()
        self.attention.self = BertSelfAttention(d)
        self.attention.output = BertAddNorm(d, d)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(d, inter)
        self.output = BertAddNorm(inter, d)

    def forward(self, x, mask):
        B, L, D = x.shape
        hd = D // self.heads
        s = self.attention.self
        q, k, v = (f(x).view(B, L, self.heads, hd).transpose(1, 2) for f in (s.query, s.key, s.value))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
        if mask is not None:  # HuggingFace's additive mask: 0 where attended, a large negative where not
            scores = scores + (1.0 - mask[:, None, None, :].to(scores.dtype)) * torch.finfo(scores.dtype).min
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, L, D)
        a = self.attention.output(ctx, x)
        return self.output(F.gelu(self.intermediate.dense(a)), a)


class BertForMaskedLM(nn.Module):
    """HuggingFace BertForMaskedLM's architecture and parameter names, in plain torch."""

    def __init__(self, vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings, type_vocab_size=2):
        super().__init__()
        d = hidden_size
        self.bert = nn.Module()
        self.bert.embeddings = nn.Module()
        e = self.bert.embeddings
        e.word_embeddings = nn.Embedding(vocab_size, d)
        e.position_embeddings = nn.Embedding(max_position_embeddings, d)
        e.token_type_embeddings = nn.Embedding(type_vocab_size, d)
        e.LayerNorm = nn.LayerNorm(d, eps=1e-12)
        self.bert.encoder = nn.Module()
        self.bert.encoder.layer = nn.ModuleList([BertLayer(d, num_attention_heads, intermediate_size) for _ in range(num_hidden_layers)])
        self.cls = nn.Module()
        self.cls.predictions = nn.Module()
        p = self.cls.predictions
        p.bias = nn.Parameter(torch.zeros(vocab_size))
        p.transform = nn.Module()
        p.transform.dense = nn.Linear(d, d)
        p.transform.LayerNorm = nn.LayerNorm(d, eps=1e-12)
        p.decoder = nn.Linear(d, vocab_size)
        p.decoder.weight = e.word_embeddings.weight
        p.decoder.bias = p.bias

    def forward(self, ids, attention_mask=None, token_type_ids=None, labels=None):
        B, L = ids.shape
        e = self.bert.embeddings
        types = token_type_ids if token_type_ids is not None else torch.zeros_like(ids)
        x = e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(torch.arange(L)) + e.token_type_embeddings(types))
        for layer in self.bert.encoder.layer:
            x = layer(x, attention_mask)
        p = self.cls.predictions
        logits = p.decoder(p.transform.LayerNorm(F.gelu(p.transform.dense(x))))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        return logits, loss


class Seq2SeqTransformer(nn.Module):
    """torch.nn.Transformer (batch_first) with token embeddings x sqrt(d), sinusoidal positions
    (interleaved sin/cos) and a generator: the layout of tn.models.Seq2SeqTransformer."""

    def __init__(self, src_vocab, tgt_vocab, d_model, nhead, n_enc, n_dec, dim_ff, max_len=64):
        super().__init__()
        self.transformer = nn.Transformer(d_model, nhead, n_enc, n_dec, dim_ff, dropout=0.0, batch_first=True)
        self.generator = nn.Linear(d_model, tgt_vocab)
        self.src_tok_emb = nn.Embedding(src_vocab, d_model)
        self.tgt_tok_emb = nn.Embedding(tgt_vocab, d_model)
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]
        inv = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
        pe = torch.stack([torch.sin(pos * inv), torch.cos(pos * inv)], dim=2).reshape(max_len, d_model)
        self.register_buffer('pe', pe, persistent=False)
        self.d = d_model

    def embed(self, emb, ids):
        return emb(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]].to(emb.weight.dtype)

    def forward(self, src, tgt, src_pad=None, tgt_pad=None):
        T = tgt.shape[1]
        causal = torch.triu(torch.full((T, T), float('-inf'), dtype=self.generator.weight.dtype), 1)
        y = self.transformer(self.embed(self.src_tok_emb, src), self.embed(self.tgt_tok_emb, tgt), tgt_mask=causal,
                             src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        return self.generator(y)

    @torch.no_grad()
    def greedy(self, src, bos, eos, max_len):
        memory = self.transformer.encoder(self.embed(self.src_tok_emb, src))
        ys = torch.full((src.shape[0], 1), bos, dtype=torch.int64)
        out = [[] for _ in range(src.shape[0])]
        done = [False] * src.shape[0]
        for _ in range(max_len):
            T = ys.shape[1]
            causal = torch.triu(torch.full((T, T), float('-inf'), dtype=self.generator.weight.dtype), 1)
            y = self.transformer.decoder(self.embed(self.tgt_tok_emb, ys), memory, tgt_mask=causal)
            nxt = self.generator(y[:, -1]).argmax(1)
            for n, t in enumerate(nxt.tolist()):
                if done[n]:
                    continue
                if t == eos:
                    done[n] = True
                else:
                    out[n].append(t)
            if all(done):
                break
            ys = torch.cat([ys, nxt[:, None]], 1)
        return out
