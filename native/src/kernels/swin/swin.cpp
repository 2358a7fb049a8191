// Entry points of the Swin window ops: input checks, allocation, the autograd Functions of
// the fused shift + partition pair (each the other's backward), the shift mask, the relative
// position index and the fused window attention. The copy kernel is in cpu/swin_kernel.cpp,
// the naive ATen versions in reference.cpp. Shapes: see swin.h.
//
// Example: auto w = tn::swin::rollAndWindowPartition(x, 7, 3);   // x (B, 56, 56, C) -> (B*64, 49, C)
#include "kernels/swin/swin.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/index_select.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/attention/attention.h"

namespace tn {
namespace swin {

namespace {

std::string shapeStr(at::IntArrayRef s) { return "[" + c10::Join(", ", s) + "]"; }

int64_t wrap(int64_t shift, int64_t n) { return n == 0 ? 0 : ((shift % n) + n) % n; }

void checkWindowSize(const char* op, int64_t ws) {
  TORCH_CHECK(ws >= 1, op, ": expected windowSize >= 1, but got ", ws);
}

void checkImage(const char* op, const at::Tensor& x, int64_t ws) {
  checkWindowSize(op, ws);
  TORCH_CHECK(x.defined(), op, ": expected x to be a defined tensor");
  TORCH_CHECK(x.dim() == 4 && x.size(1) % ws == 0 && x.size(2) % ws == 0, op,
              ": expected x of shape (B, H, W, C) with H and W multiples of windowSize ", ws, ", but got ",
              shapeStr(x.sizes()), " (pad with padToWindow first)");
}

// Returns the windows as (B*nW, ws*ws, C); accepts (B*nW, ws*ws, C) or (B*nW, ws, ws, C).
at::Tensor checkWindows(const char* op, const at::Tensor& windows, int64_t ws, int64_t H, int64_t W) {
  checkWindowSize(op, ws);
  TORCH_CHECK(H >= 1 && W >= 1 && H % ws == 0 && W % ws == 0, op, ": expected H and W multiples of windowSize ",
              ws, ", but got H ", H, " and W ", W);
  TORCH_CHECK(windows.defined(), op, ": expected windows to be a defined tensor");
  const int64_t nW = (H / ws) * (W / ws);
  const bool flatOk = windows.dim() == 3 && windows.size(1) == ws * ws;
  const bool squareOk = windows.dim() == 4 && windows.size(1) == ws && windows.size(2) == ws;
  TORCH_CHECK((flatOk || squareOk) && windows.size(0) % nW == 0, op, ": expected windows of shape (B*nW, ",
              ws * ws, ", C) or (B*nW, ", ws, ", ", ws, ", C) with nW = ", nW, " windows per ", H, "x", W,
              " image, but got ", shapeStr(windows.sizes()));
  return squareOk ? windows.reshape({windows.size(0), ws * ws, windows.size(3)}) : windows;
}

// windows (B*nW, N, C) <- x (B, H, W, C), no autograd.
at::Tensor partitionRaw(const at::Tensor& x, int64_t ws, int64_t shift) {
  if (!x.device().is_cpu()) return rollAndWindowPartitionReference(x, ws, shift);
  const at::Tensor xc = x.contiguous();
  const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  at::Tensor out = at::empty({B * (H / ws) * (W / ws), ws * ws, C}, x.options());
  cpu::rollPartitionKernel(xc, out, ws, wrap(shift, H), wrap(shift, W), true);
  return out;
}

// x (B, H, W, C) <- windows (B*nW, N, C), no autograd.
at::Tensor mergeRaw(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W, int64_t shift) {
  if (!windows.device().is_cpu()) return windowMergeAndRollReference(windows, ws, H, W, shift);
  const at::Tensor wc = windows.contiguous();
  const int64_t B = windows.size(0) / ((H / ws) * (W / ws)), C = windows.size(2);
  at::Tensor out = at::empty({B, H, W, C}, windows.options());
  cpu::rollPartitionKernel(out, wc, ws, wrap(shift, H), wrap(shift, W), false);
  return out;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor mergeAutograd(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W, int64_t shift);

// windows = partition(roll(x, -shift)); dx = roll(reverse(dwindows), +shift).
struct RollPartitionFunction : public torch::autograd::Function<RollPartitionFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t ws, int64_t shift) {
    ctx->saved_data["ws"] = ws;
    ctx->saved_data["shift"] = shift;
    ctx->saved_data["H"] = x.size(1);
    ctx->saved_data["W"] = x.size(2);
    return partitionRaw(x, ws, shift);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto& s = ctx->saved_data;
    return {mergeAutograd(grads[0], s["ws"].toInt(), s["H"].toInt(), s["W"].toInt(), s["shift"].toInt()),
            at::Tensor(), at::Tensor()};
  }
};

// x = roll(reverse(windows), +shift); dwindows = partition(roll(dx, -shift)).
struct MergeRollFunction : public torch::autograd::Function<MergeRollFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& windows, int64_t ws, int64_t H, int64_t W,
                            int64_t shift) {
    ctx->saved_data["ws"] = ws;
    ctx->saved_data["shift"] = shift;
    return mergeRaw(windows, ws, H, W, shift);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto& s = ctx->saved_data;
    return {RollPartitionFunction::apply(grads[0], s["ws"].toInt(), s["shift"].toInt()), at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor()};
  }
};

