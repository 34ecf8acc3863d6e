// Box IoU and non-maximum suppression on the GPU, float32 and float64. Same box convention
// and IoU formula as csrc/cpu/boxes.cpp (sizes clamped at 0, zero union -> 0, a NaN coordinate
// -> NaN).
//
// box_iou: one thread per output (i, j); blocks of 32 x 8 threads, x over b's boxes so the
// output rows are written coalesced and each warp reads one box of a (a broadcast).
//
// nms: torchvision's parallel bit-mask method, with the sort and the sweep on the device.
//   1. keys = scores + 0 (turns -0.0 into +0.0 so the radix sort sees one zero; NaN -> -NaN, last), values =
//      0..n-1; CUB's stable radix sort, descending: visit order = decreasing score, ties by
//      lower index, exactly the CPU kernel's order.
//   2. gather the boxes (and classes) into visit order: sboxes (n, 4).
//   3. mask kernel: grid (⌈n/64⌉, ⌈n/64⌉), one 64-thread block per (row block, column block)
//      with column block >= row block; the column block's 64 boxes sit in shared memory and
//      thread t sets bit k of mask[i, col_block] (i = row_block·64 + t) when box
//      col_block·64 + k comes later in visit order, has the same class (batched) and
//      IoU > threshold. mask is (n × ⌈n/64⌉) uint64; words left of the diagonal are never
//      written and never read.
//   4. sweep kernel, one block: removed bits live in shared memory (⌈n/64⌉ words). For each
//      64-box word every thread runs the same 64-step scan in registers (keep box i if its bit
//      is clear, then OR in mask[i, word] — a broadcast load), so there is one
//      __syncthreads per 64 boxes, not per box; then the threads split the later words and OR
//      in the rows of the boxes just kept. The scan stops at the first box below
//      score_threshold (boxes are sorted). Kept indices go to keep[], their number to *count.
// Thresholds are compared in T, as on the CPU. Empty input writes count = 0 and launches
// nothing else.
#include <cub/device/device_radix_sort.cuh>

#include "cuda/boxes.h"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"

namespace dk::cuda {
namespace {

constexpr int kWord = 64;        // boxes per mask word / per mask block
constexpr unsigned kSweepThreads = 256;

template <typename T>
__device__ __forceinline__ T clamp0(T v) {
  return v > T(0) ? v : T(0);
}

// IoU of boxes p and q given as (x1, y1, x2, y2).
template <typename T>
__device__ __forceinline__ T iou_of(const T* p, const T* q) {
  // A NaN coordinate gives NaN, as torchvision (fmin/fmax below would drop it); in nms such a
  // box then suppresses nothing (NaN > threshold is false), as on the CPU.
  for (int c = 0; c < 4; ++c)
    if (p[c] != p[c] || q[c] != q[c]) return static_cast<T>(NAN);
  const T pa = clamp0(p[2] - p[0]) * clamp0(p[3] - p[1]);
  const T qa = clamp0(q[2] - q[0]) * clamp0(q[3] - q[1]);
  if (!(pa > T(0)) || !(qa > T(0))) return T(0);  // a box without area overlaps nothing
  const T w = clamp0(min(p[2], q[2]) - max(p[0], q[0]));
  const T h = clamp0(min(p[3], q[3]) - max(p[1], q[1]));
  const T inter = w * h;
  const T uni = pa + qa - inter;
  return uni > T(0) ? inter / uni : T(0);
}

template <typename T>
__global__ void box_iou_kernel(const T* __restrict__ a, int64_t n, const T* __restrict__ b, int64_t m,
                               T* __restrict__ out) {
  const int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (j >= m) return;
  const T q[4] = {b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3]};
  for (int64_t i = blockIdx.y * (int64_t)blockDim.y + threadIdx.y; i < n; i += (int64_t)gridDim.y * blockDim.y)
    out[i * m + j] = iou_of(a + 4 * i, q);
}

__device__ __forceinline__ float negative_nan(float) { return __int_as_float(0xFFC00000u); }
__device__ __forceinline__ double negative_nan(double) { return __longlong_as_double(0xFFF8000000000000ULL); }

template <typename T>
__global__ void sort_keys_kernel(const T* __restrict__ scores, T* __restrict__ keys, int* __restrict__ idx, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    // NaN -> negative NaN, which the descending radix sort puts after -inf: the sweep then stops
    // at it, so NaN scores are dropped as on the CPU (a +NaN would sort first and be kept).
    const T s = scores[i];
    keys[i] = s == s ? s + T(0) : negative_nan(T(0));
    idx[i] = i;
  }
}

