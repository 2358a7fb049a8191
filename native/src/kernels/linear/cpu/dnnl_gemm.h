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

/// C (M, N) = A (M, K) · B (N, K)ᵀ + bias (N) broadcast over rows; all contiguous. The product
/// runs in blocks of rows and each block gets its bias while it is still in cache: prefilling
/// C with the bias for beta = 1 (what addmm does) cost 6.6 ms of a 17 ms stage-1 Swin layer
/// (25088 x 96 -> 384), a second pass over C after the product about as much.
void sgemmAddBias(int64_t M, int64_t N, int64_t K, const float* A, const float* B, const float* bias, float* C);

}  // namespace tn::linear::cpu
