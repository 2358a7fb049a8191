// Fused scaled dot-product attention (flash-style, CPU) with its naive reference.
//
//   s[i, j] = scale * q_i . k_j
//   s       = softcap > 0 ? softcap * tanh(s / softcap) : s
//   s      += alibi(i, j) + mask[i, j]        (additive float mask)
//   s       = -inf where masked (bool mask false, causal, window, key padding)
//   out_i   = sum_j softmax_j(s[i, :]) * dropout(i, j) * v_j,   lse_i = logsumexp_j s[i, j]
//
// Shapes: q (B, Hq, Lq, d), k (B, Hkv, Lk, d), v (B, Hkv, Lk, dv) -> out (B, Hq, Lq, dv),
// lse float32 (B, Hq, Lq). Hq == Hkv, or a multiple of it when enableGqa (query head h reads
// kv head h / (Hq / Hkv)). mask: bool (true = attend) or float, broadcastable to
// (B, Hq, Lq, Lk). keyPaddingLengths: int64 (B,), keys j >= len[b] are masked.
// alibiSlopes: float (Hq,) or (B, Hq), bias = -slope * |i + off - j|.
// Causal alignment: off = Lk - Lq (bottom-right, FlashAttention >= 2.1) or 0 (top-left,
// torch 1.13 is_causal); key j is visible from query i when j <= i + off (causal) and
// i + off - windowLeft <= j <= i + off + windowRight (sliding window, -1 = unbounded).
// Rows with no visible key give zeros (lse = -inf) and zero gradients.
//
// Example:
//   AttentionOptions o; o.isCausal = true;
//   at::Tensor out = tn::attention::scaledDotProductAttention(q, k, v, {}, {}, {}, o);
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

#include <cstdint>
#include <limits>
#include <tuple>