at::Tensor mergeAutograd(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W, int64_t shift) {
  return MergeRollFunction::apply(windows, ws, H, W, shift);
}

at::Tensor patchUnmergeAutograd(const at::Tensor& merged, int64_t H, int64_t W);

// y = cat of the four 2x2 phases; dx = patchUnmerge(dy).
struct PatchMergeFunction : public torch::autograd::Function<PatchMergeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    ctx->saved_data["H"] = x.size(1);
    ctx->saved_data["W"] = x.size(2);
    const int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
    if (!x.device().is_cpu()) {
      return x.reshape({B, H / 2, 2, W / 2, 2, C}).permute({0, 1, 3, 4, 2, 5}).reshape({B, H / 2, W / 2, 4 * C});
    }
    at::Tensor out = at::empty({B, H / 2, W / 2, 4 * C}, x.options());
    cpu::patchMergeKernel(x.contiguous(), out, true);
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {patchUnmergeAutograd(grads[0], ctx->saved_data["H"].toInt(), ctx->saved_data["W"].toInt())};
  }
};

// x = the inverse scatter; dmerged = patchMerge(dx).
struct PatchUnmergeFunction : public torch::autograd::Function<PatchUnmergeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& merged, int64_t H, int64_t W) {
    const int64_t B = merged.size(0), C = merged.size(3) / 4;
    if (!merged.device().is_cpu()) {
      return merged.reshape({B, H / 2, W / 2, 2, 2, C}).permute({0, 1, 4, 2, 3, 5}).reshape({B, H, W, C});
    }
    at::Tensor out = at::empty({B, H, W, C}, merged.options());
    cpu::patchMergeKernel(out, merged.contiguous(), false);
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {PatchMergeFunction::apply(grads[0]), at::Tensor(), at::Tensor()};
  }
};

at::Tensor patchUnmergeAutograd(const at::Tensor& merged, int64_t H, int64_t W) {
  return PatchUnmergeFunction::apply(merged, H, W);
}

}  // namespace

at::Tensor patchMerge(const at::Tensor& x) {
  TORCH_CHECK(x.defined() && x.dim() == 4 && x.size(1) % 2 == 0 && x.size(2) % 2 == 0,
              "patchMerge: expected x of shape (B, H, W, C) with H and W even, but got ",
              x.defined() ? shapeStr(x.sizes()) : std::string("an undefined tensor"));
  return PatchMergeFunction::apply(x);
}

at::Tensor patchUnmerge(const at::Tensor& merged, int64_t H, int64_t W) {
  TORCH_CHECK(H >= 0 && W >= 0 && H % 2 == 0 && W % 2 == 0, "patchUnmerge: expected H and W even, but got H ", H,
              " and W ", W);
  TORCH_CHECK(merged.defined() && merged.dim() == 4 && merged.size(1) == H / 2 && merged.size(2) == W / 2 &&
                  merged.size(3) % 4 == 0,
              "patchUnmerge: expected merged of shape (B, ", H / 2, ", ", W / 2, ", 4C), but got ",
              merged.defined() ? shapeStr(merged.sizes()) : std::string("an undefined tensor"));
  return PatchUnmergeFunction::apply(merged, H, W);
}

