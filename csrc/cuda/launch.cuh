// Kernel launches and shared memory, written once for nvcc and for the emulated CUDA backend
// (csrc/emu, which compiles these sources as plain C++ for the CPU; see docs/cuda_emu.md):
//
//   DK_LAUNCH(kernel, grid, block, smem, stream)(args...);
//       nvcc: kernel<<<grid, block, smem, stream>>>(args...)
//   DK_LAUNCH((kernel<T, 4>), grid, block, smem, stream)(args...);
//       a kernel name with commas (template arguments) goes in parentheses
//   DK_SHARED(float, tile, [32][33]);
//       nvcc: __shared__ __align__(16) float tile[32][33]
//   DK_DYNAMIC_SHARED(float, tile);
//       nvcc: extern __shared__ __align__(16) float tile[]
//
// Why not plain `__shared__`: blocks of a grid run concurrently in the emulator, each with its
// own shared memory, so a static shared array must become a per-block allocation there; no
// prefix macro can turn the declaration `float tile[32][33]` into that, a macro that sees the
// name and the dimensions apart can. The emulator refuses a raw `__shared__` at compile time.
//
// Every launch is followed by DK_CUDA_CHECK_LAUNCH() (cuda_check.h).
#pragma once

#if defined(DK_CUDA_EMU)
#include "emu/launch.h"
#else
#define DK_LAUNCH(kernel, grid, block, smem, stream) kernel<<<grid, block, smem, stream>>>
#define DK_SHARED(type, name, ...) __shared__ __align__(16) type name __VA_ARGS__
#define DK_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#endif
