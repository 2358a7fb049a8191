// Neural-network building blocks: linear, normalisation, dropout, embedding, losses,
// convolution and pooling, and libtorch's unfused attention (the baseline the fused kernel
// replaces).
#include <ATen/core/Reduction.h>
#include <ATen/ops/_scaled_dot_product_attention.h>
#include <ATen/ops/adaptive_avg_pool2d.h>
#include <ATen/ops/avg_pool2d.h>
#include <ATen/ops/binary_cross_entropy_with_logits.h>
#include <ATen/ops/conv1d.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/group_norm.h>
#include <ATen/ops/l1_loss.h>
#include <ATen/ops/layer_norm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/max_pool2d.h>
#include <ATen/ops/mse_loss.h>
#include <ATen/ops/nll_loss.h>
#include <ATen/ops/smooth_l1_loss.h>

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/ops.h"
#include "kernels/linear/linear.h"

namespace tn {
namespace {

int64_t reduction(Args& A, size_t i) {
  const std::string r = A.has(i) ? A.str(i) : std::string("mean");
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw ArgError(ErrorKind::kTypeError, std::string(A.op()) + ": reduction must be 'none', 'mean' or 'sum', but got '" + r + "'");
}

TN_OP(linear) { auto x = A.tensor(0), w = A.tensor(1); auto b = A.optTensor(2); TN_RUN(linear::linear(x, w, b)); }
TN_OP(layerNorm) {
  auto x = A.tensor(0); auto s = A.ints(1); auto w = A.optTensor(2), b = A.optTensor(3); auto eps = A.f64(4);
  TN_RUN(at::layer_norm(x, s, w, b, eps));
}
TN_OP(groupNorm) {
  auto x = A.tensor(0); auto g = A.i64(1); auto w = A.optTensor(2), b = A.optTensor(3); auto eps = A.f64(4);
  TN_RUN(at::group_norm(x, g, w, b, eps));
}
TN_OP(dropout) { auto x = A.tensor(0); auto p = A.f64(1); bool train = A.flag(2); TN_RUN(at::dropout(x, p, train)); }
TN_OP(embedding) {
  auto w = A.tensor(0), idx = A.tensor(1); auto pad = A.optI64(2).value_or(-1);
  TN_RUN(at::embedding(w, idx, pad));
}
// crossEntropy(input, target, weight?, reduction, ignoreIndex, labelSmoothing)
TN_OP(crossEntropy) {
  auto x = A.tensor(0), y = A.tensor(1); auto w = A.optTensor(2); auto r = reduction(A, 3);
  auto ignore = A.optI64(4).value_or(-100); auto ls = A.optF64(5).value_or(0.0);
  TN_RUN(at::cross_entropy_loss(x, y, w, r, ignore, ls));
}
TN_OP(nllLoss) {
  auto x = A.tensor(0), y = A.tensor(1); auto w = A.optTensor(2); auto r = reduction(A, 3);
  auto ignore = A.optI64(4).value_or(-100);
  TN_RUN(at::nll_loss(x, y, w, r, ignore));
}
TN_OP(mseLoss) { auto a = A.tensor(0), b = A.tensor(1); auto r = reduction(A, 2); TN_RUN(at::mse_loss(a, b, r)); }
TN_OP(l1Loss) { auto a = A.tensor(0), b = A.tensor(1); auto r = reduction(A, 2); TN_RUN(at::l1_loss(a, b, r)); }
TN_OP(smoothL1Loss) { auto a = A.tensor(0), b = A.tensor(1); auto r = reduction(A, 2); auto beta = A.f64(3); TN_RUN(at::smooth_l1_loss(a, b, r, beta)); }
TN_OP(binaryCrossEntropyWithLogits) {
  auto x = A.tensor(0), y = A.tensor(1); auto w = A.optTensor(2); auto r = reduction(A, 3); auto pw = A.optTensor(4);
  TN_RUN(at::binary_cross_entropy_with_logits(x, y, w, pw, r));
}
// conv1d/conv2d(x, w, b?, stride, padding, dilation, groups)
TN_OP(conv1d) {
  auto x = A.tensor(0), w = A.tensor(1); auto b = A.optTensor(2);
  auto s = A.ints(3), p = A.ints(4), d = A.ints(5); auto g = A.i64(6);
  TN_RUN(at::conv1d(x, w, b, s, p, d, g));
}
TN_OP(conv2d) {
  auto x = A.tensor(0), w = A.tensor(1); auto b = A.optTensor(2);
  auto s = A.ints(3), p = A.ints(4), d = A.ints(5); auto g = A.i64(6);
  TN_RUN(at::conv2d(x, w, b, s, p, d, g));
}
TN_OP(maxPool2d) {
  auto x = A.tensor(0); auto k = A.ints(1), s = A.ints(2), p = A.ints(3);
  TN_RUN(at::max_pool2d(x, k, s, p));
}
TN_OP(avgPool2d) {
  auto x = A.tensor(0); auto k = A.ints(1), s = A.ints(2), p = A.ints(3);
  TN_RUN(at::avg_pool2d(x, k, s, p));
}
TN_OP(adaptiveAvgPool2d) { auto x = A.tensor(0); auto s = A.ints(1); TN_RUN(at::adaptive_avg_pool2d(x, s)); }
// libtorch 1.13's own attention (math path, top-left causal): the reference we benchmark against.
TN_OP(mathAttention) {
  auto q = A.tensor(0), k = A.tensor(1), v = A.tensor(2); auto m = A.optTensor(3);
  auto p = A.f64(4); bool causal = A.flag(5);
  TN_RUN(std::get<0>(at::_scaled_dot_product_attention(q, k, v, m, p, false, causal)));
}

}  // namespace

void registerNnOps(std::vector<OpDef>& ops) {
  TN_REG(ops, linear); TN_REG(ops, layerNorm); TN_REG(ops, groupNorm); TN_REG(ops, dropout);
  TN_REG(ops, embedding); TN_REG(ops, crossEntropy); TN_REG(ops, nllLoss); TN_REG(ops, mseLoss);
  TN_REG(ops, l1Loss); TN_REG(ops, smoothL1Loss); TN_REG(ops, binaryCrossEntropyWithLogits);
  TN_REG(ops, conv1d); TN_REG(ops, conv2d); TN_REG(ops, maxPool2d); TN_REG(ops, avgPool2d);
  TN_REG(ops, adaptiveAvgPool2d); TN_REG(ops, mathAttention);
}

}  // namespace tn
