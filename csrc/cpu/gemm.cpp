// GEMM, first version: a correct row-parallel loop nest. To be replaced by the packed,
// register-blocked kernel; the interface in gemm.h stays.
#include "cpu/gemm.h"

#include <vector>

#include "core/parallel.h"

namespace dk::cpu {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  parallel_for(0, M, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, N * K)), [&](int64_t lo, int64_t hi) {
    std::vector<T> acc(N);
    for (int64_t i = lo; i < hi; ++i) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < K; ++k) {
        const T a = trans_a ? A[k * lda + i] : A[i * lda + k];
        if (trans_b) {
          for (int64_t j = 0; j < N; ++j) acc[j] += a * B[j * ldb + k];
        } else {
          const T* b = B + k * ldb;
          for (int64_t j = 0; j < N; ++j) acc[j] += a * b[j];
        }
      }
      T* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) c[j] = alpha * acc[j] + (beta == T(0) ? T(0) : beta * c[j]);
    }
  });
}

const char* gemm_kernel_name() { return "portable-loop"; }

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);

}  // namespace dk::cpu