namespace tn {
namespace attention {

struct AttentionOptions {
  double scale = std::numeric_limits<double>::quiet_NaN();  // NaN = 1 / sqrt(d)
  bool isCausal = false;
  bool bottomRight = true;  // causal/window/ALiBi alignment: bottom-right (true) or top-left
  int64_t windowLeft = -1;  // sliding window around the aligned diagonal, -1 = unbounded
  int64_t windowRight = -1;
  double softcap = 0;  // 0 = off
  double dropoutP = 0;  // applied only when > 0
  bool enableGqa = false;
};

/// Everything the kernels need, resolved once by the entry point (attention.cpp).
struct AttentionParams {
  double scale = 1;
  bool isCausal = false;
  int64_t offset = 0;  // Lk - Lq for bottom-right alignment, 0 for top-left
  int64_t windowLeft = -1, windowRight = -1;
  double softcap = 0;
  double dropoutP = 0;
  uint64_t dropoutSeed = 0;
};

/// Checks the inputs; returns (out, lse). No autograd (see scaledDotProductAttention).
std::tuple<at::Tensor, at::Tensor> flashAttentionForward(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options);

struct AttentionGrads {
  at::Tensor dq, dk, dv;
  at::Tensor dmask;  // undefined unless the mask is floating and wantMaskGrad
};

/// Gradients from the saved forward (out, lse); recomputes the probabilities blockwise.
/// `dropoutSeed` must be the seed the forward used (see flashAttentionForwardSeeded).
/// dmask is d(scores) summed over the mask's broadcast dims (materialises (B, Hq, Lq, Lk)
/// only then). With float64 inputs the float32 lse limits gradients to ~1e-7 relative;
/// the autograd path keeps a float64 lse internally.
AttentionGrads flashAttentionBackward(
    const at::Tensor& gradOut, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
    const at::Tensor& out, const at::Tensor& lse, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options, uint64_t dropoutSeed, bool wantMaskGrad);

/// Forward with an explicit dropout seed (used by the autograd Function and the tests).
std::tuple<at::Tensor, at::Tensor> flashAttentionForwardSeeded(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options, uint64_t dropoutSeed);

/// The autograd-aware entry: differentiable in q, k, v and a floating mask. Falls back to
/// attentionReference for devices or dtypes the fused kernel does not handle.
/// Returns (out, lse); lse is not differentiable.
std::tuple<at::Tensor, at::Tensor> scaledDotProductAttentionWithLse(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options);

at::Tensor scaledDotProductAttention(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options);

/// The naive math version (matmul, mask, softmax, matmul with ATen ops; autograd through
/// ATen): the reference for tests and the fallback. Materialises (B, Hq, Lq, Lk).
/// With dropout it draws a seed from the default CPU generator and uses the same keep mask
/// as the fused kernel, so both agree after the same manual seed.
std::tuple<at::Tensor, at::Tensor> attentionReferenceWithLse(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options);

at::Tensor attentionReference(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options);

/// The attention probabilities softmax(s) (B, Hq, Lq, Lk) before dropout, of q's dtype, from
/// the reference path (autograd through ATen; materialises Lq x Lk): what needWeights
/// returns. Rows with no visible key are 0. Ignores dropoutP; v is only shape-checked.
at::Tensor attentionWeights(
    const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
    const c10::optional<at::Tensor>& keyPaddingLengths, const c10::optional<at::Tensor>& alibiSlopes,
    const AttentionOptions& options);

/// Dropout keep decision shared by the kernel and the reference: a hash of
/// (seed, b, h, i, j) compared against p. Keep-mask of shape (B, H, Lq, Lk) (reference only).
at::Tensor dropoutKeepMask(uint64_t seed, int64_t B, int64_t H, int64_t Lq, int64_t Lk, double p);

namespace cpu {

/// Inputs as the kernels expect them: q, k, v with unit stride in the last dim, of one
/// floating dtype (float or double; bfloat16 is converted by the caller); mask (if any)
/// expanded to (B, Hq, Lq, Lk) by strides; lengths int64 (B,) contiguous; slopes float64
/// (B, Hq) expanded by strides.
struct KernelInputs {
  at::Tensor q, k, v;
  at::Tensor mask;  // bool or same dtype as q, or undefined
  at::Tensor lengths;  // int64 or undefined
  at::Tensor slopes;  // double (B, Hq) or undefined
};

/// out (B, Hq, Lq, dv) contiguous of q's dtype, lse float32 (B, Hq, Lq): written.
void attentionForwardKernel(const KernelInputs& in, const AttentionParams& p, at::Tensor& out, at::Tensor& lse);

/// dq, dk, dv contiguous of q's dtype. dmaskAcc: undefined, or zeros (P, mB, mH, mI, Lk) of
/// that dtype with mB in {1, B}, mH in {1, Hq}, mI in {1, Lq}: the kernel adds the mask's
/// gradient into it, summed over the dims where it has size 1 (a mask broadcast over the batch
/// gets a gradient of its own size, not (B, Hq, Lq, Lk)). With P > 1 each thread adds into
/// partial number at::get_thread_num() (needed when work items for different batches or kv
/// heads meet in one element); the caller sums over P.
void attentionBackwardKernel(const KernelInputs& in, const AttentionParams& p, const at::Tensor& gradOut,
                             const at::Tensor& out, const at::Tensor& lse, at::Tensor& dq, at::Tensor& dk,
                             at::Tensor& dv, at::Tensor& dmaskAcc);

/// The keep decision for element (b, h, i, j); the kernel evaluates the same hash vectorised.
inline uint32_t dropoutHash(uint64_t seed, int64_t b, int64_t h, int64_t i, int64_t j) {
  uint32_t x = static_cast<uint32_t>(seed) ^ (static_cast<uint32_t>(b * 0x9E3779B1u) + static_cast<uint32_t>(h * 0x85EBCA77u));
  x ^= static_cast<uint32_t>(seed >> 32) + static_cast<uint32_t>(i) * 0xC2B2AE3Du;
  x = (x ^ (x >> 16)) * 0x7FEB352Du;
  x ^= static_cast<uint32_t>(j) * 0x27D4EB2Fu;
  x = (x ^ (x >> 15)) * 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}
inline uint32_t dropoutThreshold(double p) {
  double t = p * 4294967296.0;
  return t >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(t);
}

}  // namespace cpu
}  // namespace attention
}  // namespace tn
