// Fused flash-style attention on the CPU: forward and backward, float and double
// (bfloat16 arrives here converted to float by attention.cpp).
//
// Query (B x Hq x Lq x d), Key (B x Hkv x Lk x d), Value (B x Hkv x Lk x dv).
// Never materialises Lq x Lk: tiles of kBQ query rows x kBK keys, online softmax with
// per-thread accumulators, logsumexp saved for the backward, which recomputes P.
// The body (attention_kernel_body.inc) is compiled three times, for AVX-512, AVX2+FMA and
// baseline x86-64, and picked at run time, so the binary runs on any x86-64.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "kernels/attention/attention.h"

namespace tn {
namespace attention {
namespace cpu {
namespace {

constexpr int64_t kBQ = 64;   // query rows per tile (a multiple of every vector width)
constexpr int64_t kBK = 256;  // keys per tile

// Raw view of the inputs shared by every instruction-set variant.
struct Geo {
  int64_t B, Hq, Hkv, G, Lq, Lk, d, dv;
  const void *q, *k, *v;
  int64_t qsB, qsH, qsL, ksB, ksH, ksL, vsB, vsH, vsL;
  int maskKind = 0;  // 0 none, 1 bool (true = attend), 2 additive of the compute dtype
  const void* mask = nullptr;
  int64_t msB = 0, msH = 0, msI = 0, msJ = 0;
  const int64_t* lengths = nullptr;
  const double* slopes = nullptr;
  int64_t ssB = 0, ssH = 0;
  // The mask gradient's accumulator: strides per partial (0 when there is one), batch, head
  // and query row (0 where the mask broadcasts); unit stride over keys.
  int64_t dmT = 0, dmB = 0, dmH = 0, dmI = 0;
  AttentionParams p;
};

}  // namespace

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma,bmi,bmi2,f16c")
namespace isa_avx512 {
constexpr int kVecBytes = 64;
#include "kernels/attention/cpu/attention_kernel_body.inc"
}  // namespace isa_avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,bmi,bmi2,f16c")
namespace isa_avx2 {
constexpr int kVecBytes = 32;
#include "kernels/attention/cpu/attention_kernel_body.inc"
}  // namespace isa_avx2
#pragma GCC pop_options
#endif

namespace isa_base {
constexpr int kVecBytes = 16;
#include "kernels/attention/cpu/attention_kernel_body.inc"
}  // namespace isa_base

namespace {

// 2 = AVX-512, 1 = AVX2+FMA, 0 = baseline. TN_ATTENTION_ISA=avx2|base caps it (tests).
int isaLevel() {
  static const int level = [] {
    int lv = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) lv = 1;
    if (lv == 1 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
      lv = 2;
#endif
    if (const char* cap = std::getenv("TN_ATTENTION_ISA")) {
      std::string s(cap);
      if (s == "base") lv = 0;
      if (s == "avx2" && lv > 1) lv = 1;
    }
    return lv;
  }();
  return level;
}

Geo makeGeo(const KernelInputs& in, const AttentionParams& p) {
  Geo g;
  const auto& q = in.q;
  g.B = q.size(0); g.Hq = q.size(1); g.Lq = q.size(2); g.d = q.size(3);
  g.Hkv = in.k.size(1); g.G = g.Hq / g.Hkv; g.Lk = in.k.size(2); g.dv = in.v.size(3);
  g.q = q.data_ptr(); g.k = in.k.data_ptr(); g.v = in.v.data_ptr();
  g.qsB = q.stride(0); g.qsH = q.stride(1); g.qsL = q.stride(2);
  g.ksB = in.k.stride(0); g.ksH = in.k.stride(1); g.ksL = in.k.stride(2);
  g.vsB = in.v.stride(0); g.vsH = in.v.stride(1); g.vsL = in.v.stride(2);
  if (in.mask.defined()) {
    g.maskKind = in.mask.scalar_type() == at::kBool ? 1 : 2;
    g.mask = in.mask.data_ptr();
    g.msB = in.mask.stride(0); g.msH = in.mask.stride(1); g.msI = in.mask.stride(2); g.msJ = in.mask.stride(3);
  }
  if (in.lengths.defined()) g.lengths = in.lengths.data_ptr<int64_t>();
  if (in.slopes.defined()) {
    g.slopes = in.slopes.data_ptr<double>();
    g.ssB = in.slopes.stride(0); g.ssH = in.slopes.stride(1);
  }
  g.p = p;
  return g;
}

}  // namespace

void attentionForwardKernel(const KernelInputs& in, const AttentionParams& p, at::Tensor& out, at::Tensor& lse) {
  const Geo g = makeGeo(in, p);
  const bool isDouble = in.q.scalar_type() == at::kDouble;
  if (g.B * g.Hq * g.Lq == 0 || g.dv == 0) return;
  switch (isaLevel()) {
#if defined(__x86_64__) && defined(__GNUC__)
    case 2: isa_avx512::forwardEntry(g, out.data_ptr(), lse.data_ptr(), isDouble); break;
    case 1: isa_avx2::forwardEntry(g, out.data_ptr(), lse.data_ptr(), isDouble); break;
#endif
    default: isa_base::forwardEntry(g, out.data_ptr(), lse.data_ptr(), isDouble); break;
  }
}

void attentionBackwardKernel(const KernelInputs& in, const AttentionParams& p, const at::Tensor& gradOut,
                             const at::Tensor& out, const at::Tensor& lse, at::Tensor& dq, at::Tensor& dk,
                             at::Tensor& dv, at::Tensor& dmaskAcc) {
  Geo g = makeGeo(in, p);
  if (dmaskAcc.defined()) {
    auto st = [&](int dim) { return dmaskAcc.size(dim) == 1 ? int64_t{0} : dmaskAcc.stride(dim); };
    g.dmT = st(0); g.dmB = st(1); g.dmH = st(2); g.dmI = st(3);
  }
  const bool isDouble = in.q.scalar_type() == at::kDouble;
  dk.zero_();
  dv.zero_();
  if (g.B * g.Hq * g.Lq == 0 || g.Lk == 0) {
    dq.zero_();
    return;
  }
  // D = rowsum(dO * O)
  const at::Tensor Drow = gradOut.mul(out).sum({-1}).contiguous();
  // Split each kv head's blocks over threads when there are fewer kv heads than threads.
  const int64_t nKb = (g.Lk + kBK - 1) / kBK;
  const int64_t threads = at::get_num_threads();
  int64_t chunks = 1;
  if (g.B * g.Hkv < threads) chunks = std::min<int64_t>(nKb, (threads + g.B * g.Hkv - 1) / (g.B * g.Hkv));
  at::Tensor dqAcc = chunks == 1 ? dq : at::empty({chunks, g.B, g.Hq, g.Lq, g.d}, dq.options());
  void* dm = dmaskAcc.defined() ? dmaskAcc.data_ptr() : nullptr;
  switch (isaLevel()) {
#if defined(__x86_64__) && defined(__GNUC__)
    case 2:
      isa_avx512::backwardEntry(g, gradOut.data_ptr(), Drow.data_ptr(), lse.data_ptr(), dqAcc.data_ptr(), chunks,
                                dk.data_ptr(), dv.data_ptr(), dm, isDouble);
      break;
    case 1:
      isa_avx2::backwardEntry(g, gradOut.data_ptr(), Drow.data_ptr(), lse.data_ptr(), dqAcc.data_ptr(), chunks,
                              dk.data_ptr(), dv.data_ptr(), dm, isDouble);
      break;
#endif
    default:
      isa_base::backwardEntry(g, gradOut.data_ptr(), Drow.data_ptr(), lse.data_ptr(), dqAcc.data_ptr(), chunks,
                              dk.data_ptr(), dv.data_ptr(), dm, isDouble);
      break;
  }
  if (chunks > 1) dq.copy_(dqAcc.sum(0));
}

}  // namespace cpu
}  // namespace attention
}  // namespace tn
