#include "binding/fast_ops.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/add.h>
#include <ATen/ops/atan2.h>
#include <ATen/ops/ceil.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/div.h>
#include <ATen/ops/eq.h>
#include <ATen/ops/erf.h>
#include <ATen/ops/exp.h>
#include <ATen/ops/expm1.h>
#include <ATen/ops/floor.h>
#include <ATen/ops/floor_divide.h>
#include <ATen/ops/fmod.h>
#include <ATen/ops/ge.h>
#include <ATen/ops/gt.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/isinf.h>
#include <ATen/ops/isnan.h>
#include <ATen/ops/le.h>
#include <ATen/ops/log.h>
#include <ATen/ops/log1p.h>
#include <ATen/ops/log2.h>
#include <ATen/ops/logical_and.h>
#include <ATen/ops/logical_not.h>
#include <ATen/ops/logical_or.h>
#include <ATen/ops/logical_xor.h>
#include <ATen/ops/lt.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/minimum.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/ne.h>
#include <ATen/ops/neg.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/reciprocal.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/remainder.h>
#include <ATen/ops/round.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/sign.h>
#include <ATen/ops/silu.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/sqrt.h>
#include <ATen/ops/square.h>
#include <ATen/ops/sub.h>
#include <ATen/ops/tan.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/trunc.h>
#include <ATen/ops/full_like.h>

#include <ATen/EmptyTensor.h>
#include <ATen/ScalarOps.h>

#include "binding/errors.h"

namespace tn {

const char* const kBinaryNames[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                    "eq", "ne", "lt", "le", "gt", "ge", "remainder", "fmod",
                                    "atan2", "floorDivide", "logicalAnd", "logicalOr", "logicalXor"};
const uint32_t kNumBinary = sizeof(kBinaryNames) / sizeof(kBinaryNames[0]);

const char* const kUnaryNames[] = {"neg", "abs", "exp", "log", "log2", "sqrt", "rsqrt", "sin", "cos",
                                   "tan", "tanh", "sigmoid", "relu", "silu", "floor", "ceil", "round",
                                   "trunc", "sign", "reciprocal", "erf", "log1p", "expm1", "square",
                                   "logicalNot", "isnan", "isinf", "isfinite"};
const uint32_t kNumUnary = sizeof(kUnaryNames) / sizeof(kUnaryNames[0]);

[[noreturn]] static void badCode(const char* kind, uint32_t code) {
  throw ArgError(ErrorKind::kRangeError, std::string("unknown ") + kind + " op code " + std::to_string(code));
}

// Tiny-tensor path. For a few elements, at::add spends ~460 ns in dispatch, autograd and
// TensorIterator set-up around a single addition; a model's bookkeeping ops (scales, masks,
// scalars) are exactly that size. When neither input needs autograd and both are small,
// contiguous float CPU tensors of one shape and dtype, the result is computed here, with
// the same IEEE arithmetic libtorch uses, in a tensor allocated without the dispatcher.
static constexpr int64_t kTinyNumel = 256;

static bool tinyFloat(const at::Tensor& a) {
  const auto t = a.scalar_type();
  return (t == at::kFloat || t == at::kDouble) && a.numel() <= kTinyNumel && a.device().is_cpu() &&
         !a.requires_grad() && a.is_contiguous() && a.layout() == at::kStrided;
}

template <typename T, typename F>
static at::Tensor tinyMap(const at::Tensor& a, const T* b, bool bScalar, F f) {
  at::Tensor out(at::detail::empty_cpu(a.sizes(), a.scalar_type()));
  const T* x = a.data_ptr<T>();
  T* y = out.data_ptr<T>();
  const int64_t n = a.numel();
  if (bScalar) {
    const T s = *b;
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i], s);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i], b[i]);
  }
  return out;
}

template <typename T>
static at::Tensor tinyBinary(uint32_t code, const at::Tensor& a, const T* b, bool bScalar) {
  switch (code) {
    case 0: return tinyMap<T>(a, b, bScalar, [](T x, T y) { return x + y; });
    case 1: return tinyMap<T>(a, b, bScalar, [](T x, T y) { return x - y; });
    case 2: return tinyMap<T>(a, b, bScalar, [](T x, T y) { return x * y; });
    case 3: return tinyMap<T>(a, b, bScalar, [](T x, T y) { return x / y; });
  }
  return at::Tensor();
}

static bool tinyCode(uint32_t code) { return code <= 3; }

