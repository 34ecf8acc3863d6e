#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace dk::cuda {

// The distance kernels of csrc/cpu/distance.h on `stream` (same arguments, device pointers,
// same formulas and near-pair rule); see there for the shapes and the contents of `work`.

template <typename T>
void cdist_euclidean_forward(const T* x1, const T* x2, T* out, T* work, int64_t B, int64_t P, int64_t R, int64_t M,
                             bool squared, cudaStream_t stream);

template <typename T>
void cdist_euclidean_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, T* work, int64_t B,
                              int64_t P, int64_t R, int64_t M, bool squared, cudaStream_t stream);

template <typename T>
void cdist_lp_forward(const T* x1, const T* x2, T* out, int64_t B, int64_t P, int64_t R, int64_t M, double p,
                      cudaStream_t stream);

template <typename T>
void cdist_lp_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, T* gx2, int64_t B, int64_t P,
                       int64_t R, int64_t M, double p, cudaStream_t stream);

template <typename T>
void pairwise_distance_forward(const T* x1, const T* x2, T* out, int64_t N, int64_t M, double p, double eps,
                               cudaStream_t stream);

template <typename T>
void pairwise_distance_backward(const T* g, const T* x1, const T* x2, const T* dist, T* gx1, int64_t N, int64_t M,
                                double p, double eps, cudaStream_t stream);

}  // namespace dk::cuda
