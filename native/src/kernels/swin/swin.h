// Swin Transformer window ops (microsoft/Swin-Transformer, models/swin_transformer.py
// semantics), CPU kernels with autograd, and their naive ATen references.
//
// Shape legend: B = batch, H, W = (padded) resolution, C = channels, ws = window size,
// nW = (H / ws) * (W / ws) windows per image, N = ws * ws tokens per window,
// nH = heads, d = head dim.
//
//   rollAndWindowPartition(x (B, H, W, C), ws, shift) -> windows (B*nW, N, C)
//     windows[b*nW + wh*(W/ws) + ww, i*ws + j, :] = x[b, (wh*ws + i + shift) % H, (ww*ws + j + shift) % W, :]
//     = window_partition(torch.roll(x, (-shift, -shift), (1, 2)), ws).view(-1, N, C)
//   windowMergeAndRoll(windows (B*nW, N, C) or (B*nW, ws, ws, C), ws, H, W, shift) -> x (B, H, W, C)
//     = torch.roll(window_reverse(windows, ws, H, W), (shift, shift), (1, 2)): the exact inverse.
//   Each is the other's backward. shift = 0 gives the plain windowPartition / windowReverse.
//   Any shift is taken modulo H and W (negative rolls the other way).
//
//   shiftedWindowMask(H, W, ws, shift, fill) -> (nW, N, N): the official attn_mask. Rows and
//     columns are labelled by the slices (0, -ws), (-ws, -shift), (-shift, None) (label =
//     3 * region(h) + region(w)), partitioned; mask[w, a, b] = fill where the labels of
//     tokens a and b differ, else 0. fill is -100 in the official code (or -inf).
//     shift = 0 gives zeros.
//   relativePositionIndex(wh, ww) -> int64 (N, N), N = wh*ww:
//     index[p, q] = (h_p - h_q + wh - 1) * (2ww - 1) + (w_p - w_q + ww - 1)
//
//   patchMerge(x (B, H, W, C)) -> (B, H/2, W/2, 4C), H and W even: PatchMerging's gather,
//     cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
//     (the official channel order: part k = 2*dw + dh takes row 2i + dh, column 2j + dw).
//   patchUnmerge(y (B, H/2, W/2, 4C), H, W) -> (B, H, W, C): its inverse; each is the
//     other's backward.
//
//   windowAttention(q, k, v (B*nW, nH, N, d), table ((2wh-1)(2ww-1), nH), index (N, N),
//                   mask (nW, N, N) | none, scale) -> (B*nW, nH, N, d)
//     bias = table[index.view(-1)].view(N, N, nH).permute(2, 0, 1)       (nH, N, N)
//     out  = softmax(scale q k^T + bias + mask[window of the row]) v
//   on the fused flash attention kernel (kernels/attention): q viewed as (B, nW*nH, N, d) and
//   bias + mask as one (1, nW*nH, N, N) additive mask broadcast over B, so the forward never
//   materialises a (B*nW, nH, N, N) score tensor. Differentiable in q, k, v and the table.
//
// Example:
//   at::Tensor w = tn::swin::rollAndWindowPartition(x, 7, 3);          // (B*64, 49, C) for 56x56
//   at::Tensor y = tn::swin::windowMergeAndRoll(w, 7, 56, 56, 3);      // == x
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

#include <cstdint>

namespace tn {
namespace swin {

/// Fused cyclic shift (torch.roll by -shift on H and W) + window partition. Autograd.
at::Tensor rollAndWindowPartition(const at::Tensor& x, int64_t windowSize, int64_t shift);
/// Fused window reverse + cyclic shift back (roll by +shift). Autograd.
at::Tensor windowMergeAndRoll(const at::Tensor& windows, int64_t windowSize, int64_t H, int64_t W, int64_t shift);
/// rollAndWindowPartition with shift 0, shaped (B*nW, ws, ws, C) as the official window_partition.
at::Tensor windowPartition(const at::Tensor& x, int64_t windowSize);
/// windowMergeAndRoll with shift 0.
at::Tensor windowReverse(const at::Tensor& windows, int64_t windowSize, int64_t H, int64_t W);

/// PatchMerging's 2x2 gather (B, H, W, C) -> (B, H/2, W/2, 4C) in one pass. Autograd.
at::Tensor patchMerge(const at::Tensor& x);
/// Its inverse (B, H/2, W/2, 4C) -> (B, H, W, C). Autograd.
at::Tensor patchUnmerge(const at::Tensor& merged, int64_t H, int64_t W);

/// The shift mask (nW, N, N) of `dtype`, entries 0 or `fill`.
at::Tensor shiftedWindowMask(int64_t H, int64_t W, int64_t windowSize, int64_t shift, double fill,
                             at::ScalarType dtype);
/// The relative position index (wh*ww, wh*ww), int64.
at::Tensor relativePositionIndex(int64_t wh, int64_t ww);

/// Fused window attention (see the legend). scale NaN = 1/sqrt(d).
at::Tensor windowAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& relativePositionBiasTable, const at::Tensor& relativePositionIndex,
                           const c10::optional<at::Tensor>& mask, double scale);
/// The same, unfused as the official WindowAttention.forward: (q*scale) @ k^T, + bias,
/// + mask per window, softmax, @ v (ATen ops; materialises (B*nW, nH, N, N)).
at::Tensor windowAttentionReference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    const at::Tensor& relativePositionBiasTable,
                                    const at::Tensor& relativePositionIndex, const c10::optional<at::Tensor>& mask,
                                    double scale);
/// The input checks of windowAttention (and its reference): TORCH_CHECK messages naming the argument.
void checkWindowAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const at::Tensor& relativePositionBiasTable, const at::Tensor& relativePositionIndex,
                          const c10::optional<at::Tensor>& mask);
/// The additive bias table[index] as (nH, N, N) (differentiable in the table).
at::Tensor relativePositionBias(const at::Tensor& relativePositionBiasTable, const at::Tensor& relativePositionIndex);

/// Naive ATen versions (roll + view/permute), the reference and the non-CPU fallback.
at::Tensor rollAndWindowPartitionReference(const at::Tensor& x, int64_t windowSize, int64_t shift);
at::Tensor windowMergeAndRollReference(const at::Tensor& windows, int64_t windowSize, int64_t H, int64_t W,
                                       int64_t shift);

namespace cpu {

/// Copies between x (B, H, W, C) and windows (B*nW, ws*ws, C), both contiguous CPU tensors
/// of one dtype (any: rows are moved as bytes): toWindows = true fills `windows` from `x`
/// (roll by -shift, partition), false fills `x` from `windows` (reverse, roll by +shift).
/// shiftH, shiftW already reduced to [0, H) and [0, W).
void rollPartitionKernel(const at::Tensor& x, const at::Tensor& windows, int64_t windowSize, int64_t shiftH,
                         int64_t shiftW, bool toWindows);

/// Copies between x (B, H, W, C) and merged (B, H/2, W/2, 4C), both contiguous, of one
/// dtype (moved as bytes): toMerged = true fills `merged` from `x`, false the reverse.
void patchMergeKernel(const at::Tensor& x, const at::Tensor& merged, bool toMerged);

}  // namespace cpu
}  // namespace swin
}  // namespace tn
