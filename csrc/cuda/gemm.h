#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace dk::cuda {

// C = alpha * op(A) @ op(B) + beta * C on `stream`, all row-major device pointers.
// op(A) is (M, K): A is (M, K) with row stride lda, or (K, M) when trans_a.
// op(B) is (K, N): B is (K, N) with row stride ldb, or (N, K) when trans_b.
// C is (M, N) with row stride ldc. beta == 0 overwrites C without reading it.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, cudaStream_t stream);

// `batch` GEMMs as above (matrix i at A + i*stride_a, ...; a stride of 0 broadcasts one
// matrix), plus bias[j] (N entries, or null) added to every row of every C.
template <typename T>
void gemm_batched(int64_t batch, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                  int64_t lda, int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b, T beta, const T* bias,
                  T* C, int64_t ldc, int64_t stride_c, cudaStream_t stream);

// out[j] = sum over i < M of X[i * ldx + j], j < N (the bias gradient of a linear layer).
template <typename T>
void column_sum(int64_t M, int64_t N, const T* X, int64_t ldx, T* out, cudaStream_t stream);

}  // namespace dk::cuda
