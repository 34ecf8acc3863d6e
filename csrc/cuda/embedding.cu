// Embedding on the GPU: forward gather, backward scatter-add with atomicAdd.
//
// Layouts as the CPU version: weight / grad_weight (V, D), ids (n,) int64, out / grad_out (n, D).
// Forward: one thread per output element (grid-stride), so a warp reads 32 consecutive
// columns of one weight row (coalesced) and writes 32 consecutive outputs.
// Backward: grad_weight is zeroed with cudaMemsetAsync, then one thread per grad_out element
// atomically adds it into row ids[i]. Why atomics and not a sort: the work is O(n * D) with
// no extra launches or workspace, fully parallel and coalesced, and contention only arises
// when many ids in a batch are equal (their adds to one address serialize in L2). A
// deterministic alternative (radix-sort the ids, then one warp per run of equal ids) needs a
// workspace and three more launches; it pays off only for heavily repeated ids. Double
// atomicAdd is native from sm_60, below the oldest architecture we build (sm_80).
#include "cuda/cuda_check.h"
#include "cuda/embedding.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

template <typename T>
__global__ void forward_kernel(const T* __restrict__ weight, const int64_t* __restrict__ ids, T* __restrict__ out,
                               int64_t total, int64_t V, int64_t D) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = k / D, j = k - i * D;
    const int64_t v = ids[i];
    out[k] = (v >= 0 && v < V) ? weight[v * D + j] : T(0);
  }
}

template <typename T>
__global__ void backward_kernel(const T* __restrict__ grad_out, const int64_t* __restrict__ ids,
                                T* __restrict__ grad_weight, int64_t total, int64_t V, int64_t D,
                                int64_t padding_idx) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = k / D, j = k - i * D;
    const int64_t v = ids[i];
    if (v >= 0 && v < V && v != padding_idx) atomicAdd(grad_weight + v * D + j, grad_out[k]);
  }
}

constexpr unsigned kBlock = 256;

}  // namespace

template <typename T>
void embedding_forward(const T* weight, const int64_t* ids, T* out, int64_t n, int64_t V, int64_t D,
                       cudaStream_t stream) {
  const int64_t total = n * D;
  if (total == 0) return;
  DK_LAUNCH(forward_kernel<T>, grid_for(total, kBlock), kBlock, 0, stream)(weight, ids, out, total, V, D);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void embedding_backward(const T* grad_out, const int64_t* ids, T* grad_weight, int64_t n, int64_t V, int64_t D,
                        int64_t padding_idx, cudaStream_t stream) {
  if (V * D == 0) return;
  DK_CUDA_CHECK(cudaMemsetAsync(grad_weight, 0, sizeof(T) * V * D, stream));
  const int64_t total = n * D;
  if (total == 0) return;
  DK_LAUNCH(backward_kernel<T>, grid_for(total, kBlock), kBlock, 0, stream)(grad_out, ids, grad_weight, total, V, D,
                                                                            padding_idx);
  DK_CUDA_CHECK_LAUNCH();
}

template void embedding_forward<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t, cudaStream_t);
template void embedding_forward<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t,
                                        cudaStream_t);
template void embedding_backward<float>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t, int64_t,
                                        cudaStream_t);
template void embedding_backward<double>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t, int64_t,
                                         cudaStream_t);

}  // namespace dk::cuda
