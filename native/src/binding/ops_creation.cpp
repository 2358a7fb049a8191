// Creation ops: zeros, ones, full, empty, arange, linspace, eye, random tensors, *Like.
// Convention: (...sizes, dtype?, device?, requiresGrad?) with dtype as a lib/dtype.ts code.
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/bernoulli.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/full.h>
#include <ATen/ops/full_like.h>
#include <ATen/ops/linspace.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/rand_like.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randn_like.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/Context.h>

#include "binding/errors.h"
#include "binding/ops.h"

namespace tn {
namespace {

// Options from (dtype, device, requiresGrad) at argument positions i, i+1, i+2.
at::TensorOptions options(Args& A, size_t i, at::ScalarType fallback = at::kFloat) {
  return at::TensorOptions()
      .dtype(A.optDtype(i).value_or(fallback))
      .device(A.device(i + 1));
}
bool wantsGrad(Args& A, size_t i) { return A.has(i) && A.flag(i); }
Value withGrad(at::Tensor t, bool grad) {
  if (grad) t.requires_grad_(true);
  return t;
}

// Like-ops keep the source's dtype and device unless told otherwise.
at::TensorOptions likeOptions(Args& A, const at::Tensor& src, size_t i) {
  auto o = src.options().requires_grad(false);
  if (auto d = A.optDtype(i)) o = o.dtype(*d);
  if (A.has(i + 1)) o = o.device(A.device(i + 1));
  return o;
}

TN_OP(zeros) { auto s = A.ints(0); auto o = options(A, 1); bool g = wantsGrad(A, 3); TN_RUN(withGrad(at::zeros(s, o), g)); }
TN_OP(ones) { auto s = A.ints(0); auto o = options(A, 1); bool g = wantsGrad(A, 3); TN_RUN(withGrad(at::ones(s, o), g)); }
TN_OP(empty) { auto s = A.ints(0); auto o = options(A, 1); bool g = wantsGrad(A, 3); TN_RUN(withGrad(at::empty(s, o), g)); }
TN_OP(full) {
  auto s = A.ints(0); auto v = A.scalar(1);
  // Like torch.full: the dtype follows the fill value when none is given.
  at::ScalarType fallback = v.isBoolean() ? at::kBool : at::kFloat;
  auto o = options(A, 2, fallback); bool g = wantsGrad(A, 4);
  TN_RUN(withGrad(at::full(s, v, o), g));
}
TN_OP(arange) {
  auto start = A.scalar(0), end = A.scalar(1), step = A.scalar(2);
  at::ScalarType fallback = (start.isIntegral(false) && end.isIntegral(false) && step.isIntegral(false)) ? at::kLong : at::kFloat;
  auto o = options(A, 3, fallback); bool g = wantsGrad(A, 5);
  TN_RUN(withGrad(at::arange(start, end, step, o), g));
}
TN_OP(linspace) {
  auto start = A.scalar(0), end = A.scalar(1); auto steps = A.i64(2);
  auto o = options(A, 3); bool g = wantsGrad(A, 5);
  TN_RUN(withGrad(at::linspace(start, end, steps, o), g));
}
TN_OP(eye) {
  auto n = A.i64(0); auto m = A.optI64(1).value_or(n);
  auto o = options(A, 2); bool g = wantsGrad(A, 4);
  TN_RUN(withGrad(at::eye(n, m, o), g));
}
TN_OP(rand) { auto s = A.ints(0); auto o = options(A, 1); bool g = wantsGrad(A, 3); TN_RUN(withGrad(at::rand(s, o), g)); }
TN_OP(randn) { auto s = A.ints(0); auto o = options(A, 1); bool g = wantsGrad(A, 3); TN_RUN(withGrad(at::randn(s, o), g)); }
TN_OP(randint) {
  auto low = A.i64(0), high = A.i64(1); auto s = A.ints(2); auto o = options(A, 3, at::kLong);
  TN_RUN(at::randint(low, high, s, o));
}
TN_OP(randperm) { auto n = A.i64(0); auto o = options(A, 1, at::kLong); TN_RUN(at::randperm(n, o)); }
TN_OP(zerosLike) { auto& t = A.tensor(0); auto o = likeOptions(A, t, 1); TN_RUN(at::zeros_like(t, o)); }
TN_OP(onesLike) { auto& t = A.tensor(0); auto o = likeOptions(A, t, 1); TN_RUN(at::ones_like(t, o)); }
TN_OP(emptyLike) { auto& t = A.tensor(0); auto o = likeOptions(A, t, 1); TN_RUN(at::empty_like(t, o)); }
TN_OP(randLike) { auto& t = A.tensor(0); auto o = likeOptions(A, t, 1); TN_RUN(at::rand_like(t, o)); }
TN_OP(randnLike) { auto& t = A.tensor(0); auto o = likeOptions(A, t, 1); TN_RUN(at::randn_like(t, o)); }
TN_OP(fullLike) { auto& t = A.tensor(0); auto v = A.scalar(1); auto o = likeOptions(A, t, 2); TN_RUN(at::full_like(t, v, o)); }
TN_OP(multinomial) {
  auto p = A.tensor(0); auto n = A.i64(1); bool repl = A.has(2) && A.flag(2);
  TN_RUN(at::multinomial(p, n, repl));
}
TN_OP(bernoulli) { auto p = A.tensor(0); TN_RUN(at::bernoulli(p)); }

TN_OP(manualSeed) {
  const uint64_t seed = static_cast<uint64_t>(A.i64(0));
  // Seeds the CPU generator now (not on the worker): later random ops see it in order.
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  if (at::detail::getCUDAHooks().hasCUDA()) {
    for (int i = 0; i < at::detail::getCUDAHooks().getNumGPUs(); ++i) {
      auto gen = at::detail::getCUDAHooks().getDefaultCUDAGenerator(i);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
  }
  TN_RUN(std::monostate{});
}

}  // namespace

void registerCreationOps(std::vector<OpDef>& ops) {
  TN_REG(ops, zeros); TN_REG(ops, ones); TN_REG(ops, empty); TN_REG(ops, full);
  TN_REG(ops, arange); TN_REG(ops, linspace); TN_REG(ops, eye); TN_REG(ops, rand);
  TN_REG(ops, randn); TN_REG(ops, randint); TN_REG(ops, randperm); TN_REG(ops, zerosLike);
  TN_REG(ops, onesLike); TN_REG(ops, emptyLike); TN_REG(ops, randLike); TN_REG(ops, randnLike);
  TN_REG(ops, fullLike); TN_REG(ops, multinomial); TN_REG(ops, bernoulli); TN_REG(ops, manualSeed);
}

}  // namespace tn
