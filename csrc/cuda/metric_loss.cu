// Metric-learning losses on the GPU: the batch triplet loss's mining over a distance matrix,
// and the contrastive loss. Definitions, tie rules (lowest index) and the hinge's subgradient
// are those of csrc/cpu/metric_loss.cpp.
//
// Mining: a block of kThreads per anchor row a (grid-stride over rows).
//   hard: each thread scans its strided share of the row for the farthest positive and the
//     nearest negative (ascending, first index kept), then a shared-memory tree reduction
//     merges the candidates (larger/smaller value wins, the lower index on ties): the same
//     picks as the CPU's one sequential scan.
//   semihard / all: threads over the positives p of the row, each scanning all N negatives
//     (O(N) per positive); the row's summed costs and counts by a shared-memory reduction.
// Backward writes row a of grad_dist: 'hard' two entries; 'semihard' +scale at each active
// p and atomicAdd(-scale) at its negative (several p may share one negative; the addends are
// identical, so the sum does not depend on their order: deterministic); 'all' a thread per
// column j computing scale * (number of active triplets through (a, j)), no atomics.
//
// Contrastive: a warp per pair for the distance (shuffle sum), an elementwise backward.
#include "core/metric_loss_math.h"
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/metric_loss.h"

namespace dk::cuda {
namespace {

constexpr unsigned kThreads = 128;  // per anchor row; a power of two for the tree reductions
constexpr unsigned kBlock = 256;
constexpr unsigned kFull = 0xffffffffu;

// A candidate index with its distance (index -1: none yet).
template <typename T>
struct Pick {
  T v;
  int64_t i;
};

// Whether candidate a replaces b: largest (or smallest) value, the lower index on ties.
template <typename T>
__device__ __forceinline__ bool better(const Pick<T>& a, const Pick<T>& b, bool largest) {
  if (a.i < 0) return false;
  if (b.i < 0) return true;
  if (a.v == b.v) return a.i < b.i;
  return largest ? a.v > b.v : a.v < b.v;
}

template <typename T>
__device__ Pick<T> block_pick(Pick<T> c, bool largest, Pick<T>* shared) {
  shared[threadIdx.x] = c;
  __syncthreads();
  for (unsigned s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s && better(shared[threadIdx.x + s], shared[threadIdx.x], largest))
      shared[threadIdx.x] = shared[threadIdx.x + s];
    __syncthreads();
  }
  const Pick<T> r = shared[0];
  __syncthreads();
  return r;
}

template <typename V>
__device__ V block_sum(V v, V* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  const V r = shared[0];
  __syncthreads();
  return r;
}

// Farthest positive and nearest negative of anchor a (batch hard).
template <typename T>
__device__ void hardest(const T* row, const int64_t* labels, int64_t a, int64_t N, Pick<T>* shared, Pick<T>& p,
                        Pick<T>& n) {
  const int64_t y = labels[a];
  Pick<T> lp{T(0), -1}, ln{T(0), -1};
  for (int64_t j = threadIdx.x; j < N; j += blockDim.x) {
    const Pick<T> c{row[j], j};
    if (j != a && labels[j] == y && (lp.i < 0 || c.v > lp.v)) lp = c;
    if (labels[j] != y && (ln.i < 0 || c.v < ln.v)) ln = c;
  }
  p = block_pick(lp, true, shared);
  n = block_pick(ln, false, shared);
}

// The semi-hard negative of positive distance dp: the nearest negative beyond dp, else the
// farthest negative; -1 when the anchor has no negatives.
template <typename T>
__device__ int64_t semihard_negative(const T* row, const int64_t* labels, int64_t y, int64_t N, T dp) {
  int64_t outside = -1, farthest = -1;
  for (int64_t n = 0; n < N; ++n) {
    if (labels[n] == y) continue;
    if (row[n] > dp && (outside < 0 || row[n] < row[outside])) outside = n;
    if (farthest < 0 || row[n] > row[farthest]) farthest = n;
  }
  return outside >= 0 ? outside : farthest;
}

template <typename T>
__global__ void triplet_forward_kernel(const T* __restrict__ dist, const int64_t* __restrict__ labels,
                                       T* __restrict__ row_loss, int64_t* __restrict__ row_count, int64_t N, T margin,
                                       TripletMining mining) {
  DK_SHARED(Pick<T>, picks, [kThreads]);
  DK_SHARED(T, sums, [kThreads]);
  DK_SHARED(int64_t, counts, [kThreads]);
  for (int64_t a = blockIdx.x; a < N; a += gridDim.x) {  // uniform across the block
    const T* row = dist + a * N;
    const int64_t y = labels[a];
    if (mining == TripletMining::hard) {
      Pick<T> p, n;
      hardest(row, labels, a, N, picks, p, n);
      if (threadIdx.x == 0) {
        const bool valid = p.i >= 0 && n.i >= 0;
        const T cost = valid ? margin + p.v - n.v : T(0);
        row_loss[a] = (cost > T(0) || cost != cost) ? cost : T(0);
        row_count[a] = valid ? 1 : 0;
      }
      continue;
    }
    T loss = T(0);
    int64_t count = 0;
    for (int64_t p = threadIdx.x; p < N; p += blockDim.x) {
      if (p == a || labels[p] != y) continue;
      const T dp = row[p];
      if (mining == TripletMining::all) {
        for (int64_t n = 0; n < N; ++n) {
          if (labels[n] == y) continue;
          const T cost = margin + dp - row[n];
          if (cost > T(0)) {
            loss += cost;
            ++count;
          } else if (cost != cost) {
            loss += cost;
          }
        }
      } else {
        const int64_t n = semihard_negative(row, labels, y, N, dp);
        if (n < 0) continue;
        const T cost = margin + dp - row[n];
        loss += (cost > T(0) || cost != cost) ? cost : T(0);
        ++count;
      }
    }
    loss = block_sum(loss, sums);
    count = block_sum(count, counts);
    if (threadIdx.x == 0) {
      row_loss[a] = loss;
      row_count[a] = count;
    }
  }
}

template <typename T>
__global__ void triplet_backward_kernel(const T* __restrict__ dist, const int64_t* __restrict__ labels,
                                        const T* __restrict__ scale, T* __restrict__ grad, int64_t N, T margin,
                                        TripletMining mining) {
  DK_SHARED(Pick<T>, picks, [kThreads]);
  const T s = scale[0];
  for (int64_t a = blockIdx.x; a < N; a += gridDim.x) {
    const T* row = dist + a * N;
    T* g = grad + a * N;
    const int64_t y = labels[a];
    if (mining == TripletMining::all) {
      for (int64_t j = threadIdx.x; j < N; j += blockDim.x) {
        int64_t count = 0;
        if (j != a && labels[j] == y) {  // j as the positive: active negatives
          for (int64_t n = 0; n < N; ++n) count += labels[n] != y && margin + row[j] - row[n] > T(0);
          g[j] = s * T(count);
        } else if (labels[j] != y) {  // j as the negative: active positives
          for (int64_t p = 0; p < N; ++p) count += p != a && labels[p] == y && margin + row[p] - row[j] > T(0);
          g[j] = -s * T(count);
        } else {
          g[j] = T(0);
        }
      }
      continue;
    }
    for (int64_t j = threadIdx.x; j < N; j += blockDim.x) g[j] = T(0);
    __syncthreads();
    if (mining == TripletMining::hard) {
      Pick<T> p, n;
      hardest(row, labels, a, N, picks, p, n);
      if (threadIdx.x == 0 && p.i >= 0 && n.i >= 0 && margin + p.v - n.v > T(0)) {
        g[p.i] = s;
        g[n.i] = -s;
      }
    } else {
      for (int64_t p = threadIdx.x; p < N; p += blockDim.x) {
        if (p == a || labels[p] != y) continue;
        const int64_t n = semihard_negative(row, labels, y, N, row[p]);
        if (n >= 0 && margin + row[p] - row[n] > T(0)) {
          g[p] = s;  // p is this thread's alone, and never a negative
          atomicAdd(g + n, -s);
        }
      }
    }
    __syncthreads();  // the row is complete before the block moves on
  }
}

template <typename T>
__global__ void contrastive_forward_kernel(const T* __restrict__ x1, const T* __restrict__ x2,
                                           const T* __restrict__ target, T* __restrict__ loss, T* __restrict__ dist,
                                           int64_t N, int64_t M, T margin) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = ((int64_t)gridDim.x * blockDim.x) >> 5;
  for (int64_t r = (blockIdx.x * (int64_t)blockDim.x + threadIdx.x) >> 5; r < N; r += warps) {
    T s = T(0);
    for (int64_t k = lane; k < M; k += 32) {
      const T d = x1[r * M + k] - x2[r * M + k];
      s += d * d;
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(kFull, s, o);
    if (lane == 0) {
      const T d = sqrt(s);
      dist[r] = d;
      loss[r] = contrastive_row(d, s, target[r], margin);
    }
  }
}

template <typename T>
__global__ void contrastive_backward_kernel(const T* __restrict__ g, bool g_per_row, const T* __restrict__ x1,
                                            const T* __restrict__ x2, const T* __restrict__ target,
                                            const T* __restrict__ dist, T* __restrict__ gx1, int64_t N, int64_t M,
                                            T margin) {
  const int64_t total = N * M;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = k / M;
    const T c = contrastive_coefficient(g_per_row ? g[r] : g[0], dist[r], target[r], margin);
    gx1[k] = c == T(0) ? T(0) : c * (x1[k] - x2[k]);
  }
}

