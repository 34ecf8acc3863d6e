// CUDA error handling for launchers: throw (never exit) so Python gets a RuntimeError.
#pragma once
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

#define DK_CUDA_CHECK(expr)                                                                    \
  do {                                                                                         \
    cudaError_t dk_err_ = (expr);                                                              \
    if (dk_err_ != cudaSuccess)                                                                \
      throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(dk_err_) +     \
                               " (" #expr ", " __FILE__ ":" + std::to_string(__LINE__) + ")"); \
  } while (0)

// After every launch: a bad configuration shows up here, not at some later sync.
#define DK_CUDA_CHECK_LAUNCH() DK_CUDA_CHECK(cudaGetLastError())

namespace dk::cuda {
inline unsigned grid_for(long long n, unsigned block, unsigned max_blocks = 65535u * 8u) {
  long long g = (n + block - 1) / block;
  if (g < 1) g = 1;
  return static_cast<unsigned>(g < max_blocks ? g : max_blocks);
}
}  // namespace dk::cuda
