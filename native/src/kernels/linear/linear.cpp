// Linear layers on oneDNN's sgemm (see linear.h for why), with their autograd function.
#include "kernels/linear/linear.h"

#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

#include "kernels/autocast_state.h"
#include "kernels/linear/cpu/dnnl_gemm.h"

namespace tn::linear {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Below this many multiply-adds the call overhead dominates and libtorch's path is as good.
constexpr double kMinMacs = 32768;

bool isCpuFloat(const at::Tensor& t) {
  return t.layout() == at::kStrided && t.device().is_cpu() && t.scalar_type() == at::kFloat;
}

// Whether the oneDNN path computes exactly what at::linear would; anything unusual (and every
// shape error, which at::linear reports in libtorch's words) goes to libtorch.
bool useDnnl(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  if (!x.defined() || !w.defined() || !cpu::dnnlAvailable()) return false;
  if (!isCpuFloat(x) || !isCpuFloat(w) || w.dim() != 2 || x.dim() < 1) return false;
  const int64_t N = w.size(0), K = w.size(1);
  if (x.size(-1) != K || K == 0 || N == 0 || x.numel() == 0) return false;
  if (b.defined() && (!isCpuFloat(b) || b.dim() != 1 || b.size(0) != N)) return false;
  if (autocastCpuEnabled()) return false;  // autocast runs linear in bfloat16: libtorch's dispatcher does that
  const double M = static_cast<double>(x.numel() / K);
  return M * static_cast<double>(N) * static_cast<double>(K) >= kMinMacs;
}

// y (*, N) = x (*, K) · w (N, K)ᵀ + b, on contiguous copies where x or w are not contiguous.
at::Tensor forwardProduct(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  const int64_t N = w.size(0), K = w.size(1);
  const at::Tensor x2 = x.reshape({-1, K}).contiguous(), W = w.contiguous();
  const int64_t M = x2.size(0);
  at::Tensor out = at::empty({M, N}, x2.options());
  if (b.defined()) {
    const at::Tensor bc = b.contiguous();
    cpu::sgemmAddBias(M, N, K, x2.data_ptr<float>(), W.data_ptr<float>(), bc.data_ptr<float>(), out.data_ptr<float>());
  } else {
    cpu::sgemm('N', 'T', M, N, K, 1.f, x2.data_ptr<float>(), K, W.data_ptr<float>(), K, 0.f, out.data_ptr<float>(), N);
  }
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = N;
  return out.view(shape);
}

struct LinearFunction : public torch::autograd::Function<LinearFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                               const c10::optional<at::Tensor>& bias) {
    const at::Tensor b = bias.value_or(at::Tensor());
    // The inputs themselves are saved, not their contiguous copies: forward runs without grad
    // mode, so a copy made here would have no path back to x for a double backward.
    ctx->save_for_backward({x, w});
    ctx->saved_data["hasBias"] = b.defined();
    return {forwardProduct(x, w, b)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1];
    const bool hasBias = ctx->saved_data["hasBias"].toBool();
    const at::Tensor& g = grads[0];
    if (!g.defined()) return {at::Tensor(), at::Tensor(), at::Tensor()};
    const int64_t N = w.size(0), K = w.size(1), M = x.numel() / K;
    const auto xShape = x.sizes();
    const bool wantX = ctx->needs_input_grad(0), wantW = ctx->needs_input_grad(1);
    const bool wantB = hasBias && ctx->needs_input_grad(2);
    at::Tensor dx, dW, db;
    if (at::GradMode::is_enabled() || g.scalar_type() != at::kFloat) {
      // create_graph (double backward): differentiable formulas through libtorch.
      const at::Tensor g2 = g.reshape({M, N});
      if (wantX) dx = g2.mm(w).view(xShape);
      if (wantW) dW = g2.t().mm(x.reshape({M, K}));
      if (wantB) db = g2.sum(0);
      return {dx, dW, db};
    }
    const at::Tensor g2 = g.reshape({M, N}).contiguous();
    if (wantX) {  // dx (M, K) = g (M, N) · W (N, K)
      const at::Tensor W = w.contiguous();
      dx = at::empty({M, K}, g2.options());
      cpu::sgemm('N', 'N', M, K, N, 1.f, g2.data_ptr<float>(), N, W.data_ptr<float>(), K, 0.f, dx.data_ptr<float>(), K);
      dx = dx.view(xShape);
    }
    if (wantW) {  // dW (N, K) = gᵀ (N, M) · x2 (M, K)
      const at::Tensor x2 = x.reshape({M, K}).contiguous();
      dW = at::empty({N, K}, g2.options());
      cpu::sgemm('T', 'N', N, K, M, 1.f, g2.data_ptr<float>(), N, x2.data_ptr<float>(), K, 0.f, dW.data_ptr<float>(), K);
    }
    if (wantB) db = g2.sum(0);
    return {dx, dW, db};
  }
};

}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const c10::optional<at::Tensor>& bias) {
  const at::Tensor b = bias.has_value() ? *bias : at::Tensor();
  if (!useDnnl(x, w, b)) return at::linear(x, w, bias);
  const bool needGraph =
      at::GradMode::is_enabled() && (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
  if (needGraph) return LinearFunction::apply(x, w, b.defined() ? c10::optional<at::Tensor>(b) : c10::nullopt)[0];
  return forwardProduct(x, w, b);
}

const char* linearBackend() { return cpu::dnnlAvailable() ? "oneDNN" : "libtorch"; }

}  // namespace tn::linear