at::Tensor rollAndWindowPartition(const at::Tensor& x, int64_t ws, int64_t shift) {
  checkImage("rollAndWindowPartition", x, ws);
  return RollPartitionFunction::apply(x, ws, shift);
}

at::Tensor windowMergeAndRoll(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W, int64_t shift) {
  const at::Tensor w = checkWindows("windowMergeAndRoll", windows, ws, H, W);
  return MergeRollFunction::apply(w, ws, H, W, shift);
}

at::Tensor windowPartition(const at::Tensor& x, int64_t ws) {
  checkImage("windowPartition", x, ws);
  const at::Tensor w = RollPartitionFunction::apply(x, ws, 0);
  return w.view({w.size(0), ws, ws, w.size(2)});
}

at::Tensor windowReverse(const at::Tensor& windows, int64_t ws, int64_t H, int64_t W) {
  const at::Tensor w = checkWindows("windowReverse", windows, ws, H, W);
  return MergeRollFunction::apply(w, ws, H, W, 0);
}

at::Tensor shiftedWindowMask(int64_t H, int64_t W, int64_t ws, int64_t shift, double fill, at::ScalarType dtype) {
  const char* op = "shiftedWindowMask";
  checkWindowSize(op, ws);
  TORCH_CHECK(H >= 1 && W >= 1 && H % ws == 0 && W % ws == 0, op,
              ": expected H and W positive multiples of windowSize ", ws, " (the padded resolution), but got H ", H,
              " and W ", W);
  TORCH_CHECK(shift >= 0 && shift < ws, op, ": expected shift in [0, ", ws, "), but got ", shift);
  TORCH_CHECK(at::isFloatingType(dtype), op, ": expected a floating dtype, but got ", dtype);
  // region <- which of the slices (0, -ws), (-ws, -shift), (-shift, None) labels a row last
  // (with shift 0 the third slice is the whole axis).
  auto region = [&](int64_t p, int64_t n) -> int64_t {
    if (shift == 0) return 2;
    return p < n - ws ? 0 : (p < n - shift ? 1 : 2);
  };
  const int64_t nWh = H / ws, nWw = W / ws, N = ws * ws;
  at::Tensor mask = at::empty({nWh * nWw, N, N}, at::TensorOptions().dtype(at::kDouble));
  double* m = mask.data_ptr<double>();
  std::vector<int64_t> label(N);
  for (int64_t wh = 0; wh < nWh; ++wh) {
    for (int64_t ww = 0; ww < nWw; ++ww) {
      for (int64_t t = 0; t < N; ++t) label[t] = 3 * region(wh * ws + t / ws, H) + region(ww * ws + t % ws, W);
      for (int64_t a = 0; a < N; ++a)
        for (int64_t b = 0; b < N; ++b) *m++ = label[a] != label[b] ? fill : 0.0;
    }
  }
  return mask.to(dtype);
}

at::Tensor relativePositionIndex(int64_t wh, int64_t ww) {
  TORCH_CHECK(wh >= 1 && ww >= 1, "relativePositionIndex: expected a window size >= 1, but got ", wh, "x", ww);
  const int64_t N = wh * ww;
  at::Tensor index = at::empty({N, N}, at::TensorOptions().dtype(at::kLong));
  int64_t* out = index.data_ptr<int64_t>();
  for (int64_t p = 0; p < N; ++p)
    for (int64_t q = 0; q < N; ++q)
      *out++ = (p / ww - q / ww + wh - 1) * (2 * ww - 1) + (p % ww - q % ww + ww - 1);
  return index;
}

at::Tensor relativePositionBias(const at::Tensor& table, const at::Tensor& index) {
  const int64_t N = index.size(0), nH = table.size(1);
  // bias[h, p, q] <- table[index[p, q], h]
  return at::index_select(table, 0, index.reshape({-1}).to(at::kLong)).view({N, N, nH}).permute({2, 0, 1}).contiguous();
}

void checkWindowAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& table,
                          const at::Tensor& index, const c10::optional<at::Tensor>& mask) {
  const char* op = "windowAttention";
  TORCH_CHECK(q.defined() && k.defined() && v.defined() && table.defined() && index.defined(), op,
              ": expected defined tensors");
  TORCH_CHECK(q.dim() == 4, op, ": expected q of shape (B*nW, nH, N, d), but got ", shapeStr(q.sizes()));
  TORCH_CHECK(k.sizes() == q.sizes(), op, ": expected k of the shape of q ", shapeStr(q.sizes()), ", but got ",
              shapeStr(k.sizes()));
  TORCH_CHECK(v.dim() == 4 && v.size(0) == q.size(0) && v.size(1) == q.size(1) && v.size(2) == q.size(2), op,
              ": expected v of shape (", q.size(0), ", ", q.size(1), ", ", q.size(2), ", dv), but got ",
              shapeStr(v.sizes()));
  const int64_t Bw = q.size(0), nH = q.size(1), N = q.size(2);
  TORCH_CHECK(table.dim() == 2 && table.size(1) == nH && at::isFloatingType(table.scalar_type()), op,
              ": expected relativePositionBiasTable of shape ((2*Wh-1)*(2*Ww-1), nH) with nH = ", nH,
              " (floating), but got ", shapeStr(table.sizes()), " ", table.scalar_type());
  TORCH_CHECK(index.dim() == 2 && index.size(0) == N && index.size(1) == N &&
                  at::isIntegralType(index.scalar_type(), false),
              op, ": expected relativePositionIndex of shape (", N, ", ", N, ") (integer), but got ",
              shapeStr(index.sizes()), " ", index.scalar_type());
  if (index.numel() > 0) {
    const int64_t lo = index.min().item<int64_t>(), hi = index.max().item<int64_t>();
    TORCH_CHECK(lo >= 0 && hi < table.size(0), op, ": expected relativePositionIndex entries in [0, ", table.size(0),
                ") (rows of the table), but got values in [", lo, ", ", hi, "]");
  }
  if (mask && mask->defined()) {
    const at::Tensor& m = *mask;
    TORCH_CHECK(m.dim() == 3 && m.size(1) == N && m.size(2) == N && m.size(0) >= 1 && Bw % m.size(0) == 0, op,
                ": expected mask of shape (nW, ", N, ", ", N, ") with nW dividing B*nW = ", Bw, ", but got ",
                shapeStr(m.sizes()));
    TORCH_CHECK(at::isFloatingType(m.scalar_type()), op, ": expected a floating (additive) mask, but got ",
                m.scalar_type());
  }
}

at::Tensor windowAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& table,
                           const at::Tensor& index, const c10::optional<at::Tensor>& mask, double scale) {
  checkWindowAttention(q, k, v, table, index, mask);
  const int64_t Bw = q.size(0), nH = q.size(1), N = q.size(2), dv = v.size(3);
  attention::AttentionOptions o;
  o.scale = scale;
  at::Tensor bias = relativePositionBias(table, index);  // (nH, N, N)
  if (!mask || !mask->defined()) {
    // every window shares the bias: broadcast (1, nH, N, N) over B*nW
    return attention::scaledDotProductAttention(q, k, v, bias.unsqueeze(0), {}, {}, o);
  }
  // heads of all windows of an image side by side: (B, nW*nH, N, d), bias + mask (1, nW*nH, N, N)
  const int64_t nW = mask->size(0), B = Bw / nW;
  at::Tensor full = bias.unsqueeze(0).add(mask->unsqueeze(1)).reshape({1, nW * nH, N, N});
  at::Tensor out = attention::scaledDotProductAttention(q.reshape({B, nW * nH, N, q.size(3)}),
                                                        k.reshape({B, nW * nH, N, k.size(3)}),
                                                        v.reshape({B, nW * nH, N, dv}), full, {}, {}, o);
  return out.view({Bw, nH, N, dv});
}

}  // namespace swin
}  // namespace tn
