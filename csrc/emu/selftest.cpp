// Kernels that exercise the emulator itself, for tests/cuda/test_emulator.py: what a correct
// kernel may do (partial-mask warp groups, per-block shared memory, counting barriers) and what
// the emulator must report as an error (barrier divergence, bad masks, deadlock, bad launch
// configurations). Part of the emulated module only; run through _cuda.emu_selftest(name).
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <cub/device/device_radix_sort.cuh>

#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "emu/selftest.h"

namespace dk::emu {
namespace {

// Lanes 0-15 reduce with mask 0x0000ffff while lanes 16-31 reduce with 0xffff0000: two
// groups of one warp at once. out[lane] = sum of its half's lane ids; ballot of odd lanes.
__global__ void partial_groups_kernel(double* out) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned mask = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  double v = lane;
  for (int offset = 8; offset > 0; offset /= 2) v += __shfl_xor_sync(mask, v, offset);
  const unsigned odd = __ballot_sync(mask, lane % 2 == 1);
  out[lane] = v;
  out[32 + lane] = double(odd);
}

__global__ void barrier_divergence_kernel(float* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1.0f;
}

// Every lane calls, but the mask names lanes 0-15 only.
__global__ void lane_not_in_mask_kernel(float* out) {
  out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, float(threadIdx.x), 1);
}

// Lanes 0-15 read lane 20, which is not in their mask.
__global__ void read_outside_mask_kernel(float* out) {
  if (threadIdx.x < 16) out[threadIdx.x] = __shfl_sync(0x0000ffffu, float(threadIdx.x), 20);
}

// Lane 5 returns while the others wait for it in a full-warp shuffle.
__global__ void lane_exits_kernel(float* out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, float(threadIdx.x), 1);
}

// Warp 0 waits in a full-warp shuffle that lanes 16-31 never reach: they wait at the barrier.
__global__ void deadlock_kernel(float* out) {
  float v = float(threadIdx.x);
  if (threadIdx.x < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
  __syncthreads();
  out[threadIdx.x] = v;
}

__global__ void empty_kernel(float* out) {
  if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = 1.0f;
}

// Reads shared memory before any write: the emulator fills it with 0xFF bytes (NaN).
__global__ void shared_poison_kernel(float* out) {
  DK_SHARED(float, tile, [64]);
  DK_DYNAMIC_SHARED(float, dyn);
  out[threadIdx.x] = tile[threadIdx.x];
  out[64 + threadIdx.x] = dyn[threadIdx.x];
}

// Each block fills its shared memory with its own index, waits, and counts entries that are
// not its own: another block's writes would show here if blocks shared storage.
__global__ void per_block_shared_kernel(int* mismatches, int rounds) {
  DK_SHARED(int, mine, [128]);
  DK_DYNAMIC_SHARED(int, dyn);
  for (int r = 0; r < rounds; ++r) {
    mine[threadIdx.x] = int(blockIdx.x);
    dyn[threadIdx.x] = int(blockIdx.x);
    __syncthreads();
    int bad = 0;
    for (int i = 0; i < int(blockDim.x); ++i) bad += (mine[i] != int(blockIdx.x)) + (dyn[i] != int(blockIdx.x));
    __syncthreads();
    if (bad) atomicAdd(mismatches, bad);
  }
}

__global__ void syncthreads_count_kernel(int* out) {
  const int n = __syncthreads_count(threadIdx.x % 3 == 0);
  const bool all = __syncthreads_and(threadIdx.x < 1000);
  const bool any = __syncthreads_or(threadIdx.x == 7);
  if (threadIdx.x == 0) {
    out[0] = n;
    out[1] = all;
    out[2] = any;
  }
}

// Threads of warp 1 return at once; warp 0 still synchronizes twice.
__global__ void early_exit_kernel(int* out) {
  if (threadIdx.x >= 32) return;
  out[threadIdx.x] = 1;
  __syncthreads();
  out[threadIdx.x] += __shfl_xor_sync(0xffffffffu, out[threadIdx.x ^ 1], 1);
  __syncthreads();
}

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }
std::vector<double> to_double(const std::vector<int>& v) { return std::vector<double>(v.begin(), v.end()); }

std::vector<double> run_partial_groups() {
  std::vector<double> out(64, -1.0);
  DK_LAUNCH(partial_groups_kernel, 1, 32, 0, nullptr)(out.data());
  DK_CUDA_CHECK_LAUNCH();
  return out;
}

