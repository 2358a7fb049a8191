// oneDNN's row-major sgemm, found at run time in the libraries libtorch loaded (Debian's
// libtorch links libdnnl.so.2; an official libtorch may export it from libtorch_cpu).
#pragma once
#include <cstdint>

namespace tn::linear::cpu {

/// Whether dnnl_sgemm was found (and TN_LINEAR_GEMM is not "libtorch").
bool dnnlAvailable();

/// C = alpha·op(A)·op(B) + beta·C, row-major, op = transpose when trans is 'T'.
/// Throws c10::Error if oneDNN reports a failure.
void sgemm(char transA, char transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace tn::linear::cpu
