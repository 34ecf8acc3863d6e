#pragma once
#include <cstdint>

#include "core/window2d.h"

namespace dk::cpu {

// Scratch elements (of the data type) that `pass` needs for geometry g: one slot per thread
// (deepkern.get_num_threads() at the time of the query); a kernel given fewer slots uses
// fewer threads. At least one slot is required.
int64_t conv2d_workspace_size(const Conv2dGeom& g, ConvPass pass);
int64_t conv2d_workspace_slot(const Conv2dGeom& g, ConvPass pass);  // elements per thread

// y (N, K, P, Q) = conv(x (N, C, H, W), w (K, C/groups, R, S)) + b (K,) or no bias (b null).
template <typename T>
void conv2d_forward(const Conv2dGeom& g, const T* x, const T* w, const T* b, T* y, T* ws, int64_t ws_size);

// gx (N, C, H, W) = d(loss)/dx from gy (N, K, P, Q).
template <typename T>
void conv2d_backward_data(const Conv2dGeom& g, const T* gy, const T* w, T* gx, T* ws, int64_t ws_size);

// gw (K, C/groups, R, S) and, when gb is not null, gb (K,) from gy and the forward input x.
template <typename T>
void conv2d_backward_weight(const Conv2dGeom& g, const T* gy, const T* x, T* gw, T* gb, T* ws, int64_t ws_size);

}  // namespace dk::cpu
