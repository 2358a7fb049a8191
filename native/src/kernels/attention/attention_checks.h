// Shared by attention.cpp and reference.cpp: the checked, resolved inputs of one call.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

#include "kernels/attention/attention.h"

namespace tn {
namespace attention {
namespace detail {

struct CheckedInputs {
  int64_t B = 0, Hq = 0, Hkv = 0, Lq = 0, Lk = 0, d = 0, dv = 0;
  at::Tensor mask;     // as given (bool or floating), or undefined
  at::Tensor lengths;  // int64 (B,) on the CPU, or undefined
  at::Tensor slopes;   // as given, (Hq,) or (B, Hq), or undefined
  AttentionParams params;  // dropoutSeed left 0
};

/// Every TORCH_CHECK on the inputs ("scaledDotProductAttention: ...").
CheckedInputs checkInputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const c10::optional<at::Tensor>& mask, const c10::optional<at::Tensor>& keyPaddingLengths,
                          const c10::optional<at::Tensor>& alibiSlopes, const AttentionOptions& o);

/// A dropout seed from libtorch's default CPU generator (so manual seeding reproduces).
uint64_t drawDropoutSeed();

}  // namespace detail
}  // namespace attention
}  // namespace tn
