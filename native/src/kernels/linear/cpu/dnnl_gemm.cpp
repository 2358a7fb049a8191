// Looks dnnl_sgemm up once: in libdnnl if it is loaded, else in libtorch_cpu's own exports.
#include "kernels/linear/cpu/dnnl_gemm.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tn::linear::cpu {
namespace {

// dnnl_status_t dnnl_sgemm(char, char, dnnl_dim_t M, N, K, float alpha, const float* A,
//                          dnnl_dim_t lda, const float* B, dnnl_dim_t ldb, float beta,
//                          float* C, dnnl_dim_t ldc)  -- oneDNN's C API, stable since 1.0.
using Sgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                      float, float*, int64_t);

Sgemm find() {
  if (const char* e = std::getenv("TN_LINEAR_GEMM")) {
    if (std::strcmp(e, "libtorch") == 0) return nullptr;
  }
  for (const char* lib : {"libdnnl.so.2", "libdnnl.so.3", "libdnnl.so", "libtorch_cpu.so"}) {
    void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    if (h == nullptr) continue;
    if (void* f = dlsym(h, "dnnl_sgemm")) return reinterpret_cast<Sgemm>(f);
  }
  return nullptr;
}

Sgemm fn() {
  static const Sgemm f = find();
  return f;
}

}  // namespace

bool dnnlAvailable() { return fn() != nullptr; }

void sgemm(char transA, char transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const int status = fn()(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  TORCH_CHECK(status == 0, "linear: oneDNN sgemm failed with status ", status, " (M ", M, ", N ", N, ", K ", K, ")");
}

void sgemmAddBias(int64_t M, int64_t N, int64_t K, const float* A, const float* B, const float* bias, float* C) {
  // About 1 MiB of C per block (L2 holds it), at least 64 rows so the product stays efficient,
  // and at least one block per thread. With several threads the blocks are spread over them
  // (this file is compiled with OpenMP) and each block's product runs on its thread alone:
  // oneDNN splitting every small block over the threads itself was 2x slower than one thread.
  const int64_t nthr = at::get_num_threads();
  int64_t rows = std::max<int64_t>(64, (int64_t{1} << 18) / std::max<int64_t>(N, 1));
  if (nthr > 1) rows = std::min(rows, std::max<int64_t>(16, (M + nthr - 1) / nthr));
  const int64_t blocks = (M + rows - 1) / rows;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t r0 = blk * rows, mb = std::min(rows, M - r0);
      float* c = C + r0 * N;
      sgemm('N', 'T', mb, N, K, 1.f, A + r0 * K, K, B, K, 0.f, c, N);
      for (int64_t i = 0; i < mb; ++i) {
        float* row = c + i * N;
#pragma omp simd
        for (int64_t j = 0; j < N; ++j) row[j] += bias[j];
      }
    }
  });
}

}  // namespace tn::linear::cpu
