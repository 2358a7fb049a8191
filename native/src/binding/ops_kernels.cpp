// Bindings of the project's own kernels (native/src/kernels/*): each family registers its
// ops here so the kernels themselves stay free of N-API. Inputs are checked by the kernels'
// entry points; this file only decodes arguments.
#include "binding/ops.h"
#include "kernels/attention/attention.h"

namespace tn {
namespace {

// (q, k, v, mask|null, keyPaddingLengths|null, alibiSlopes|null, scale|null, isCausal,
//  causalAlign 'bottom-right'|'top-left', windowLeft|null, windowRight|null, softcap|null,
//  dropoutP, enableGqa, returnLse)
struct AttentionCall {
  at::Tensor q, k, v;
  c10::optional<at::Tensor> mask, lengths, slopes;
  attention::AttentionOptions o;
  bool returnLse = false;
};

AttentionCall decodeAttention(Args& A) {
  AttentionCall c;
  c.q = A.tensor(0); c.k = A.tensor(1); c.v = A.tensor(2);
  c.mask = A.optTensor(3); c.lengths = A.optTensor(4); c.slopes = A.optTensor(5);
  if (auto s = A.optF64(6)) c.o.scale = *s;
  c.o.isCausal = A.has(7) && A.flag(7);
  const std::string align = A.has(8) ? A.str(8) : std::string("bottom-right");
  if (align != "bottom-right" && align != "top-left") A.fail(8, "'bottom-right' or 'top-left'");
  c.o.bottomRight = align == "bottom-right";
  c.o.windowLeft = A.optI64(9).value_or(-1);
  c.o.windowRight = A.optI64(10).value_or(-1);
  c.o.softcap = A.optF64(11).value_or(0.0);
  c.o.dropoutP = A.optF64(12).value_or(0.0);
  c.o.enableGqa = A.has(13) && A.flag(13);
  c.returnLse = A.has(14) && A.flag(14);
  return c;
}

Value attentionResult(std::tuple<at::Tensor, at::Tensor> r, bool returnLse) {
  if (returnLse) return std::vector<at::Tensor>{std::get<0>(r), std::get<1>(r)};
  return std::get<0>(r);
}

TN_OP(scaledDotProductAttention) {
  const AttentionCall c = decodeAttention(A);
  TN_RUN(attentionResult(attention::scaledDotProductAttentionWithLse(c.q, c.k, c.v, c.mask, c.lengths, c.slopes, c.o),
                         c.returnLse));
}
TN_OP(attentionReference) {
  const AttentionCall c = decodeAttention(A);
  TN_RUN(attentionResult(attention::attentionReferenceWithLse(c.q, c.k, c.v, c.mask, c.lengths, c.slopes, c.o),
                         c.returnLse));
}

// Same arguments (dropoutP and returnLse are ignored): the pre-dropout probabilities.
TN_OP(attentionWeights) {
  const AttentionCall c = decodeAttention(A);
  TN_RUN(attention::attentionWeights(c.q, c.k, c.v, c.mask, c.lengths, c.slopes, c.o));
}

}  // namespace

void registerKernelOps(std::vector<OpDef>& ops) {
  TN_REG(ops, scaledDotProductAttention);
  TN_REG(ops, attentionReference);
  TN_REG(ops, attentionWeights);
}

}  // namespace tn
