// Elementwise ops on the hot path. They skip the generic op table (no closure, no
// variant): a.add(b) on small tensors is dominated by call overhead, and this path is what
// bench/overhead measures against Python.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace tn {

/// Names in code order; lib/ops/elementwise.ts maps them to codes at load.
extern const char* const kBinaryNames[];
extern const uint32_t kNumBinary;
extern const char* const kUnaryNames[];
extern const uint32_t kNumUnary;

at::Tensor binaryOp(uint32_t code, const at::Tensor& a, const at::Tensor& b);
at::Tensor binaryScalarOp(uint32_t code, const at::Tensor& a, const at::Scalar& b, bool reversed);
at::Tensor unaryOp(uint32_t code, const at::Tensor& a);
/// In-place forms (add_, mul_, ...): return nothing, mutate `a`.
void binaryInplaceOp(uint32_t code, at::Tensor& a, const at::Tensor& b);
void binaryScalarInplaceOp(uint32_t code, at::Tensor& a, const at::Scalar& b);

}  // namespace tn
