// Fused multi-tensor optimiser updates (SGD, Adam, AdamW) and gradient-norm clipping.
//
// One call updates every parameter of a parameter group: the loop over tensors runs in C++
// (in parallel across tensors) under a NoGradGuard, with the same in-place ATen ops, in the same order, as PyTorch 1.13's
// single-tensor (CPU) path of torch.optim, so results match it to the last bit.
//
//   SGD:    g = grad (+ wd * p);  buf = first ? g : momentum * buf + (1 - dampening) * g
//           g = nesterov ? g + momentum * buf : buf   (when momentum != 0);  p -= lr * g
//   Adam:   g = grad (+ wd * p);  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²
//           vmax = max(vmax, v) (amsgrad);  p -= lr / (1 - b1^t) * m / (√v̂ / √(1 - b2^t) + eps)
//   AdamW:  p *= 1 - lr * wd, then Adam without the wd term in g.
//   clipGradNorm: total = ‖(‖g_i‖_p)_i‖_p;  g_i *= min(1, maxNorm / (total + 1e-6))
//
// Shapes: every per-parameter list has one entry per parameter, each of its parameter's
// shape (steps: one number per parameter, already incremented for this update).
//
// Example:
//   tn::optim::AdamOptions o; o.lr = 1e-3;
//   tn::optim::adamStep(params, grads, expAvgs, expAvgSqs, {}, steps, o);
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace tn {
namespace optim {

struct SgdOptions {
  double lr = 1e-3, momentum = 0, dampening = 0, weightDecay = 0;
  bool nesterov = false, maximize = false;
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
  bool amsgrad = false, maximize = false;
  /// AdamW: decay the parameters (p *= 1 - lr * wd) instead of adding wd * p to the gradient.
  bool decoupled = false;
};

/// bufs: one momentum buffer per parameter when momentum != 0 (else empty); first[i] != 0
/// when buffer i has never been written (it is then set to the gradient, as PyTorch's clone).
void sgdStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads,
             const std::vector<at::Tensor>& bufs, const std::vector<int64_t>& first, const SgdOptions& o);

/// maxExpAvgSqs: one per parameter when amsgrad (else empty); steps: t per parameter.
void adamStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads,
              const std::vector<at::Tensor>& expAvgs, const std::vector<at::Tensor>& expAvgSqs,
              const std::vector<at::Tensor>& maxExpAvgSqs, const std::vector<double>& steps, const AdamOptions& o);

/// Scales the gradients in place so that their joint p-norm is at most maxNorm (p may be
/// infinity); returns the norm before scaling (a 0-D tensor), as torch.nn.utils.clip_grad_norm_.
at::Tensor clipGradNorm(const std::vector<at::Tensor>& grads, double maxNorm, double normType);

/// Calls update(i) for i < n, across the intra-op threads when the group is large enough, with
/// gradients off (cpu/optim_kernel.cpp). Exceptions propagate.
void forEachTensor(size_t n, int64_t totalNumel, const std::function<void(size_t)>& update);

}  // namespace optim
}  // namespace tn
