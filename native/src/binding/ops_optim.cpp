// Bindings of the fused optimiser updates (kernels/optim): decode the arguments, nothing more.
// The TypeScript optimisers (lib/optim) validate hyper-parameters before calling in.
#include "binding/ops.h"
#include "kernels/optim/optim.h"

namespace tn {
namespace {

// sgdStep(params[], grads[], bufs[], first[], lr, momentum, dampening, weightDecay, nesterov, maximize)
TN_OP(sgdStep) {
  auto params = A.tensors(0), grads = A.tensors(1), bufs = A.tensors(2);
  auto first = A.ints(3);
  optim::SgdOptions o;
  o.lr = A.f64(4); o.momentum = A.f64(5); o.dampening = A.f64(6); o.weightDecay = A.f64(7);
  o.nesterov = A.flag(8); o.maximize = A.flag(9);
  return [=]() -> Value { optim::sgdStep(params, grads, bufs, first, o); return std::monostate{}; };
}

// adamStep(params[], grads[], expAvgs[], expAvgSqs[], maxExpAvgSqs[], steps[], lr, beta1, beta2,
//          eps, weightDecay, amsgrad, maximize, decoupled)
TN_OP(adamStep) {
  auto params = A.tensors(0), grads = A.tensors(1), m = A.tensors(2), v = A.tensors(3), vmax = A.tensors(4);
  auto steps = A.doubles(5);
  optim::AdamOptions o;
  o.lr = A.f64(6); o.beta1 = A.f64(7); o.beta2 = A.f64(8); o.eps = A.f64(9); o.weightDecay = A.f64(10);
  o.amsgrad = A.flag(11); o.maximize = A.flag(12); o.decoupled = A.flag(13);
  return [=]() -> Value { optim::adamStep(params, grads, m, v, vmax, steps, o); return std::monostate{}; };
}

// clipGradNorm(grads[], maxNorm, normType) -> total norm
TN_OP(clipGradNorm) {
  auto grads = A.tensors(0); auto maxNorm = A.f64(1), normType = A.f64(2);
  TN_RUN(optim::clipGradNorm(grads, maxNorm, normType));
}

}  // namespace

void registerOptimOps(std::vector<OpDef>& ops) {
  TN_REG(ops, sgdStep); TN_REG(ops, adamStep); TN_REG(ops, clipGradNorm);
}

}  // namespace tn
