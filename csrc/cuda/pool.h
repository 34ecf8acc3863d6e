#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/window2d.h"

namespace dk::cuda {

// Same contracts as dk::cpu pooling (csrc/cpu/pool.h), on `stream`.
template <typename T>
void max_pool2d_forward(const Pool2dGeom& g, const T* x, T* y, int64_t* idx, cudaStream_t stream);
template <typename T>
void max_pool2d_backward(const Pool2dGeom& g, const T* gy, const int64_t* idx, T* gx, cudaStream_t stream);
template <typename T>
void avg_pool2d_forward(const Pool2dGeom& g, bool count_include_pad, const T* x, T* y, cudaStream_t stream);
template <typename T>
void avg_pool2d_backward(const Pool2dGeom& g, bool count_include_pad, const T* gy, T* gx, cudaStream_t stream);
template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x, T* y,
                                 cudaStream_t stream);
template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* gy, T* gx,
                                  cudaStream_t stream);

}  // namespace dk::cuda
