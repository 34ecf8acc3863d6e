#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace dk::cpu {

// C = alpha * op(A) @ op(B) + beta * C, all row-major.
// op(A) is (M, K): A is (M, K) with row stride lda, or (K, M) when trans_a.
// op(B) is (K, N): B is (K, N) with row stride ldb, or (N, K) when trans_b.
// C is (M, N) with row stride ldc. beta == 0 overwrites C (NaNs in C do not propagate).
// Multithreaded (deepkern.set_num_threads); single-threaded when called inside a parallel
// region, so op families may call it per image / per timestep from their own loops.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// `batch` GEMMs as above, matrix i at A + i*stride_a, B + i*stride_b, C + i*stride_c
// (a stride of 0 broadcasts one matrix over the batch), plus bias[j] added to every row
// of every C when bias (N entries) is not null: C = alpha * op(A) @ op(B) + beta * C + bias.
template <typename T>
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, const T* bias,
                  T* C, int64_t ldc, int64_t stride_c);

// out[j] = sum over i < M of X[i * ldx + j], j < N (the bias gradient of a linear layer).
template <typename T>
void column_sum(int64_t M, int64_t N, const T* X, int64_t ldx, T* out);

// Name of the micro-kernel gemm<float> (gemm<double>) uses on this CPU (for deepkern.info()).
const char* gemm_kernel_name();
const char* gemm_kernel_name_f64();

// Use the micro-kernels of `isa` (at most the CPU's best) instead of the best one: for
// tests and benchmarks of every kernel family on one machine. reset_gemm_isa undoes it.
void set_gemm_isa(Isa isa);
void reset_gemm_isa();

}  // namespace dk::cpu
