#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/window2d.h"

namespace dk::cuda {

// Same contracts as dk::cpu::conv2d_* (csrc/cpu/conv.h), on `stream`. Only the weight
// gradient needs scratch: conv2d_workspace_size elements (0 for the other passes), all in one
// slot (there is no per-thread split); the other passes take the workspace arguments of the CPU
// signatures and leave them unused.
// Index arithmetic is 32-bit: every tensor must have fewer than 2^31 - 128 elements (checked).
int64_t conv2d_workspace_size(const Conv2dGeom& g, ConvPass pass);
inline int64_t conv2d_workspace_slot(const Conv2dGeom& g, ConvPass pass) { return conv2d_workspace_size(g, pass); }

template <typename T>
void conv2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws, int64_t ws_size,
                    cudaStream_t stream);
template <typename T>
void conv2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size,
                          cudaStream_t stream);
template <typename T>
void conv2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws, int64_t ws_size,
                            cudaStream_t stream);

// Transposed convolution: same contracts as dk::cpu::conv_transpose2d_* (conv2d's adjoint over
// g, on the conv2d kernels), on `stream`. The workspace arguments keep the CPU signatures; only
// the weight gradient uses its workspace.
int64_t conv_transpose2d_workspace_size(const Conv2dGeom& g, ConvPass pass);
template <typename T>
void conv_transpose2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws,
                              int64_t ws_size, cudaStream_t stream);
template <typename T>
void conv_transpose2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size,
                                    cudaStream_t stream);
template <typename T>
void conv_transpose2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws,
                                      int64_t ws_size, cudaStream_t stream);

}  // namespace dk::cuda