template <typename T>
__global__ void gather_kernel(const T* __restrict__ boxes, const int64_t* __restrict__ classes,
                              const int* __restrict__ order, int n, T* __restrict__ sboxes,
                              int64_t* __restrict__ sclasses) {
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < n; k += gridDim.x * blockDim.x) {
    const int64_t src = order[k];
    for (int c = 0; c < 4; ++c) sboxes[4 * (int64_t)k + c] = boxes[4 * src + c];
    if (classes) sclasses[k] = classes[src];
  }
}

// Grid (col_blocks, col_blocks), block kWord threads. sclasses == nullptr: one class.
template <typename T>
__global__ void mask_kernel(const T* __restrict__ sboxes, const int64_t* __restrict__ sclasses, int n,
                            int col_blocks, T threshold, unsigned long long* __restrict__ mask) {
  const int row_block = blockIdx.y, col_block = blockIdx.x;
  if (col_block < row_block) return;  // whole block: later boxes only
  const int row_size = min(n - row_block * kWord, kWord);
  const int col_size = min(n - col_block * kWord, kWord);
  DK_SHARED(T, cbox, [kWord * 4]);
  DK_SHARED(int64_t, ccls, [kWord]);
  const int t = threadIdx.x;
  if (t < col_size) {
    const int64_t j = (int64_t)col_block * kWord + t;
    for (int c = 0; c < 4; ++c) cbox[4 * t + c] = sboxes[4 * j + c];
    ccls[t] = sclasses ? sclasses[j] : 0;
  }
  __syncthreads();
  if (t >= row_size) return;
  const int64_t i = (int64_t)row_block * kWord + t;
  const T me[4] = {sboxes[4 * i], sboxes[4 * i + 1], sboxes[4 * i + 2], sboxes[4 * i + 3]};
  const int64_t my_cls = sclasses ? sclasses[i] : 0;
  unsigned long long bits = 0;
  for (int k = row_block == col_block ? t + 1 : 0; k < col_size; ++k)
    if (ccls[k] == my_cls && iou_of(me, cbox + 4 * k) > threshold) bits |= 1ULL << k;
  mask[i * col_blocks + col_block] = bits;
}

// One block of kSweepThreads; dynamic shared memory: col_blocks words.
template <typename T>
__global__ void sweep_kernel(const unsigned long long* __restrict__ mask, const T* __restrict__ skeys,
                             const int* __restrict__ order, int n, int col_blocks, T min_score,
                             int64_t* __restrict__ keep, int64_t* __restrict__ count) {
  DK_DYNAMIC_SHARED(unsigned long long, removed);
  const int t = threadIdx.x;
  for (int w = t; w < col_blocks; w += blockDim.x) removed[w] = 0;
  __syncthreads();
  int64_t kept = 0;  // identical in every thread: all threads make the same decisions
  for (int w = 0; w < col_blocks; ++w) {
    const int base = w * kWord;
    const int size = min(n - base, kWord);
    unsigned long long rm = removed[w];
    unsigned long long kept_bits = 0;
    bool below = false;
    for (int k = 0; k < size; ++k) {
      if (!(skeys[base + k] >= min_score)) {  // below the threshold, or a NaN score (sorted last)
        below = true;
        break;
      }
      if (!((rm >> k) & 1ULL)) {
        kept_bits |= 1ULL << k;
        rm |= mask[(int64_t)(base + k) * col_blocks + w];
      }
    }
    if (t < kWord && ((kept_bits >> t) & 1ULL))
      keep[kept + __popcll(kept_bits & ((1ULL << t) - 1ULL))] = order[base + t];
    kept += __popcll(kept_bits);
    for (int v = w + 1 + t; v < col_blocks; v += blockDim.x) {
      unsigned long long acc = 0;
      for (unsigned long long kb = kept_bits; kb; kb &= kb - 1ULL)
        acc |= mask[(int64_t)(base + __ffsll((long long)kb) - 1) * col_blocks + v];
      removed[v] |= acc;
    }
    __syncthreads();
    if (below) break;
  }
  if (t == 0) *count = kept;
}

size_t align_up(size_t v) { return (v + 255) & ~size_t(255); }

// Workspace layout, in order, each part 256-byte aligned.
template <typename T>
struct NmsWorkspace {
  size_t keys_in, keys_out, idx_in, idx_out, sboxes, sclasses, mask, cub_temp, cub_bytes, total;
  explicit NmsWorkspace(int64_t n) {
    const int64_t col_blocks = (n + kWord - 1) / kWord;
    size_t off = 0;
    auto take = [&](size_t bytes) {
      const size_t at = off;
      off += align_up(bytes);
      return at;
    };
    keys_in = take(n * sizeof(T));
    keys_out = take(n * sizeof(T));
    idx_in = take(n * sizeof(int));
    idx_out = take(n * sizeof(int));
    sboxes = take(4 * n * sizeof(T));
    sclasses = take(n * sizeof(int64_t));
    mask = take(size_t(n) * size_t(col_blocks) * sizeof(unsigned long long));
    cub_bytes = 0;
    if (n > 0)
      DK_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(nullptr, cub_bytes, (const T*)nullptr, (T*)nullptr,
                                                              (const int*)nullptr, (int*)nullptr, (int)n));
    cub_temp = take(cub_bytes);
    total = off;
  }
};

