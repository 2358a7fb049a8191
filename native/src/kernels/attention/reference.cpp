// The naive math attention: matmul, scores modifications, softmax, matmul, all with ATen
// ops (autograd flows through them). The reference for tests and the fallback for devices
// and dtypes the fused kernel does not take, and the source of the attention weights
// (attentionWeights, behind needWeights). Materialises (B, Hq, Lq, Lk).
//
//   s = scale q k^T; s = softcap tanh(s / softcap); s += alibi + mask; s = -inf where hidden
//   p = softmax(s) (rows with no visible key: 0); p *= keep / (1 - dropoutP); out = p v
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/zeros_like.h>

#include <limits>

#include "kernels/attention/attention.h"
#include "kernels/attention/attention_checks.h"

namespace tn {
namespace attention {

at::Tensor dropoutKeepMask(uint64_t seed, int64_t B, int64_t H, int64_t Lq, int64_t Lk, double p) {
  at::Tensor keep = at::empty({B, H, Lq, Lk}, at::TensorOptions().dtype(at::kBool));
  bool* out = keep.data_ptr<bool>();
  const uint32_t threshold = cpu::dropoutThreshold(p);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Lq; ++i)
        for (int64_t j = 0; j < Lk; ++j) *out++ = cpu::dropoutHash(seed, b, h, i, j) >= threshold;
  return keep;
}

namespace {

// p = softmax(s) before dropout, in the compute dtype `ct`, and lse (float32), for checked
// inputs: the one place the reference builds the scores, used by attentionReferenceWithLse
// and attentionWeights. Rows with no visible key get p = 0 and lse = -inf.
std::tuple<at::Tensor, at::Tensor> referenceProbabilities(const at::Tensor& q, const at::Tensor& k,
                                                          const detail::CheckedInputs& c, at::ScalarType ct) {
  const AttentionParams& p = c.params;
  const double ninf = -std::numeric_limits<double>::infinity();
  if (c.Lk == 0) {  // no key at all
    return {at::zeros({c.B, c.Hq, c.Lq, 0}, q.options().dtype(ct)),
            at::full({c.B, c.Hq, c.Lq}, ninf, q.options().dtype(at::kFloat))};
  }
  at::Tensor qc = q.to(ct), kc = k.to(ct);
  if (c.Hq != c.Hkv) kc = kc.repeat_interleave(c.Hq / c.Hkv, 1);
  const auto longOpts = at::TensorOptions().dtype(at::kLong).device(q.device());
  // s <- scale q k^T, softcap
  at::Tensor s = at::matmul(qc, kc.transpose(-2, -1)).mul(p.scale);
  if (p.softcap > 0) s = s.div(p.softcap).tanh().mul(p.softcap);
  // rel[i, j] = i + offset - j
  at::Tensor rel = at::arange(c.Lq, longOpts).add(p.offset).view({c.Lq, 1}).sub(at::arange(c.Lk, longOpts).view({1, c.Lk}));
  if (c.slopes.defined()) {
    at::Tensor sl = c.slopes.to(q.device()).to(ct);
    sl = (sl.dim() == 1 ? sl.view({1, c.Hq, 1, 1}) : sl.view({c.B, c.Hq, 1, 1}));
    s = s.sub(sl.mul(rel.abs().to(ct)));
  }
  if (c.mask.defined()) {
    if (c.mask.scalar_type() == at::kBool)
      s = s.masked_fill(c.mask.logical_not(), ninf);
    else
      s = s.add(c.mask.to(ct));
  }
  if (p.isCausal || p.windowLeft >= 0 || p.windowRight >= 0) {
    at::Tensor hidden = at::zeros_like(rel, rel.options().dtype(at::kBool));
    if (p.isCausal) hidden = hidden.logical_or(rel.lt(0));
    if (p.windowRight >= 0) hidden = hidden.logical_or(rel.lt(-p.windowRight));
    if (p.windowLeft >= 0) hidden = hidden.logical_or(rel.gt(p.windowLeft));
    s = s.masked_fill(hidden, ninf);
  }
  if (c.lengths.defined()) {
    at::Tensor len = c.lengths.to(q.device()).view({c.B, 1, 1, 1});
    s = s.masked_fill(at::arange(c.Lk, longOpts).view({1, 1, 1, c.Lk}).ge(len), ninf);
  }
  // p <- softmax(s), 0 for rows with no visible key (no NaN in values or gradients)
  at::Tensor m = s.amax({-1}, true).detach();
  m = m.masked_fill(m.eq(ninf), 0);
  at::Tensor e = s.sub(m).exp();
  at::Tensor l = e.sum({-1}, true);
  at::Tensor prob = e.div(l.masked_fill(l.eq(0), 1));
  at::Tensor lse = m.add(l.detach().log()).squeeze(-1).to(at::kFloat);
  return {prob, lse};
}

at::ScalarType referenceComputeType(at::ScalarType t) {
  return t == at::kHalf || t == at::kBFloat16 ? at::kFloat : t;
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> attentionReferenceWithLse(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options) {
  const detail::CheckedInputs c = detail::checkInputs(q, k, v, mask, keyPaddingLengths, alibiSlopes, options);
  const AttentionParams& p = c.params;
  const uint64_t seed = p.dropoutP > 0 ? detail::drawDropoutSeed() : 0;
  const at::ScalarType t = q.scalar_type();
  const at::ScalarType ct = referenceComputeType(t);
  at::Tensor prob, lse;
  std::tie(prob, lse) = referenceProbabilities(q, k, c, ct);
  at::Tensor vc = v.to(ct);
  if (c.Hq != c.Hkv) vc = vc.repeat_interleave(c.Hq / c.Hkv, 1);
  if (p.dropoutP > 0 && c.Lk > 0) {
    at::Tensor keep = dropoutKeepMask(seed, c.B, c.Hq, c.Lq, c.Lk, p.dropoutP).to(q.device());
    prob = prob.mul(keep.to(ct)).mul(1.0 / (1.0 - p.dropoutP));
  }
  // out <- p v (with Lk = 0: zeros, still connected to v for autograd)
  at::Tensor out = at::matmul(prob, vc);
  return {out.to(t), lse};
}

at::Tensor attentionWeights(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const c10::optional<at::Tensor>& mask, const c10::optional<at::Tensor>& keyPaddingLengths,
                            const c10::optional<at::Tensor>& alibiSlopes, const AttentionOptions& options) {
  const detail::CheckedInputs c = detail::checkInputs(q, k, v, mask, keyPaddingLengths, alibiSlopes, options);
  const at::ScalarType t = q.scalar_type();
  return std::get<0>(referenceProbabilities(q, k, c, referenceComputeType(t))).to(t);
}

at::Tensor attentionReference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                              const c10::optional<at::Tensor>& mask, const c10::optional<at::Tensor>& keyPaddingLengths,
                              const c10::optional<at::Tensor>& alibiSlopes, const AttentionOptions& options) {
  return std::get<0>(attentionReferenceWithLse(q, k, v, mask, keyPaddingLengths, alibiSlopes, options));
}

}  // namespace attention
}  // namespace tn
