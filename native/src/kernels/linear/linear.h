// Linear layers: y = x·Wᵀ + b (as torch.nn.functional.linear), forward and backward.
//
// Why a kernel of our own: libtorch runs float32 CPU products on its BLAS (OpenBLAS here),
// which reaches 104-160 GFLOP/s on one core for the shapes of transformer layers; oneDNN's
// sgemm, which libtorch already loads (libdnnl), reaches 124-184 GFLOP/s on the same shapes
// (a Swin-T training step's linear layers, forward + backward: 1397 ms vs 1216 ms, measured
// with bench-style loops from Python through ctypes). So float32 CPU linear layers call
// oneDNN's sgemm directly when libtorch's process has it; everything else (other dtypes and
// devices, autocast, tiny products, double backward, no oneDNN) goes through at::linear and
// libtorch's own derivatives, unchanged.
//
// Shapes: x (*, K), w (N, K), b (N) or none -> (*, N).
// TN_LINEAR_GEMM=libtorch turns the oneDNN path off (comparisons, bisecting).
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>

namespace tn::linear {

/// y = x·Wᵀ + b with gradients for x, w and b.
at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& b);

/// The gemm float32 CPU linear layers use: "oneDNN" or "libtorch".
const char* linearBackend();

}  // namespace tn::linear
