// Bindings of the Swin window ops (native/src/kernels/swin): argument decoding only; the
// kernels' entry points check the inputs. lib/swin validates options before calling in.
#include <limits>

#include "binding/ops.h"
#include "kernels/swin/swin.h"

namespace tn {
namespace {

// (x, windowSize, shift)
TN_OP(swinRollAndWindowPartition) {
  auto x = A.tensor(0); auto ws = A.i64(1), shift = A.i64(2);
  TN_RUN(swin::rollAndWindowPartition(x, ws, shift));
}
// (windows, windowSize, H, W, shift)
TN_OP(swinWindowMergeAndRoll) {
  auto w = A.tensor(0); auto ws = A.i64(1), H = A.i64(2), W = A.i64(3), shift = A.i64(4);
  TN_RUN(swin::windowMergeAndRoll(w, ws, H, W, shift));
}
TN_OP(swinWindowPartition) { auto x = A.tensor(0); auto ws = A.i64(1); TN_RUN(swin::windowPartition(x, ws)); }
TN_OP(swinWindowReverse) {
  auto w = A.tensor(0); auto ws = A.i64(1), H = A.i64(2), W = A.i64(3);
  TN_RUN(swin::windowReverse(w, ws, H, W));
}
// The naive roll + view/permute versions (tests, benchmarks).
TN_OP(swinRollAndWindowPartitionReference) {
  auto x = A.tensor(0); auto ws = A.i64(1), shift = A.i64(2);
  TN_RUN(swin::rollAndWindowPartitionReference(x, ws, shift));
}
TN_OP(swinWindowMergeAndRollReference) {
  auto w = A.tensor(0); auto ws = A.i64(1), H = A.i64(2), W = A.i64(3), shift = A.i64(4);
  TN_RUN(swin::windowMergeAndRollReference(w, ws, H, W, shift));
}
TN_OP(swinPatchMerge) { auto x = A.tensor(0); TN_RUN(swin::patchMerge(x)); }
// (merged, H, W)
TN_OP(swinPatchUnmerge) { auto m = A.tensor(0); auto H = A.i64(1), W = A.i64(2); TN_RUN(swin::patchUnmerge(m, H, W)); }
// (H, W, windowSize, shift, fill, dtype)
TN_OP(swinShiftedWindowMask) {
  auto H = A.i64(0), W = A.i64(1), ws = A.i64(2), shift = A.i64(3); auto fill = A.f64(4);
  auto dtype = A.optDtype(5).value_or(at::kFloat);
  TN_RUN(swin::shiftedWindowMask(H, W, ws, shift, fill, dtype));
}
// (wh, ww)
TN_OP(swinRelativePositionIndex) { auto wh = A.i64(0), ww = A.i64(1); TN_RUN(swin::relativePositionIndex(wh, ww)); }
// (q, k, v, table, index, mask|null, scale|null)
TN_OP(swinWindowAttention) {
  auto q = A.tensor(0), k = A.tensor(1), v = A.tensor(2), table = A.tensor(3), index = A.tensor(4);
  auto mask = A.optTensor(5); auto scale = A.optF64(6).value_or(std::numeric_limits<double>::quiet_NaN());
  TN_RUN(swin::windowAttention(q, k, v, table, index, mask, scale));
}
TN_OP(swinWindowAttentionReference) {
  auto q = A.tensor(0), k = A.tensor(1), v = A.tensor(2), table = A.tensor(3), index = A.tensor(4);
  auto mask = A.optTensor(5); auto scale = A.optF64(6).value_or(std::numeric_limits<double>::quiet_NaN());
  TN_RUN(swin::windowAttentionReference(q, k, v, table, index, mask, scale));
}

}  // namespace

void registerSwinOps(std::vector<OpDef>& ops) {
  TN_REG(ops, swinRollAndWindowPartition);
  TN_REG(ops, swinWindowMergeAndRoll);
  TN_REG(ops, swinWindowPartition);
  TN_REG(ops, swinWindowReverse);
  TN_REG(ops, swinRollAndWindowPartitionReference);
  TN_REG(ops, swinWindowMergeAndRollReference);
  TN_REG(ops, swinPatchMerge);
  TN_REG(ops, swinPatchUnmerge);
  TN_REG(ops, swinShiftedWindowMask);
  TN_REG(ops, swinRelativePositionIndex);
  TN_REG(ops, swinWindowAttention);
  TN_REG(ops, swinWindowAttentionReference);
}

}  // namespace tn
