// Fused optimiser updates: see optim.h for the formulas. Each loop is PyTorch 1.13's
// _single_tensor_{sgd,adam,adamw} transcribed op for op (same rounding, same order).
#include "kernels/optim/optim.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/reciprocal.h>
#include <ATen/ops/clamp.h>
#include <ATen/ops/max.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/norm.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/stack.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <string>

namespace tn {
namespace optim {
namespace {

void checkList(const char* op, const char* name, size_t got, size_t want) {
  TORCH_CHECK(got == want, op, ": expected one entry of ", name, " per parameter (", want, "), but got ", got, " instead.");
}

void checkPair(const char* op, size_t i, const char* name, const at::Tensor& p, const at::Tensor& t) {
  TORCH_CHECK(t.defined(), op, ": ", name, "[", i, "] is undefined.");
  TORCH_CHECK(t.sizes() == p.sizes(), op, ": ", name, "[", i, "] must have its parameter's shape ", p.sizes(),
              ", but got ", t.sizes(), " instead.");
  TORCH_CHECK(t.device() == p.device(), op, ": ", name, "[", i, "] must be on its parameter's device ", p.device(),
              ", but got ", t.device(), " instead.");
}

int64_t totalNumel(const std::vector<at::Tensor>& ts) {
  int64_t n = 0;
  for (const auto& t : ts) n += t.numel();
  return n;
}

}  // namespace

void sgdStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads,
             const std::vector<at::Tensor>& bufs, const std::vector<int64_t>& first, const SgdOptions& o) {
  const size_t n = params.size();
  checkList("sgdStep", "grads", grads.size(), n);
  if (o.momentum != 0) {
    checkList("sgdStep", "momentum buffers", bufs.size(), n);
    checkList("sgdStep", "first flags", first.size(), n);
  }
  for (size_t i = 0; i < n; ++i) {
    checkPair("sgdStep", i, "grads", params[i], grads[i]);
    if (o.momentum != 0) checkPair("sgdStep", i, "momentum buffers", params[i], bufs[i]);
  }
  forEachTensor(n, totalNumel(params), [&](size_t i) {
    const at::Tensor& p = params[i];
    at::Tensor d = o.maximize ? grads[i].neg() : grads[i];
    if (o.weightDecay != 0) d = d.add(p, o.weightDecay);       // d <- g + wd p
    if (o.momentum != 0) {
      const at::Tensor& buf = bufs[i];
      if (first[i]) buf.copy_(d);                               // buf <- d (first step)
      else buf.mul_(o.momentum).add_(d, 1 - o.dampening);       // buf <- m buf + (1 - damp) d
      d = o.nesterov ? d.add(buf, o.momentum) : buf;            // d <- d + m buf | buf
    }
    p.add_(d, -o.lr);                                           // p <- p - lr d
  });
}

void adamStep(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads,
              const std::vector<at::Tensor>& expAvgs, const std::vector<at::Tensor>& expAvgSqs,
              const std::vector<at::Tensor>& maxExpAvgSqs, const std::vector<double>& steps, const AdamOptions& o) {
  const char* op = o.decoupled ? "adamwStep" : "adamStep";
  const size_t n = params.size();
  checkList(op, "grads", grads.size(), n);
  checkList(op, "exp_avg", expAvgs.size(), n);
  checkList(op, "exp_avg_sq", expAvgSqs.size(), n);
  checkList(op, "steps", steps.size(), n);
  if (o.amsgrad) checkList(op, "max_exp_avg_sq", maxExpAvgSqs.size(), n);
  for (size_t i = 0; i < n; ++i) {
    checkPair(op, i, "grads", params[i], grads[i]);
    checkPair(op, i, "exp_avg", params[i], expAvgs[i]);
    checkPair(op, i, "exp_avg_sq", params[i], expAvgSqs[i]);
    if (o.amsgrad) checkPair(op, i, "max_exp_avg_sq", params[i], maxExpAvgSqs[i]);
    TORCH_CHECK(steps[i] >= 1, op, ": steps[", i, "] must be >= 1, but got ", steps[i], " instead.");
  }
  forEachTensor(n, totalNumel(params), [&](size_t i) {
    const at::Tensor& p = params[i];
    const at::Tensor& m = expAvgs[i];
    const at::Tensor& v = expAvgSqs[i];
    at::Tensor g = o.maximize ? grads[i].neg() : grads[i];
    if (o.decoupled) p.mul_(1 - o.lr * o.weightDecay);              // p <- p (1 - lr wd)
    else if (o.weightDecay != 0) g = g.add(p, o.weightDecay);      // g <- g + wd p
    m.mul_(o.beta1).add_(g, 1 - o.beta1);                          // m <- b1 m + (1 - b1) g
    v.mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);                   // v <- b2 v + (1 - b2) g²
    const double t = steps[i];
    const double bc1 = 1 - std::pow(o.beta1, t), bc2 = 1 - std::pow(o.beta2, t);
    const double stepSize = o.lr / bc1, bc2Sqrt = std::sqrt(bc2);
    at::Tensor denom;
    if (o.amsgrad) {
      at::Tensor vmax = maxExpAvgSqs[i];
      at::maximum_out(vmax, vmax, v);                              // vmax <- max(vmax, v)
      denom = vmax.sqrt().div(bc2Sqrt).add_(o.eps);
    } else {
      denom = v.sqrt().div(bc2Sqrt).add_(o.eps);                   // √v / √bc2 + eps
    }
    p.addcdiv_(m, denom, -stepSize);                               // p <- p - lr/bc1 m / denom
  });
}

at::Tensor clipGradNorm(const std::vector<at::Tensor>& grads, double maxNorm, double normType) {
  at::NoGradGuard noGrad;
  if (grads.empty()) return at::scalar_tensor(0.0, at::kFloat);
  const c10::Device device = grads[0].device();
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  at::Tensor total;
  if (std::isinf(normType)) {
    for (const auto& g : grads) norms.push_back(g.abs().max().to(device));
    total = norms.size() == 1 ? norms[0] : at::stack(norms).max();
  } else {
    for (const auto& g : grads) norms.push_back(at::norm(g, normType).to(device));
    total = at::norm(at::stack(norms), normType);
  }
  // coef <- min(1, maxNorm / (total + 1e-6)), as Python's float / Tensor: reciprocal() * maxNorm
  const at::Tensor coef = at::clamp(total.add(1e-6).reciprocal().mul(maxNorm), c10::nullopt, 1.0);
  for (const auto& g : grads) g.mul_(coef.to(g.device()));
  return total;
}

}  // namespace optim
}  // namespace tn
