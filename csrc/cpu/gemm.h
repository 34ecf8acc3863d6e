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

// Pre-packed operands, for kernels that lay an operand out once and multiply it many times
// (the Winograd convolution). The panel widths are those of the active micro-kernels:
//   A (M, K): ceil(M / mr) panels of mr rows, panel i at a + i*mr*K holding a[k*mr + r] =
//             A[i*mr + r, k] (rows past M zero) — gemm_pack_a writes it;
//   B (K, N): ceil(N / nr) panels of nr columns, panel j at b + j*nr*K holding b[k*nr + c] =
//             B[k, j*nr + c] (columns past N zero), 64-byte aligned — the caller writes it.
struct GemmPanels {
  int mr, nr;
};
template <typename T>
GemmPanels gemm_panels();
template <typename T>
void gemm_pack_a(int64_t M, int64_t K, const T* A, int64_t lda, T* a_packed);
// C (M, N) = A @ B (beta 0) from packed operands, on the calling thread (K >= 1).
template <typename T>
void gemm_prepacked(int64_t M, int64_t N, int64_t K, const T* a_packed, const T* b_packed, T* C, int64_t ldc);

// op(B) (K, N) packed once into the B panels above, for many products with different A: an
// RNN's recurrent weights over a sequence (repacking W_hh at every step cost more than the
// step's other work). The panels live in a per-thread buffer of the constructing thread, so a
// thread holds one PackedB at a time; multiply() may be called from any thread meanwhile.
template <typename T>
class PackedB {
 public:
  PackedB(bool trans_b, int64_t K, int64_t N, const T* B, int64_t ldb);
  ~PackedB();
  PackedB(const PackedB&) = delete;
  PackedB& operator=(const PackedB&) = delete;
  // C (M, N) = A (M, K; row stride lda) @ op(B) + beta * C (beta 0 does not read C). Splits the
  // columns over the threads unless called inside a parallel region.
  void multiply(int64_t M, const T* A, int64_t lda, T beta, T* C, int64_t ldc) const;

 private:
  int64_t K_, N_;
  T* panels_;
};

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