constexpr unsigned kBlock = 256;

}  // namespace

template <typename T>
void box_iou(const T* a, int64_t n, const T* b, int64_t m, T* out, cudaStream_t stream) {
  if (n == 0 || m == 0) return;
  const dim3 block(32, 8);
  const long long gx = (m + block.x - 1) / block.x;
  const long long gy = (n + block.y - 1) / block.y;
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy < 65535 ? gy : 65535));
  DK_LAUNCH(box_iou_kernel<T>, grid, block, 0, stream)(a, n, b, m, out);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
size_t nms_workspace_size(int64_t n) {
  return NmsWorkspace<T>(n).total;
}

template <typename T>
void nms(const T* boxes, const T* scores, const int64_t* classes, int64_t n, double iou_threshold,
         double score_threshold, int64_t* keep, int64_t* count, void* workspace, size_t workspace_bytes,
         cudaStream_t stream) {
  if (n == 0) {
    DK_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(int64_t), stream));
    return;
  }
  const NmsWorkspace<T> ws(n);
  if (workspace_bytes < ws.total)
    throw std::invalid_argument("nms: workspace has " + std::to_string(workspace_bytes) + " bytes, needs " +
                                std::to_string(ws.total));
  const int ni = static_cast<int>(n);
  const int col_blocks = static_cast<int>((n + kWord - 1) / kWord);
  const size_t sweep_smem = size_t(col_blocks) * sizeof(unsigned long long);
  int device = 0, smem_optin = 0;
  DK_CUDA_CHECK(cudaGetDevice(&device));
  DK_CUDA_CHECK(cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (sweep_smem > size_t(smem_optin))
    throw std::invalid_argument("nms: " + std::to_string(n) + " boxes need " + std::to_string(sweep_smem) +
                                " bytes of shared memory for the sweep; this GPU allows " +
                                std::to_string(smem_optin));
  if (sweep_smem > 48 * 1024)
    DK_CUDA_CHECK(cudaFuncSetAttribute(sweep_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(sweep_smem)));

  char* base = static_cast<char*>(workspace);
  T* keys_in = reinterpret_cast<T*>(base + ws.keys_in);
  T* keys_out = reinterpret_cast<T*>(base + ws.keys_out);
  int* idx_in = reinterpret_cast<int*>(base + ws.idx_in);
  int* idx_out = reinterpret_cast<int*>(base + ws.idx_out);
  T* sboxes = reinterpret_cast<T*>(base + ws.sboxes);
  int64_t* sclasses = classes ? reinterpret_cast<int64_t*>(base + ws.sclasses) : nullptr;
  auto* mask = reinterpret_cast<unsigned long long*>(base + ws.mask);

  DK_LAUNCH(sort_keys_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(scores, keys_in, idx_in, ni);
  DK_CUDA_CHECK_LAUNCH();
  size_t cub_bytes = ws.cub_bytes;
  DK_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(base + ws.cub_temp, cub_bytes, keys_in, keys_out, idx_in,
                                                          idx_out, ni, 0, int(sizeof(T) * 8), stream));
  DK_LAUNCH(gather_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(boxes, classes, idx_out, ni, sboxes, sclasses);
  DK_CUDA_CHECK_LAUNCH();
  DK_LAUNCH(mask_kernel<T>, dim3(col_blocks, col_blocks), kWord, 0, stream)(sboxes, sclasses, ni, col_blocks,
                                                                             static_cast<T>(iou_threshold), mask);
  DK_CUDA_CHECK_LAUNCH();
  DK_LAUNCH(sweep_kernel<T>, 1, kSweepThreads, sweep_smem, stream)(mask, keys_out, idx_out, ni, col_blocks,
                                                                    static_cast<T>(score_threshold), keep, count);
  DK_CUDA_CHECK_LAUNCH();
}

template void box_iou<float>(const float*, int64_t, const float*, int64_t, float*, cudaStream_t);
template void box_iou<double>(const double*, int64_t, const double*, int64_t, double*, cudaStream_t);
template size_t nms_workspace_size<float>(int64_t);
template size_t nms_workspace_size<double>(int64_t);
template void nms<float>(const float*, const float*, const int64_t*, int64_t, double, double, int64_t*, int64_t*,
                         void*, size_t, cudaStream_t);
template void nms<double>(const double*, const double*, const int64_t*, int64_t, double, double, int64_t*,
                          int64_t*, void*, size_t, cudaStream_t);

}  // namespace dk::cuda
