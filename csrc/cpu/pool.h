#pragma once
#include <cstdint>

#include "core/window2d.h"

namespace dk::cpu {

// Pool2dGeom (core/window2d.h) carries the windows: kernel, stride, padding, dilation (max
// pooling), ceil_mode and the average's divisor_override.
// Max pooling over planes (N*C, H, W) -> (N*C, P, Q). When idx is not null it receives, per
// output, the argmax as a flat index h*W + w into its input plane (PyTorch's convention:
// first maximum in window order wins, a NaN always wins; -1 for a dilated window with no tap
// in the image).
template <typename T>
void max_pool2d_forward(const Pool2dGeom& g, const T* x, T* y, int64_t* idx);
// gx (planes, H, W) = scatter-add of gy (planes, P, Q) to the saved argmax positions.
// Every idx value must be in [-1, H*W) (the entry point checks); -1 contributes nothing.
template <typename T>
void max_pool2d_backward(const Pool2dGeom& g, const T* gy, const int64_t* idx, T* gx);

// Average pooling; divides by g.avg_divisor: the override, the window clipped to the padded
// input (count_include_pad), or its in-image part.
template <typename T>
void avg_pool2d_forward(const Pool2dGeom& g, bool count_include_pad, const T* x, T* y);
template <typename T>
void avg_pool2d_backward(const Pool2dGeom& g, bool count_include_pad, const T* gy, T* gx);

// Adaptive average pooling (planes, H, W) -> (planes, P, Q): output row p averages input rows
// [floor(p*H/P), ceil((p+1)*H/P)), likewise for columns (PyTorch's windows). H, W >= 1.
template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x, T* y);
template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* gy, T* gx);

}  // namespace dk::cpu
