// The naive Swin window ops with ATen (autograd flows through them), written as the official
// models/swin_transformer.py does: torch.roll, view/permute partition, unfused attention.
// The reference for tests and benchmarks, and the fallback for non-CPU tensors.
//
//   partition: roll(x, (-shift, -shift), (1, 2)).view(B, H/ws, ws, W/ws, ws, C)
//              .permute(0, 1, 3, 2, 4, 5).reshape(-1, ws*ws, C)
//   attention: softmax((q*scale) k^T + bias + mask) v, the mask added per window
#include <ATen/ops/matmul.h>
#include <ATen/ops/roll.h>
#include <ATen/ops/softmax.h>

#include <cmath>

#include "kernels/swin/swin.h"

namespace tn {
namespace swin {

at::Tensor rollAndWindowPartitionReference(const at::Tensor& x, int64_t ws, int64_t shift) {
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  const at::Tensor xs = shift != 0 ? at::roll(x, {-shift, -shift}, {1, 2}) : x;
  return xs.reshape({B, H / ws, ws, W / ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, ws * ws, C});
}

at::Tensor windowMergeAndRollReference(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W, int64_t shift) {
  const int64_t C = windows.size(-1);
  const int64_t B = windows.size(0) / ((H / ws) * (W / ws));
  at::Tensor x = windows.reshape({B, H / ws, W / ws, ws, ws, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B, H, W, C});
  return shift != 0 ? at::roll(x, {shift, shift}, {1, 2}) : x;
}

at::Tensor windowAttentionReference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& table, const at::Tensor& index,
                                    const c10::optional<at::Tensor>& mask, double scale) {
  checkWindowAttention(q, k, v, table, index, mask);
  const int64_t Bw = q.size(0), nH = q.size(1), N = q.size(2);
  if (std::isnan(scale)) scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  // attn <- (q * scale) @ k^T + bias
  at::Tensor attn = at::matmul(q.mul(scale), k.transpose(-2, -1));
  attn = attn.add(relativePositionBias(table, index).unsqueeze(0));
  if (mask && mask->defined()) {
    const int64_t nW = mask->size(0);
    // attn <- attn + mask of the row's window
    attn = attn.reshape({Bw / nW, nW, nH, N, N}).add(mask->unsqueeze(1).unsqueeze(0));
    attn = attn.reshape({Bw, nH, N, N});
  }
  return at::matmul(at::softmax(attn, -1), v);
}

}  // namespace swin
}  // namespace tn
