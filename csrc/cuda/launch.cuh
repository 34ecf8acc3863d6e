// Kernel launches and dynamic shared memory, written once for nvcc and for the emulated CUDA
// backend (csrc/emu, which compiles these sources as plain C++ for the CPU):
//
//   DK_LAUNCH(kernel, grid, block, smem, stream)(args...);
//       nvcc: kernel<<<grid, block, smem, stream>>>(args...)
//   DK_LAUNCH((kernel<T, 4>), grid, block, smem, stream)(args...);
//       a kernel name with commas (template arguments) goes in parentheses
//   DK_DYNAMIC_SHARED(float, tile);
//       nvcc: extern __shared__ __align__(16) float tile[]
//
// Every launch is followed by DK_CUDA_CHECK_LAUNCH() (cuda_check.h).
#pragma once

#if defined(DK_CUDA_EMU)
#include "emu/launch.h"
#else
#define DK_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#define DK_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#endif
