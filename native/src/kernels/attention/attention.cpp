// Entry points of the fused attention: input checks, dtype dispatch, dropout seeding and
// the autograd Function. The tiled kernels are in cpu/attention_kernel.cpp, the naive
// reference in reference.cpp.
//
//   q (B, Hq, Lq, d), k (B, Hkv, Lk, d), v (B, Hkv, Lk, dv) -> out (B, Hq, Lq, dv)
//
// Example: AttentionOptions o; o.isCausal = true; auto out = scaledDotProductAttention(q, k, v, {}, {}, {}, o);
#include "kernels/attention/attention.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "kernels/attention/attention_checks.h"

namespace tn {
namespace attention {

namespace {

std::string shapeStr(at::IntArrayRef s) { return "[" + c10::Join(", ", s) + "]"; }

}  // namespace

namespace detail {

CheckedInputs checkInputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const c10::optional<at::Tensor>& mask, const c10::optional<at::Tensor>& keyPaddingLengths,
                          const c10::optional<at::Tensor>& alibiSlopes, const AttentionOptions& o) {
  const char* op = "scaledDotProductAttention: ";
  TORCH_CHECK(q.defined() && k.defined() && v.defined(), op, "q, k and v must be defined tensors");
  TORCH_CHECK(q.dim() == 4, op, "q must be 4-D (B, H, Lq, d), but got shape ", shapeStr(q.sizes()));
  TORCH_CHECK(k.dim() == 4, op, "k must be 4-D (B, H, Lk, d), but got shape ", shapeStr(k.sizes()));
  TORCH_CHECK(v.dim() == 4, op, "v must be 4-D (B, H, Lk, dv), but got shape ", shapeStr(v.sizes()));
  TORCH_CHECK(at::isFloatingType(q.scalar_type()), op, "q must be a floating tensor, but got dtype ", q.scalar_type());
  TORCH_CHECK(k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type(), op,
              "q, k and v must have the same dtype, but got ", q.scalar_type(), ", ", k.scalar_type(), " and ",
              v.scalar_type());
  TORCH_CHECK(k.device() == q.device() && v.device() == q.device(), op,
              "q, k and v must be on the same device, but got ", q.device(), ", ", k.device(), " and ", v.device());
  CheckedInputs c;
  c.B = q.size(0); c.Hq = q.size(1); c.Lq = q.size(2); c.d = q.size(3);
  c.Hkv = k.size(1); c.Lk = k.size(2); c.dv = v.size(3);
  TORCH_CHECK(k.size(0) == c.B && v.size(0) == c.B, op, "q, k and v must have the same batch size, but got q ",
              shapeStr(q.sizes()), ", k ", shapeStr(k.sizes()), ", v ", shapeStr(v.sizes()));
  TORCH_CHECK(k.size(3) == c.d, op, "k must have the head dim of q (", c.d, "), but got shape ", shapeStr(k.sizes()));
  TORCH_CHECK(v.size(1) == c.Hkv && v.size(2) == c.Lk, op, "v must be (B, ", c.Hkv, ", ", c.Lk,
              ", dv) like k, but got shape ", shapeStr(v.sizes()));
  if (o.enableGqa) {
    TORCH_CHECK(c.Hkv > 0 && c.Hq % c.Hkv == 0, op, "with enableGqa the query heads (", c.Hq,
                ") must be a multiple of the key/value heads, but got ", c.Hkv);
  } else {
    TORCH_CHECK(c.Hkv == c.Hq, op, "k and v must have as many heads as q (", c.Hq, "), but got ", c.Hkv,
                " (set enableGqa for grouped-query attention)");
  }
  if (mask && mask->defined()) {
    const at::Tensor& m = *mask;
    TORCH_CHECK(m.scalar_type() == at::kBool || at::isFloatingType(m.scalar_type()), op,
                "mask must be bool (true = attend) or floating (additive), but got dtype ", m.scalar_type());
    TORCH_CHECK(m.device() == q.device(), op, "mask must be on ", q.device(), ", but got ", m.device());
    const int64_t target[4] = {c.B, c.Hq, c.Lq, c.Lk};
    bool ok = m.dim() <= 4;
    for (int64_t i = 0; ok && i < m.dim(); ++i) {
      const int64_t s = m.size(m.dim() - 1 - i);
      ok = s == 1 || s == target[3 - i];
    }
    TORCH_CHECK(ok, op, "mask must be broadcastable to (B, Hq, Lq, Lk) = ", shapeStr(target), ", but got shape ",
                shapeStr(m.sizes()));
    c.mask = m;
  }
  if (keyPaddingLengths && keyPaddingLengths->defined()) {
    const at::Tensor& l = *keyPaddingLengths;
    TORCH_CHECK(at::isIntegralType(l.scalar_type(), false), op,
                "keyPaddingLengths must be an integer tensor, but got dtype ", l.scalar_type());
    TORCH_CHECK(l.dim() == 1 && l.size(0) == c.B, op, "keyPaddingLengths must have shape [", c.B, "], but got ",
                shapeStr(l.sizes()));
    c.lengths = l.to(at::kCPU).to(at::kLong).contiguous();
  }
  if (alibiSlopes && alibiSlopes->defined()) {
    const at::Tensor& s = *alibiSlopes;
    TORCH_CHECK(at::isFloatingType(s.scalar_type()), op, "alibiSlopes must be floating, but got dtype ",
                s.scalar_type());
    TORCH_CHECK((s.dim() == 1 && s.size(0) == c.Hq) || (s.dim() == 2 && s.size(0) == c.B && s.size(1) == c.Hq), op,
                "alibiSlopes must have shape [", c.Hq, "] or [", c.B, ", ", c.Hq, "], but got ", shapeStr(s.sizes()));
    c.slopes = s;
  }
  TORCH_CHECK(o.windowLeft >= -1 && o.windowRight >= -1, op,
              "windowLeft and windowRight must be >= 0 or -1 (unbounded), but got ", o.windowLeft, " and ",
              o.windowRight);
  TORCH_CHECK(std::isfinite(o.softcap) && o.softcap >= 0, op, "softcap must be >= 0 (0 = off), but got ",
              o.softcap);
  TORCH_CHECK(o.dropoutP >= 0 && o.dropoutP < 1, op, "dropoutP must be in [0, 1), but got ", o.dropoutP);
  TORCH_CHECK(std::isnan(o.scale) || std::isfinite(o.scale), op, "scale must be finite, but got ", o.scale);
  c.params.scale = std::isnan(o.scale) ? 1.0 / std::sqrt(static_cast<double>(c.d)) : o.scale;
  c.params.isCausal = o.isCausal;
  c.params.offset = o.bottomRight ? c.Lk - c.Lq : 0;
  c.params.windowLeft = o.windowLeft;
  c.params.windowRight = o.windowRight;
  c.params.softcap = o.softcap;
  c.params.dropoutP = o.dropoutP;
  return c;
}

uint64_t drawDropoutSeed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace detail

namespace {

using detail::CheckedInputs;

// The dtype the kernels compute in: double stays double, every other floating type runs
// in float (fp32 accumulation) and is converted back.
at::ScalarType computeType(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

// Why the fused kernel cannot take these inputs ("" when it can).
std::string fusedRefusal(const at::Tensor& q) {
  if (!q.device().is_cpu()) return "device is not the CPU";
  switch (q.scalar_type()) {
    case at::kFloat: case at::kDouble: case at::kBFloat16: case at::kHalf: return "";
    default: return "dtype has no fused kernel";
  }
}

at::Tensor lastDimUnit(const at::Tensor& t, at::ScalarType ct) {
  at::Tensor x = t.scalar_type() == ct ? t : t.to(ct);
  return x.stride(-1) == 1 || x.size(-1) <= 1 ? x : x.contiguous();
}

cpu::KernelInputs kernelInputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const CheckedInputs& c) {
  const at::ScalarType ct = computeType(q.scalar_type());
  cpu::KernelInputs in;
  in.q = lastDimUnit(q, ct);
  in.k = lastDimUnit(k, ct);
  in.v = lastDimUnit(v, ct);
  if (c.mask.defined()) {
    at::Tensor m = c.mask;
    if (m.scalar_type() != at::kBool && m.scalar_type() != ct) m = m.to(ct);
    while (m.dim() < 4) m = m.unsqueeze(0);
    in.mask = m.expand({c.B, c.Hq, c.Lq, c.Lk});  // strides 0 on broadcast dims
  }
  in.lengths = c.lengths;
  if (c.slopes.defined()) {
    at::Tensor s = c.slopes.to(at::kCPU).to(at::kDouble).contiguous();
    if (s.dim() == 1) s = s.unsqueeze(0);
    in.slopes = s.expand({c.B, c.Hq});
  }
  return in;
}

// Forward on checked inputs; lse in the compute dtype (float or double).
std::tuple<at::Tensor, at::Tensor> fusedForward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                const CheckedInputs& c, uint64_t seed) {
  cpu::KernelInputs in = kernelInputs(q, k, v, c);
  AttentionParams p = c.params;
  p.dropoutSeed = seed;
  const auto opts = in.q.options();
  at::Tensor out = at::empty({c.B, c.Hq, c.Lq, c.dv}, opts);
  at::Tensor lse = at::empty({c.B, c.Hq, c.Lq}, opts);
  if (c.Lk == 0) {
    out.zero_();
    lse.fill_(-std::numeric_limits<double>::infinity());
  } else {
    cpu::attentionForwardKernel(in, p, out, lse);
  }
  return {out, lse};
}

AttentionGrads fusedBackward(const at::Tensor& gradOut, const at::Tensor& q, const at::Tensor& k,
                             const at::Tensor& v, const at::Tensor& outC, const at::Tensor& lseC,
                             const CheckedInputs& c, uint64_t seed, bool wantMaskGrad) {
  cpu::KernelInputs in = kernelInputs(q, k, v, c);
  AttentionParams p = c.params;
  p.dropoutSeed = seed;
  const at::ScalarType ct = in.q.scalar_type();
  const auto opts = in.q.options();
  at::Tensor dO = gradOut.to(ct).contiguous();
  at::Tensor dq = at::empty({c.B, c.Hq, c.Lq, c.d}, opts);
  at::Tensor dk = at::empty({c.B, c.Hkv, c.Lk, c.d}, opts);
  at::Tensor dv = at::empty({c.B, c.Hkv, c.Lk, c.dv}, opts);
  at::Tensor dmaskAcc;
  const bool maskGrad = wantMaskGrad && c.mask.defined() && c.mask.scalar_type() != at::kBool;
  if (maskGrad) {
    // The gradient is summed inside the kernel over the dims the mask broadcasts along, so a
    // mask shared by the batch (Swin's bias + shift mask) never gets a (B, Hq, Lq, Lk) buffer.
    at::Tensor m = c.mask;
    while (m.dim() < 4) m = m.unsqueeze(0);
    const int64_t mB = m.size(0) == 1 ? 1 : c.B, mH = m.size(1) == 1 ? 1 : c.Hq, mI = m.size(2) == 1 ? 1 : c.Lq;
    // Work items are (batch, kv head, key chunk): they meet in one element only when the mask
    // is shared across batches or kv heads; then each thread gets a partial sum of its own.
    const bool shared = (mB == 1 && c.B > 1) || (mH == 1 && c.Hkv > 1);
    const int64_t parts = shared ? std::max<int64_t>(1, at::get_num_threads()) : 1;
    dmaskAcc = at::zeros({parts, mB, mH, mI, c.Lk}, opts);
  }
  cpu::attentionBackwardKernel(in, p, dO, outC.to(ct).contiguous(), lseC.to(ct).contiguous(), dq, dk, dv,
                               dmaskAcc);
  AttentionGrads g;
  const at::ScalarType t = q.scalar_type();
  g.dq = dq.to(t);
  g.dk = dk.to(t);
  g.dv = dv.to(t);
  if (maskGrad) g.dmask = dmaskAcc.sum(0).sum_to_size(c.mask.sizes()).to(c.mask.scalar_type());
  return g;
}

// Differentiable in q, k, v and a floating mask; lse is returned but not differentiable.
struct FlashAttentionFunction : public torch::autograd::Function<FlashAttentionFunction> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& q,
                                                const at::Tensor& k, const at::Tensor& v,
                                                const c10::optional<at::Tensor>& mask,
                                                const c10::optional<at::Tensor>& lengths,
                                                const c10::optional<at::Tensor>& slopes, const AttentionOptions& o) {
    const CheckedInputs c = detail::checkInputs(q, k, v, mask, lengths, slopes, o);
    const uint64_t seed = o.dropoutP > 0 ? detail::drawDropoutSeed() : 0;
    at::Tensor outC, lseC;
    std::tie(outC, lseC) = fusedForward(q, k, v, c, seed);
    ctx->save_for_backward({q, k, v, outC, lseC, mask.value_or(at::Tensor()), lengths.value_or(at::Tensor()),
                            slopes.value_or(at::Tensor())});
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["scale"] = o.scale;
    ctx->saved_data["isCausal"] = o.isCausal;
    ctx->saved_data["bottomRight"] = o.bottomRight;
    ctx->saved_data["windowLeft"] = o.windowLeft;
    ctx->saved_data["windowRight"] = o.windowRight;
    ctx->saved_data["softcap"] = o.softcap;
    ctx->saved_data["dropoutP"] = o.dropoutP;
    ctx->saved_data["enableGqa"] = o.enableGqa;
    at::Tensor out = outC.to(q.scalar_type());
    at::Tensor lse = lseC.to(at::kFloat);
    ctx->mark_non_differentiable({lse});
    return {out, lse};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    AttentionOptions o;
    auto& sd = ctx->saved_data;
    o.scale = sd["scale"].toDouble();
    o.isCausal = sd["isCausal"].toBool();
    o.bottomRight = sd["bottomRight"].toBool();
    o.windowLeft = sd["windowLeft"].toInt();
    o.windowRight = sd["windowRight"].toInt();
    o.softcap = sd["softcap"].toDouble();
    o.dropoutP = sd["dropoutP"].toDouble();
    o.enableGqa = sd["enableGqa"].toBool();
    const uint64_t seed = static_cast<uint64_t>(sd["seed"].toInt());
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &outC = saved[3], &lseC = saved[4];
    auto opt = [](const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; };
    const CheckedInputs c = detail::checkInputs(q, k, v, opt(saved[5]), opt(saved[6]), opt(saved[7]), o);
    at::Tensor gradOut = grads[0];
    const bool maskGrad = saved[5].defined() && saved[5].requires_grad();
    if (!gradOut.defined()) gradOut = at::zeros_like(outC);
    AttentionGrads g = fusedBackward(gradOut, q, k, v, outC, lseC, c, seed, maskGrad);
    return {g.dq, g.dk, g.dv, g.dmask, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

std::tuple<at::Tensor, at::Tensor> flashAttentionForwardSeeded(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options, uint64_t dropoutSeed) {
  const CheckedInputs c = detail::checkInputs(q, k, v, mask, keyPaddingLengths, alibiSlopes, options);
  const std::string why = fusedRefusal(q);
  TORCH_CHECK(why.empty(), "scaledDotProductAttention: the fused kernel cannot run: ", why, " (got ", q.device(),
              ", ", q.scalar_type(), ")");
  at::NoGradGuard noGrad;
  at::Tensor out, lse;
  std::tie(out, lse) = fusedForward(q, k, v, c, dropoutSeed);
  return {out.to(q.scalar_type()), lse.to(at::kFloat)};
}

std::tuple<at::Tensor, at::Tensor> flashAttentionForward(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options) {
  const uint64_t seed = options.dropoutP > 0 ? detail::drawDropoutSeed() : 0;
  return flashAttentionForwardSeeded(q, k, v, mask, keyPaddingLengths, alibiSlopes, options, seed);
}

AttentionGrads flashAttentionBackward(const at::Tensor& gradOut, const at::Tensor& q, const at::Tensor& k,
                                      const at::Tensor& v, const at::Tensor& out, const at::Tensor& lse,
                                      const c10::optional<at::Tensor>& mask,
                                      const c10::optional<at::Tensor>& keyPaddingLengths,
                                      const c10::optional<at::Tensor>& alibiSlopes, const AttentionOptions& options,
                                      uint64_t dropoutSeed, bool wantMaskGrad) {
  const CheckedInputs c = detail::checkInputs(q, k, v, mask, keyPaddingLengths, alibiSlopes, options);
  const std::string why = fusedRefusal(q);
  TORCH_CHECK(why.empty(), "scaledDotProductAttention: the fused kernel cannot run: ", why, " (got ", q.device(),
              ", ", q.scalar_type(), ")");
  TORCH_CHECK(gradOut.sizes() == out.sizes(), "scaledDotProductAttention: gradOut must have the shape of out ",
              shapeStr(out.sizes()), ", but got ", shapeStr(gradOut.sizes()));
  at::NoGradGuard noGrad;
  return fusedBackward(gradOut, q, k, v, out, lse, c, dropoutSeed, wantMaskGrad);
}

std::tuple<at::Tensor, at::Tensor> scaledDotProductAttentionWithLse(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options) {
  if (q.defined() && !fusedRefusal(q).empty()) {
    return attentionReferenceWithLse(q, k, v, mask, keyPaddingLengths, alibiSlopes, options);
  }
  auto outs = FlashAttentionFunction::apply(q, k, v, mask, keyPaddingLengths, alibiSlopes, options);
  return {outs[0], outs[1]};
}

at::Tensor scaledDotProductAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const c10::optional<at::Tensor>& mask,
                                     const c10::optional<at::Tensor>& keyPaddingLengths,
                                     const c10::optional<at::Tensor>& alibiSlopes, const AttentionOptions& options) {
  return std::get<0>(scaledDotProductAttentionWithLse(q, k, v, mask, keyPaddingLengths, alibiSlopes, options));
}

}  // namespace attention
}  // namespace tn