at::Tensor binaryOp(uint32_t code, const at::Tensor& a, const at::Tensor& b) {
  if (tinyCode(code) && tinyFloat(a) && tinyFloat(b) && a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes()) {
    return a.scalar_type() == at::kFloat ? tinyBinary<float>(code, a, b.data_ptr<float>(), false)
                                         : tinyBinary<double>(code, a, b.data_ptr<double>(), false);
  }
  switch (code) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::maximum(a, b);
    case 6: return at::minimum(a, b);
    case 7: return at::eq(a, b);
    case 8: return at::ne(a, b);
    case 9: return at::lt(a, b);
    case 10: return at::le(a, b);
    case 11: return at::gt(a, b);
    case 12: return at::ge(a, b);
    case 13: return at::remainder(a, b);
    case 14: return at::fmod(a, b);
    case 15: return at::atan2(a, b);
    case 16: return at::floor_divide(a, b);
    case 17: return at::logical_and(a, b);
    case 18: return at::logical_or(a, b);
    case 19: return at::logical_xor(a, b);
  }
  badCode("binary", code);
}

at::Tensor binaryScalarOp(uint32_t code, const at::Tensor& a, const at::Scalar& s, bool reversed) {
  if (reversed) {
    // s (op) a, e.g. tn.sub(2.5, x): the number becomes a 0-D "wrapped number" tensor, as
    // Python does, so type promotion matches PyTorch (2.5 - int tensor gives floats).
    switch (code) {
      case 0: return at::add(a, s);
      case 2: return at::mul(a, s);
      default: {
        at::Tensor wrapped = c10::scalar_to_tensor(s);
        wrapped.unsafeGetTensorImpl()->set_wrapped_number(true);
        return binaryOp(code, wrapped, a);
      }
    }
  }
  // A float tensor and a number stay in the tensor's dtype (PyTorch's promotion rule), so
  // the tiny path applies; the scalar is rounded to the dtype first, as libtorch does.
  if (tinyCode(code) && tinyFloat(a) && (s.isFloatingPoint() || s.isIntegral(false))) {
    if (a.scalar_type() == at::kFloat) {
      const float v = static_cast<float>(s.toDouble());
      return tinyBinary<float>(code, a, &v, true);
    }
    const double v = s.toDouble();
    return tinyBinary<double>(code, a, &v, true);
  }
  switch (code) {
    case 0: return at::add(a, s);
    case 1: return at::sub(a, s);
    case 2: return at::mul(a, s);
    case 3: return at::div(a, s);
    case 4: return at::pow(a, s);
    case 7: return at::eq(a, s);
    case 8: return at::ne(a, s);
    case 9: return at::lt(a, s);
    case 10: return at::le(a, s);
    case 11: return at::gt(a, s);
    case 12: return at::ge(a, s);
    case 13: return at::remainder(a, s);
    case 14: return at::fmod(a, s);
    case 16: return at::floor_divide(a, s);
    default: return binaryOp(code, a, at::full_like(a, s, a.options().requires_grad(false)));
  }
}

void binaryInplaceOp(uint32_t code, at::Tensor& a, const at::Tensor& b) {
  switch (code) {
    case 0: a.add_(b); return;
    case 1: a.sub_(b); return;
    case 2: a.mul_(b); return;
    case 3: a.div_(b); return;
    case 4: a.pow_(b); return;
    default: a.copy_(binaryOp(code, a, b)); return;
  }
}

void binaryScalarInplaceOp(uint32_t code, at::Tensor& a, const at::Scalar& s) {
  switch (code) {
    case 0: a.add_(s); return;
    case 1: a.sub_(s); return;
    case 2: a.mul_(s); return;
    case 3: a.div_(s); return;
    case 4: a.pow_(s); return;
    default: a.copy_(binaryScalarOp(code, a, s, false)); return;
  }
}

at::Tensor unaryOp(uint32_t code, const at::Tensor& a) {
  switch (code) {
    case 0: return at::neg(a);
    case 1: return at::abs(a);
    case 2: return at::exp(a);
    case 3: return at::log(a);
    case 4: return at::log2(a);
    case 5: return at::sqrt(a);
    case 6: return at::rsqrt(a);
    case 7: return at::sin(a);
    case 8: return at::cos(a);
    case 9: return at::tan(a);
    case 10: return at::tanh(a);
    case 11: return at::sigmoid(a);
    case 12: return at::relu(a);
    case 13: return at::silu(a);
    case 14: return at::floor(a);
    case 15: return at::ceil(a);
    case 16: return at::round(a);
    case 17: return at::trunc(a);
    case 18: return at::sign(a);
    case 19: return at::reciprocal(a);
    case 20: return at::erf(a);
    case 21: return at::log1p(a);
    case 22: return at::expm1(a);
    case 23: return at::square(a);
    case 24: return at::logical_not(a);
    case 25: return at::isnan(a);
    case 26: return at::isinf(a);
    case 27: return at::isfinite(a);
  }
  badCode("unary", code);
}

}  // namespace tn
