// Autograd: backward, gradients, leaves and graph queries.
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/api/include/torch/version.h>
#include <torch/csrc/autograd/function.h>

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/ops.h"
#include "kernels/autocast_state.h"

namespace tn {
namespace {

// backward(t, grad?, retainGraph, createGraph)
TN_OP(backward) {
  auto t = A.tensor(0); auto g = A.optTensor(1); bool retain = A.has(2) && A.flag(2); bool create = A.has(3) && A.flag(3);
  if (!t.requires_grad())
    throw ArgError(ErrorKind::kError, "backward: the tensor does not require grad and has no grad_fn; "
                                      "create its inputs with requiresGrad: true");
  if (!g && t.numel() != 1)
    throw ArgError(ErrorKind::kError, "backward: grad can be implicitly created only for a tensor with one element, but got shape [" +
                                          c10::Join(", ", t.sizes()) + "]; pass a gradient of the same shape");
  TN_RUN((t.backward(g.value_or(at::Tensor()), retain || create, create), std::monostate{}));
}
TN_OP(grad) { auto t = A.tensor(0); TN_RUN(t.grad()); }
TN_OP(setGrad) {
  auto t = A.tensor(0); auto g = A.optTensor(1);
  TN_RUN((t.mutable_grad() = g.value_or(at::Tensor()), std::monostate{}));
}
TN_OP(requiresGrad) { auto t = A.tensor(0); TN_RUN(t.requires_grad()); }
TN_OP(requiresGrad_) { auto t = A.tensor(0); bool r = A.flag(1); TN_RUN((t.requires_grad_(r), std::monostate{})); }
TN_OP(detach) { auto t = A.tensor(0); TN_RUN(t.detach()); }
TN_OP(isLeaf) { auto t = A.tensor(0); TN_RUN(t.is_leaf()); }
TN_OP(retainGrad) { auto t = A.tensor(0); TN_RUN((t.retain_grad(), std::monostate{})); }
// libtorch names a C++ custom function's node after its type,
// "torch::autograd::CppNode<tn::linear::(anonymous namespace)::LinearFunction>": ours read as
// PyTorch's own nodes do, "LinearBackward".
static std::string nodeName(const std::string& raw) {
  const std::string prefix = "torch::autograd::CppNode<tn::";
  if (raw.compare(0, prefix.size(), prefix) != 0 || raw.back() != '>') return raw;
  std::string type = raw.substr(0, raw.size() - 1);
  type = type.substr(type.rfind(':') + 1);
  const std::string suffix = "Function";
  if (type.size() > suffix.size() && type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0) {
    type.resize(type.size() - suffix.size());
  }
  return type + "Backward";
}
TN_OP(gradFn) {
  auto t = A.tensor(0);
  TN_RUN(t.grad_fn() ? nodeName(t.grad_fn()->name()) : std::string());
}
// autogradGrad(outputs, inputs, gradOutputs | null, retainGraph, createGraph, allowUnused)
TN_OP(autogradGrad) {
  auto outs = A.tensors(0), ins = A.tensors(1);
  std::vector<at::Tensor> gouts = A.has(2) ? A.tensors(2) : std::vector<at::Tensor>{};
  bool retain = A.flag(3), create = A.flag(4), unused = A.flag(5);
  TN_RUN(torch::autograd::grad(outs, ins, gouts, retain || create, create, unused));
}

// CPU autocast (torch.autocast('cpu', dtype)): libtorch's dispatcher casts the inputs of the
// ops on its lists (linear, matmul, conv: lower precision; softmax, layer_norm, losses: float32).
// The API moved in 2.4 (per-device setters); both are thread-local state of the calling thread.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static void setAutocastCpu(bool on, at::ScalarType t) {
  at::autocast::set_autocast_enabled(at::kCPU, on);
  at::autocast::set_autocast_dtype(at::kCPU, t);
}
static at::ScalarType autocastCpuDtype() { return at::autocast::get_autocast_dtype(at::kCPU); }
#else
static void setAutocastCpu(bool on, at::ScalarType t) {
  at::autocast::set_cpu_enabled(on);
  at::autocast::set_autocast_cpu_dtype(t);
}
static at::ScalarType autocastCpuDtype() { return at::autocast::get_autocast_cpu_dtype(); }
#endif

// autocastEnter(dtype) -> [wasEnabled, previous dtype code]
TN_OP(autocastEnter) {
  auto dtype = A.dtype(0);
  TORCH_CHECK(dtype == at::kBFloat16 || dtype == at::kHalf || dtype == at::kFloat,
              "autocast: expected dtype bfloat16, float16 or float32, but got ", dtype);
  const bool was = autocastCpuEnabled();
  const int32_t prev = codeFromScalarType(autocastCpuDtype());
  setAutocastCpu(true, dtype);
  at::autocast::increment_nesting();
  TN_RUN(std::vector<int64_t>{was ? 1 : 0, prev});
}
// autocastExit(wasEnabled, previous dtype code): restores; the outermost exit drops the cast cache.
TN_OP(autocastExit) {
  const bool was = A.flag(0);
  const auto prev = scalarTypeFromCode(static_cast<int32_t>(A.i64(1)));
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  setAutocastCpu(was, prev);
  TN_RUN(std::monostate{});
}
TN_OP(isAutocastEnabled) { TN_RUN(autocastCpuEnabled()); }

}  // namespace

void registerAutogradOps(std::vector<OpDef>& ops) {
  TN_REG(ops, backward); TN_REG(ops, grad); TN_REG(ops, setGrad); TN_REG(ops, requiresGrad);
  TN_REG(ops, requiresGrad_); TN_REG(ops, detach); TN_REG(ops, isLeaf); TN_REG(ops, retainGrad);
  TN_REG(ops, gradFn); TN_REG(ops, autogradGrad);
  TN_REG(ops, autocastEnter); TN_REG(ops, autocastExit); TN_REG(ops, isAutocastEnabled);
}

}  // namespace tn
