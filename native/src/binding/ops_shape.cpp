// Views, shapes, indexing, joining and conversion ops, plus tensor metadata queries.
#include <ATen/ops/cat.h>
#include <ATen/ops/chunk.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/flip.h>
#include <ATen/ops/gather.h>
#include <ATen/ops/index.h>
#include <ATen/ops/index_put.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/masked_fill.h>
#include <ATen/ops/masked_select.h>
#include <ATen/ops/nonzero.h>
#include <ATen/ops/reflection_pad1d.h>
#include <ATen/ops/reflection_pad2d.h>
#include <ATen/ops/replication_pad1d.h>
#include <ATen/ops/replication_pad2d.h>
#include <ATen/ops/roll.h>
#include <ATen/ops/scatter.h>
#include <ATen/ops/scatter_add.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/split.h>
#include <ATen/ops/split_with_sizes.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/tril.h>
#include <ATen/ops/triu.h>
#include <ATen/ops/where.h>
#include <c10/util/Optional.h>
#include <c10/util/irange.h>

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/ops.h"

namespace tn {
namespace {

TN_OP(reshape) { auto t = A.tensor(0); auto s = A.ints(1); TN_RUN(t.reshape(s)); }
TN_OP(view) { auto t = A.tensor(0); auto s = A.ints(1); TN_RUN(t.view(s)); }
// asStrided(t, sizes, strides, storageOffset): a view of t's storage (libtorch checks the bounds).
TN_OP(asStrided) {
  auto t = A.tensor(0); auto size = A.ints(1), stride = A.ints(2); auto off = A.i64(3);
  TN_RUN(t.as_strided(size, stride, off));
}
TN_OP(transpose) { auto t = A.tensor(0); auto a = A.i64(1), b = A.i64(2); TN_RUN(t.transpose(a, b)); }
TN_OP(permute) { auto t = A.tensor(0); auto d = A.ints(1); TN_RUN(t.permute(d)); }
TN_OP(contiguous) { auto t = A.tensor(0); TN_RUN(t.contiguous()); }
TN_OP(squeeze) {
  auto t = A.tensor(0); auto d = A.optI64(1);
  TN_RUN(d ? t.squeeze(*d) : t.squeeze());
}
TN_OP(unsqueeze) { auto t = A.tensor(0); auto d = A.i64(1); TN_RUN(t.unsqueeze(d)); }
TN_OP(expand) { auto t = A.tensor(0); auto s = A.ints(1); TN_RUN(t.expand(s)); }
TN_OP(flatten) { auto t = A.tensor(0); auto s = A.i64(1), e = A.i64(2); TN_RUN(t.flatten(s, e)); }
TN_OP(unflatten) { auto t = A.tensor(0); auto d = A.i64(1); auto s = A.ints(2); TN_RUN(t.unflatten(d, s)); }
TN_OP(cat) { auto ts = A.tensors(0); auto d = A.i64(1); TN_RUN(at::cat(ts, d)); }
TN_OP(stack) { auto ts = A.tensors(0); auto d = A.i64(1); TN_RUN(at::stack(ts, d)); }
// Every piece of a split is a handle in the tensor table: refuse a count that would exhaust
// it (chunks of a zero-size dimension, or size-1 splits of a huge zero-element tensor) before
// libtorch allocates that many views.
static constexpr int64_t kMaxPieces = int64_t{1} << 20;
static void checkPieces(const char* op, int64_t pieces) {
  if (pieces > kMaxPieces)
    throw ArgError(ErrorKind::kRangeError, std::string(op) + ": this would make " + std::to_string(pieces) +
                                               " tensors; at most " + std::to_string(kMaxPieces) + " pieces are supported");
}

TN_OP(split) {
  auto t = A.tensor(0); auto d = A.i64(2);
  if (A.raw(1).IsArray()) {
    auto sizes = A.ints(1);
    checkPieces("split", static_cast<int64_t>(sizes.size()));
    TN_RUN(at::split_with_sizes(t, sizes, d));
  }
  auto size = A.i64(1);
  const int64_t n = t.size(d);
  if (size > 0) checkPieces("split", (n + size - 1) / size);
  TN_RUN(at::split(t, size, d));
}
TN_OP(chunk) {
  auto t = A.tensor(0); auto n = A.i64(1), d = A.i64(2);
  const int64_t size = t.size(d);
  checkPieces("chunk", size == 0 ? n : std::min(n, size));
  TN_RUN(at::chunk(t, n, d));
}
TN_OP(narrow) { auto t = A.tensor(0); auto d = A.i64(1), s = A.i64(2), l = A.i64(3); TN_RUN(t.narrow(d, s, l)); }
TN_OP(select) { auto t = A.tensor(0); auto d = A.i64(1), i = A.i64(2); TN_RUN(t.select(d, i)); }
TN_OP(slice) {
  auto t = A.tensor(0); auto d = A.i64(1); auto s = A.optI64(2), e = A.optI64(3); auto step = A.i64(4);
  TN_RUN(t.slice(d, s, e, step));
}
// index(t, [Tensor | null, ...]): advanced indexing, null keeps a dimension whole.
TN_OP(index) { auto t = A.tensor(0); auto idx = A.optTensors(1); TN_RUN(at::index(t, idx)); }
TN_OP(gather) { auto t = A.tensor(0); auto d = A.i64(1); auto i = A.tensor(2); TN_RUN(at::gather(t, d, i)); }
TN_OP(scatter) { auto t = A.tensor(0); auto d = A.i64(1); auto i = A.tensor(2); auto s = A.tensor(3); TN_RUN(at::scatter(t, d, i, s)); }
TN_OP(scatterAdd) { auto t = A.tensor(0); auto d = A.i64(1); auto i = A.tensor(2); auto s = A.tensor(3); TN_RUN(at::scatter_add(t, d, i, s)); }
TN_OP(indexSelect) { auto t = A.tensor(0); auto d = A.i64(1); auto i = A.tensor(2); TN_RUN(at::index_select(t, d, i)); }
TN_OP(maskedFill) { auto t = A.tensor(0); auto m = A.tensor(1); auto v = A.scalar(2); TN_RUN(at::masked_fill(t, m, v)); }
TN_OP(maskedFill_) { auto t = A.tensor(0); auto m = A.tensor(1); auto v = A.scalar(2); TN_RUN((t.masked_fill_(m, v), std::monostate{})); }
TN_OP(maskedSelect) { auto t = A.tensor(0); auto m = A.tensor(1); TN_RUN(at::masked_select(t, m)); }
TN_OP(nonzero) { auto t = A.tensor(0); TN_RUN(at::nonzero(t)); }
TN_OP(where) { auto c = A.tensor(0); auto a = A.tensor(1); auto b = A.tensor(2); TN_RUN(at::where(c, a, b)); }
TN_OP(roll) { auto t = A.tensor(0); auto s = A.ints(1); auto d = A.has(2) ? A.ints(2) : std::vector<int64_t>{}; TN_RUN(at::roll(t, s, d)); }
TN_OP(tril) { auto t = A.tensor(0); auto k = A.optI64(1).value_or(0); TN_RUN(at::tril(t, k)); }
TN_OP(triu) { auto t = A.tensor(0); auto k = A.optI64(1).value_or(0); TN_RUN(at::triu(t, k)); }
TN_OP(repeat) { auto t = A.tensor(0); auto s = A.ints(1); TN_RUN(t.repeat(s)); }
TN_OP(flip) { auto t = A.tensor(0); auto d = A.ints(1); TN_RUN(at::flip(t, d)); }
// pad(t, pad, mode, value): pad lists (left, right[, top, bottom, ...]) from the last dim, as F.pad.
TN_OP(pad) {
  auto t = A.tensor(0); auto p = A.ints(1); auto mode = A.has(2) ? A.str(2) : std::string("constant");
  auto value = A.has(3) ? A.scalar(3) : at::Scalar(0);
  if (mode == "constant") TN_RUN(at::constant_pad_nd(t, p, value));
  const size_t dims = p.size() / 2;
  if (p.size() % 2 != 0 || dims < 1 || dims > 2)
    throw ArgError(ErrorKind::kRangeError, "pad: mode '" + mode + "' pads the last 1 or 2 dimensions, so pad must have 2 or 4 entries, but got " + std::to_string(p.size()));
  if (mode == "reflect") TN_RUN(dims == 1 ? at::reflection_pad1d(t, p) : at::reflection_pad2d(t, p));
  if (mode == "replicate") TN_RUN(dims == 1 ? at::replication_pad1d(t, p) : at::replication_pad2d(t, p));
  throw ArgError(ErrorKind::kTypeError, "pad: mode must be 'constant', 'reflect' or 'replicate', but got '" + mode + "'");
}
TN_OP(sort) {
  auto t = A.tensor(0); auto d = A.i64(1); bool desc = A.flag(2);
  TN_RUN([&] { auto r = at::sort(t, d, desc); return std::vector<at::Tensor>{std::get<0>(r), std::get<1>(r)}; }());
}
TN_OP(topk) {
  auto t = A.tensor(0); auto k = A.i64(1), d = A.i64(2); bool largest = A.flag(3), sorted = A.flag(4);
  TN_RUN([&] { auto r = at::topk(t, k, d, largest, sorted); return std::vector<at::Tensor>{std::get<0>(r), std::get<1>(r)}; }());
}

// Conversions and copies.
TN_OP(to) {
  auto t = A.tensor(0); auto dt = A.optDtype(1); bool hasDevice = A.has(2); auto dev = A.device(2);
  bool copy = A.has(3) && A.flag(3);
  TN_RUN(t.to(hasDevice ? dev : t.device(), dt.value_or(t.scalar_type()), false, copy));
}
TN_OP(clone) { auto t = A.tensor(0); TN_RUN(t.clone()); }
TN_OP(copy_) { auto t = A.tensor(0); auto s = A.tensor(1); TN_RUN((t.copy_(s), std::monostate{})); }
TN_OP(fill_) { auto t = A.tensor(0); auto v = A.scalar(1); TN_RUN((t.fill_(v), std::monostate{})); }
TN_OP(zero_) { auto t = A.tensor(0); TN_RUN((t.zero_(), std::monostate{})); }
TN_OP(uniform_) { auto t = A.tensor(0); auto a = A.f64(1), b = A.f64(2); TN_RUN((t.uniform_(a, b), std::monostate{})); }
TN_OP(normal_) { auto t = A.tensor(0); auto m = A.f64(1), s = A.f64(2); TN_RUN((t.normal_(m, s), std::monostate{})); }
TN_OP(indexPut_) {
  auto t = A.tensor(0); auto idx = A.optTensors(1); auto v = A.tensor(2); bool acc = A.has(3) && A.flag(3);
  TN_RUN((t.index_put_(idx, v, acc), std::monostate{}));
}

// Metadata: answered synchronously; these never allocate.
TN_OP(shape) { auto t = A.tensor(0); TN_RUN(t.sizes().vec()); }
TN_OP(strides) { auto t = A.tensor(0); TN_RUN(t.strides().vec()); }
TN_OP(dtype) { auto t = A.tensor(0); TN_RUN(static_cast<int64_t>(codeFromScalarType(t.scalar_type()))); }
TN_OP(device) { auto t = A.tensor(0); TN_RUN(t.device().str()); }
TN_OP(isContiguous) { auto t = A.tensor(0); TN_RUN(t.is_contiguous()); }
TN_OP(storageOffset) { auto t = A.tensor(0); TN_RUN(static_cast<int64_t>(t.storage_offset())); }

}  // namespace

void registerShapeOps(std::vector<OpDef>& ops) {
  TN_REG(ops, reshape); TN_REG(ops, view); TN_REG(ops, asStrided); TN_REG(ops, transpose); TN_REG(ops, permute);
  TN_REG(ops, contiguous); TN_REG(ops, squeeze); TN_REG(ops, unsqueeze); TN_REG(ops, expand);
  TN_REG(ops, flatten); TN_REG(ops, unflatten); TN_REG(ops, cat); TN_REG(ops, stack);
  TN_REG(ops, split); TN_REG(ops, chunk); TN_REG(ops, narrow); TN_REG(ops, select);
  TN_REG(ops, slice); TN_REG(ops, index); TN_REG(ops, gather); TN_REG(ops, scatter);
  TN_REG(ops, scatterAdd); TN_REG(ops, indexSelect); TN_REG(ops, maskedFill); TN_REG(ops, maskedFill_);
  TN_REG(ops, maskedSelect); TN_REG(ops, nonzero); TN_REG(ops, where); TN_REG(ops, roll);
  TN_REG(ops, tril); TN_REG(ops, triu); TN_REG(ops, repeat); TN_REG(ops, flip); TN_REG(ops, pad);
  TN_REG(ops, sort); TN_REG(ops, topk); TN_REG(ops, to); TN_REG(ops, clone); TN_REG(ops, copy_);
  TN_REG(ops, fill_); TN_REG(ops, zero_); TN_REG(ops, uniform_); TN_REG(ops, normal_);
  TN_REG(ops, indexPut_); TN_REG(ops, shape); TN_REG(ops, strides); TN_REG(ops, dtype);
  TN_REG(ops, device); TN_REG(ops, isContiguous); TN_REG(ops, storageOffset);
}

}  // namespace tn