std::vector<double> run_faulty(const std::string& name) {
  std::vector<float> out(64, 0.0f);
  if (name == "barrier_divergence") {
    DK_LAUNCH(barrier_divergence_kernel, 1, 64, 0, nullptr)(out.data());
  } else if (name == "lane_not_in_mask") {
    DK_LAUNCH(lane_not_in_mask_kernel, 1, 32, 0, nullptr)(out.data());
  } else if (name == "read_outside_mask") {
    DK_LAUNCH(read_outside_mask_kernel, 1, 32, 0, nullptr)(out.data());
  } else if (name == "lane_exits") {
    DK_LAUNCH(lane_exits_kernel, 1, 32, 0, nullptr)(out.data());
  } else if (name == "deadlock") {
    DK_LAUNCH(deadlock_kernel, 1, 64, 0, nullptr)(out.data());
  } else if (name == "block_too_large") {
    DK_LAUNCH(empty_kernel, 1, 2048, 0, nullptr)(out.data());
  } else if (name == "grid_y_too_large") {
    DK_LAUNCH(empty_kernel, dim3(1, 70000), 32, 0, nullptr)(out.data());
  } else if (name == "dynamic_shared_too_large") {
    DK_LAUNCH(shared_poison_kernel, 1, 64, 64 * 1024, nullptr)(out.data());
  } else {
    throw std::invalid_argument("emu_selftest: unknown scenario '" + name + "'");
  }
  DK_CUDA_CHECK_LAUNCH();
  return to_double(out);
}

std::vector<double> run_shared_poison(bool opt_in) {
  std::vector<float> out(128, 0.0f);
  size_t dynamic = 64 * sizeof(float);
  if (opt_in) {
    dynamic = 64 * 1024;
    DK_CUDA_CHECK(cudaFuncSetAttribute(shared_poison_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(dynamic)));
  }
  DK_LAUNCH(shared_poison_kernel, 1, 64, dynamic, nullptr)(out.data());
  DK_CUDA_CHECK_LAUNCH();
  return to_double(out);
}

std::vector<double> run_per_block_shared() {
  std::vector<int> mismatches(1, 0);
  DK_LAUNCH(per_block_shared_kernel, 16, 128, 128 * sizeof(int), nullptr)(mismatches.data(), 4);
  DK_CUDA_CHECK_LAUNCH();
  return to_double(mismatches);
}

std::vector<double> run_syncthreads_count() {
  std::vector<int> out(3, -1);
  DK_LAUNCH(syncthreads_count_kernel, 1, 100, 0, nullptr)(out.data());
  DK_CUDA_CHECK_LAUNCH();
  return to_double(out);
}

std::vector<double> run_early_exit() {
  std::vector<int> out(32, 0);
  DK_LAUNCH(early_exit_kernel, 1, 64, 0, nullptr)(out.data());
  DK_CUDA_CHECK_LAUNCH();
  return to_double(out);
}

}  // namespace

std::vector<double> selftest(const std::string& name) {
  if (name == "partial_groups") return run_partial_groups();
  if (name == "shared_poison") return run_shared_poison(false);
  if (name == "shared_poison_opt_in") return run_shared_poison(true);
  if (name == "per_block_shared") return run_per_block_shared();
  if (name == "syncthreads_count") return run_syncthreads_count();
  if (name == "early_exit") return run_early_exit();
  return run_faulty(name);
}

// cub::DeviceRadixSort stand-in: sorts (keys, values) as CUB does; returns keys then values.
template <class K>
std::vector<double> radix_sort_impl(const std::vector<double>& keys, bool descending) {
  const int n = int(keys.size());
  std::vector<K> kin(keys.begin(), keys.end()), kout(keys.size());
  std::vector<int> vin(keys.size()), vout(keys.size());
  for (int i = 0; i < n; ++i) vin[i] = i;
  size_t bytes = 0;
  DK_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, kin.data(), kout.data(), vin.data(), vout.data(), n));
  std::vector<char> temp(bytes);
  if (descending)
    DK_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(temp.data(), bytes, kin.data(), kout.data(), vin.data(),
                                                            vout.data(), n));
  else
    DK_CUDA_CHECK(
        cub::DeviceRadixSort::SortPairs(temp.data(), bytes, kin.data(), kout.data(), vin.data(), vout.data(), n));
  std::vector<double> out(kout.begin(), kout.end());
  out.insert(out.end(), vout.begin(), vout.end());
  return out;
}

std::vector<double> radix_sort(const std::vector<double>& keys, const std::string& dtype, bool descending) {
  if (dtype == "float32") return radix_sort_impl<float>(keys, descending);
  if (dtype == "float64") return radix_sort_impl<double>(keys, descending);
  if (dtype == "int32") return radix_sort_impl<int>(keys, descending);
  throw std::invalid_argument("emu_radix_sort: dtype must be float32, float64 or int32");
}

}  // namespace dk::emu
