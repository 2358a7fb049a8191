// Math ops beyond the elementwise fast path: reductions, activations with options,
// clamping and linear algebra.
#include <ATen/ops/all.h>
#include <ATen/ops/amax.h>
#include <ATen/ops/amin.h>
#include <ATen/ops/any.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/argmin.h>
#include <ATen/ops/baddbmm.h>
#include <ATen/ops/bmm.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/cumprod.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/einsum.h>
#include <ATen/ops/elu.h>
#include <ATen/ops/gelu.h>
#include <ATen/ops/hardtanh.h>
#include <ATen/ops/leaky_relu.h>
#include <ATen/ops/lerp.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/logsumexp.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/max.h>
#include <ATen/ops/mean.h>
#include <ATen/ops/min.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/norm.h>
#include <ATen/ops/outer.h>
#include <ATen/ops/prod.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/softplus.h>
#include <ATen/ops/std.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/var.h>

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/fast_ops.h"
#include "binding/ops.h"

namespace tn {
namespace {

using Dims = std::vector<int64_t>;
std::vector<at::Tensor> pair(std::tuple<at::Tensor, at::Tensor> t) { return {std::get<0>(t), std::get<1>(t)}; }

// Reductions: (t, dims | null, keepdim, ...). null reduces over everything.
TN_OP(sum) {
  auto t = A.tensor(0); bool all = !A.has(1); auto d = all ? Dims{} : A.ints(1); bool k = A.flag(2); auto dt = A.optDtype(3);
  TN_RUN(all ? at::sum(t, dt) : at::sum(t, d, k, dt));
}
TN_OP(mean) {
  auto t = A.tensor(0); bool all = !A.has(1); auto d = all ? Dims{} : A.ints(1); bool k = A.flag(2); auto dt = A.optDtype(3);
  TN_RUN(all ? at::mean(t, dt) : at::mean(t, d, k, dt));
}
TN_OP(prod) {
  auto t = A.tensor(0); auto d = A.optI64(1); bool k = A.flag(2);
  TN_RUN(d ? at::prod(t, *d, k) : at::prod(t));
}
// max/min: with a dim they return [values, indices] like torch.max(t, dim).
TN_OP(max) { auto t = A.tensor(0); auto d = A.optI64(1); bool k = A.flag(2); TN_RUN(d ? Value(pair(at::max(t, *d, k))) : Value(at::max(t))); }
TN_OP(min) { auto t = A.tensor(0); auto d = A.optI64(1); bool k = A.flag(2); TN_RUN(d ? Value(pair(at::min(t, *d, k))) : Value(at::min(t))); }
TN_OP(amax) { auto t = A.tensor(0); auto d = A.ints(1); bool k = A.flag(2); TN_RUN(at::amax(t, d, k)); }
TN_OP(amin) { auto t = A.tensor(0); auto d = A.ints(1); bool k = A.flag(2); TN_RUN(at::amin(t, d, k)); }
TN_OP(argmax) { auto t = A.tensor(0); auto d = A.optI64(1); bool k = A.flag(2); TN_RUN(at::argmax(t, d, k)); }
TN_OP(argmin) { auto t = A.tensor(0); auto d = A.optI64(1); bool k = A.flag(2); TN_RUN(at::argmin(t, d, k)); }
TN_OP(logsumexp) { auto t = A.tensor(0); auto d = A.ints(1); bool k = A.flag(2); TN_RUN(at::logsumexp(t, d, k)); }
// var/std(t, dims | null, correction, keepdim)
TN_OP(var) {
  auto t = A.tensor(0); c10::optional<Dims> d; if (A.has(1)) d = A.ints(1); auto c = A.i64(2); bool k = A.flag(3);
  TN_RUN(at::var(t, d ? at::OptionalIntArrayRef(*d) : at::OptionalIntArrayRef(), c10::optional<int64_t>(c), k));
}
TN_OP(std) {
  auto t = A.tensor(0); c10::optional<Dims> d; if (A.has(1)) d = A.ints(1); auto c = A.i64(2); bool k = A.flag(3);
  TN_RUN(at::std(t, d ? at::OptionalIntArrayRef(*d) : at::OptionalIntArrayRef(), c10::optional<int64_t>(c), k));
}
// norm(t, p, dims | null, keepdim)
TN_OP(norm) {
  auto t = A.tensor(0); auto p = A.scalar(1); bool all = !A.has(2); auto d = all ? Dims{} : A.ints(2); bool k = A.flag(3);
  TN_RUN(all ? at::norm(t, p) : at::norm(t, p, d, k));
}
TN_OP(all) { auto t = A.tensor(0); auto d = A.optI64(1); bool k = A.flag(2); TN_RUN(d ? at::all(t, *d, k) : at::all(t)); }
TN_OP(any) { auto t = A.tensor(0); auto d = A.optI64(1); bool k = A.flag(2); TN_RUN(d ? at::any(t, *d, k) : at::any(t)); }
TN_OP(cumsum) { auto t = A.tensor(0); auto d = A.i64(1); TN_RUN(at::cumsum(t, d)); }
TN_OP(cumprod) { auto t = A.tensor(0); auto d = A.i64(1); TN_RUN(at::cumprod(t, d)); }

// clamp(t, min?, max?)
TN_OP(clamp) {
  auto t = A.tensor(0);
  c10::optional<at::Scalar> lo, hi;
  if (A.has(1)) lo = A.scalar(1);
  if (A.has(2)) hi = A.scalar(2);
  TN_RUN(at::clamp(t, lo, hi));
}
TN_OP(clamp_) {
  auto t = A.tensor(0);
  c10::optional<at::Scalar> lo, hi;
  if (A.has(1)) lo = A.scalar(1);
  if (A.has(2)) hi = A.scalar(2);
  TN_RUN((t.clamp_(lo, hi), std::monostate{}));
}
TN_OP(lerp) { auto a = A.tensor(0); auto b = A.tensor(1); auto w = A.scalar(2); TN_RUN(at::lerp(a, b, w)); }

// Activations with options.
TN_OP(softmax) { auto t = A.tensor(0); auto d = A.i64(1); auto dt = A.optDtype(2); TN_RUN(at::softmax(t, d, dt)); }
TN_OP(logSoftmax) { auto t = A.tensor(0); auto d = A.i64(1); auto dt = A.optDtype(2); TN_RUN(at::log_softmax(t, d, dt)); }
TN_OP(gelu) { auto t = A.tensor(0); auto ap = A.has(1) ? A.str(1) : std::string("none"); TN_RUN(at::gelu(t, ap)); }
TN_OP(leakyRelu) { auto t = A.tensor(0); auto s = A.scalar(1); TN_RUN(at::leaky_relu(t, s)); }
TN_OP(elu) { auto t = A.tensor(0); auto a = A.scalar(1); TN_RUN(at::elu(t, a)); }
TN_OP(softplus) { auto t = A.tensor(0); auto b = A.scalar(1), th = A.scalar(2); TN_RUN(at::softplus(t, b, th)); }
TN_OP(hardtanh) { auto t = A.tensor(0); auto lo = A.scalar(1), hi = A.scalar(2); TN_RUN(at::hardtanh(t, lo, hi)); }

// Linear algebra: these are the heavy ones worth calling async.
TN_OP(matmul) { auto a = A.tensor(0), b = A.tensor(1); TN_RUN(at::matmul(a, b)); }
TN_OP(mm) { auto a = A.tensor(0), b = A.tensor(1); TN_RUN(at::mm(a, b)); }
TN_OP(bmm) { auto a = A.tensor(0), b = A.tensor(1); TN_RUN(at::bmm(a, b)); }
TN_OP(baddbmm) {
  auto c = A.tensor(0), a = A.tensor(1), b = A.tensor(2); auto beta = A.scalar(3), alpha = A.scalar(4);
  TN_RUN(at::baddbmm(c, a, b, beta, alpha));
}
TN_OP(outer) { auto a = A.tensor(0), b = A.tensor(1); TN_RUN(at::outer(a, b)); }
TN_OP(einsum) { auto eq = A.str(0); auto ts = A.tensors(1); TN_RUN(at::einsum(eq, ts)); }

// The elementwise fast-path ops, also reachable through the table so they have async forms.
TN_OP(binary) { auto code = static_cast<uint32_t>(A.i64(0)); auto a = A.tensor(1), b = A.tensor(2); TN_RUN(binaryOp(code, a, b)); }
TN_OP(unary) { auto code = static_cast<uint32_t>(A.i64(0)); auto a = A.tensor(1); TN_RUN(unaryOp(code, a)); }

}  // namespace

void registerMathOps(std::vector<OpDef>& ops) {
  TN_REG(ops, sum); TN_REG(ops, mean); TN_REG(ops, prod); TN_REG(ops, max); TN_REG(ops, min);
  TN_REG(ops, amax); TN_REG(ops, amin); TN_REG(ops, argmax); TN_REG(ops, argmin);
  TN_REG(ops, logsumexp); TN_REG(ops, var); TN_REG(ops, std); TN_REG(ops, norm); TN_REG(ops, all);
  TN_REG(ops, any); TN_REG(ops, cumsum); TN_REG(ops, cumprod); TN_REG(ops, clamp); TN_REG(ops, clamp_);
  TN_REG(ops, lerp); TN_REG(ops, softmax); TN_REG(ops, logSoftmax); TN_REG(ops, gelu);
  TN_REG(ops, leakyRelu); TN_REG(ops, elu); TN_REG(ops, softplus); TN_REG(ops, hardtanh);
  TN_REG(ops, matmul); TN_REG(ops, mm); TN_REG(ops, bmm); TN_REG(ops, baddbmm); TN_REG(ops, outer);
  TN_REG(ops, einsum); TN_REG(ops, binary); TN_REG(ops, unary);
}

}  // namespace tn
