#pragma once
#include <cstdint>

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

// Name of the micro-kernel gemm<float> uses on this CPU (for deepkern.info()).
const char* gemm_kernel_name();

}  // namespace dk::cpu
