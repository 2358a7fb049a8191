// Autograd: backward, gradients, leaves and graph queries.
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/ops.h"

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
TN_OP(gradFn) {
  auto t = A.tensor(0);
  TN_RUN(t.grad_fn() ? t.grad_fn()->name() : std::string());
}
// autogradGrad(outputs, inputs, gradOutputs | null, retainGraph, createGraph, allowUnused)
TN_OP(autogradGrad) {
  auto outs = A.tensors(0), ins = A.tensors(1);
  std::vector<at::Tensor> gouts = A.has(2) ? A.tensors(2) : std::vector<at::Tensor>{};
  bool retain = A.flag(3), create = A.flag(4), unused = A.flag(5);
  TN_RUN(torch::autograd::grad(outs, ins, gouts, retain || create, create, unused));
}

}  // namespace

void registerAutogradOps(std::vector<OpDef>& ops) {
  TN_REG(ops, backward); TN_REG(ops, grad); TN_REG(ops, setGrad); TN_REG(ops, requiresGrad);
  TN_REG(ops, requiresGrad_); TN_REG(ops, detach); TN_REG(ops, isLeaf); TN_REG(ops, retainGrad);
  TN_REG(ops, gradFn); TN_REG(ops, autogradGrad);
}

}  // namespace tn
