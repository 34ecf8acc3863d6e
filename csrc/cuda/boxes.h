#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace dk::cuda {

// Same contract as dk::cpu::box_iou, on `stream`.
template <typename T>
void box_iou(const T* a, int64_t n, const T* b, int64_t m, T* out, cudaStream_t stream);

// Bytes of device scratch nms<T> needs for n boxes (sort buffers, sorted boxes, the
// (n × ⌈n/64⌉) overlap bit mask, CUB's temporary storage).
template <typename T>
size_t nms_workspace_size(int64_t n);

// Same contract as dk::cpu::nms, on `stream`, except that the count of kept indices is
// written to the device scalar *count (keep[0..*count) are the kept indices). workspace has
// nms_workspace_size<T>(n) bytes. classes may be nullptr (plain nms).
template <typename T>
void nms(const T* boxes, const T* scores, const int64_t* classes, int64_t n, double iou_threshold,
         double score_threshold, int64_t* keep, int64_t* count, void* workspace, size_t workspace_bytes,
         cudaStream_t stream);

}  // namespace dk::cuda
