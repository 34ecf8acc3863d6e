#pragma once
#include <cstdint>

#include "core/window2d.h"

namespace dk::cpu {

// Scratch elements (of the data type) that `pass` needs for geometry g with
// deepkern.get_num_threads() threads (at the time of the query): one slot per thread, plus the
// transformed filters when the pass runs by Winograd. A kernel given less uses fewer threads;
// conv2d_workspace_slot (what one thread needs) is required.
int64_t conv2d_workspace_size(const Conv2dGeom& g, ConvPass pass);
int64_t conv2d_workspace_slot(const Conv2dGeom& g, ConvPass pass);

// Algorithm for 3x3 stride-1 convolutions (forward and data gradient): -1 automatic, 0 im2col
// + GEMM, 1 Winograd F(2x2, 3x3) wherever it applies (any size): for tests and benchmarks.
void set_conv_algorithm(int algorithm);

// y (N, K, P, Q) = conv(x (N, C, H, W), w (K, C/groups, R, S)) + b (K,) or no bias (b null).
template <typename T>
void conv2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws, int64_t ws_size);

// gx (N, C, H, W) = d(loss)/dx from gy (N, K, P, Q).
template <typename T>
void conv2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size);

// gw (K, C/groups, R, S) and, when gb is not null, gb (K,) from gy and the forward input x.
template <typename T>
void conv2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws, int64_t ws_size);

// Transposed convolution (PyTorch's conv_transpose2d) is conv2d's adjoint over the same geometry g,
// so it runs on the conv2d kernels above with the roles of the tensors swapped. g describes the
// conv2d that the transposed convolution undoes: its input x (N, K, P, Q) is shaped like a conv2d
// output, its output y (N, C, H, W) like a conv2d input, and its weight (K, C/groups, R, S) is
// conv2d's (= PyTorch's transposed layout (C_in, C_out/groups, kH, kW)). output_padding lives in
// g as an H (W) larger than P (Q) needs; the kernels only ever visit the P x Q positions.
//   forward          y  = conv2d_backward_data(x) + b (C,) per channel (b may be null)
//   backward_data    gx = conv2d_forward(gy), no bias
//   backward_weight  gw = conv2d_backward_weight(grad_out = x, input = gy); gb (C,) sums gy (or null)
// Each pass needs the workspace of the conv2d pass it runs (conv_transpose2d_workspace_size).
int64_t conv_transpose2d_workspace_size(const Conv2dGeom& g, ConvPass pass);

template <typename T>
void conv_transpose2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws,
                              int64_t ws_size);
template <typename T>
void conv_transpose2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size);
template <typename T>
void conv_transpose2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws,
                                      int64_t ws_size);

}  // namespace dk::cpu