unsigned row_blocks(int64_t N) { return static_cast<unsigned>(N < 65535 * 8 ? N : 65535 * 8); }

}  // namespace

template <typename T>
void triplet_mining_forward(const T* dist, const int64_t* labels, T* row_loss, int64_t* row_count, int64_t N,
                            T margin, TripletMining mining, cudaStream_t stream) {
  if (N == 0) return;
  DK_LAUNCH(triplet_forward_kernel<T>, row_blocks(N), kThreads, 0, stream)(dist, labels, row_loss, row_count, N, margin,
                                                                           mining);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void triplet_mining_backward(const T* dist, const int64_t* labels, const T* scale, T* grad_dist, int64_t N, T margin,
                             TripletMining mining, cudaStream_t stream) {
  if (N == 0) return;
  DK_LAUNCH(triplet_backward_kernel<T>, row_blocks(N), kThreads, 0, stream)(dist, labels, scale, grad_dist, N, margin,
                                                                            mining);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void contrastive_loss_forward(const T* x1, const T* x2, const T* target, T* loss, T* dist, int64_t N, int64_t M,
                              T margin, cudaStream_t stream) {
  if (N == 0) return;
  DK_LAUNCH(contrastive_forward_kernel<T>, grid_for(N * 32, kBlock), kBlock, 0, stream)(x1, x2, target, loss, dist, N,
                                                                                        M, margin);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void contrastive_loss_backward(const T* g, bool g_per_row, const T* x1, const T* x2, const T* target, const T* dist,
                               T* gx1, int64_t N, int64_t M, T margin, cudaStream_t stream) {
  if (N * M == 0) return;
  DK_LAUNCH(contrastive_backward_kernel<T>, grid_for(N * M, kBlock), kBlock, 0, stream)(g, g_per_row, x1, x2, target,
                                                                                        dist, gx1, N, M, margin);
  DK_CUDA_CHECK_LAUNCH();
}

#define DK_INSTANTIATE(T)                                                                                         \
  template void triplet_mining_forward<T>(const T*, const int64_t*, T*, int64_t*, int64_t, T, TripletMining,     \
                                          cudaStream_t);                                                          \
  template void triplet_mining_backward<T>(const T*, const int64_t*, const T*, T*, int64_t, T, TripletMining,    \
                                           cudaStream_t);                                                         \
  template void contrastive_loss_forward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t, T,            \
                                            cudaStream_t);                                                        \
  template void contrastive_loss_backward<T>(const T*, bool, const T*, const T*, const T*, const T*, T*, int64_t, \
                                             int64_t, T, cudaStream_t);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cuda
