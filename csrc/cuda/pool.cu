// 2-D pooling on the GPU: one thread per output element (forward) or per input element
// (average backward), grid-stride loops, on the caller's stream.
//
// Layout: planes (N*C, H, W) -> (N*C, P, Q), C-contiguous; consecutive threads take
// consecutive outputs of a row, so loads of a window row are coalesced across the warp.
// Semantics are those of the CPU kernels (csrc/cpu/pool.cpp) and PyTorch: strictly greater
// wins in window order, a NaN always wins, argmax is the flat h*W + w in the input plane;
// dilation spaces the max-pooling taps, ceil_mode adds windows overhanging the bottom/right
// edge (taps outside the image skipped), averages divide by Pool2dGeom::avg_divisor.
// Backward passes:
//   max:      a scatter through the saved indices with atomicAdd (overlapping windows may
//             route several outputs to one input). Indices outside the plane are skipped (the
//             GPU cannot raise without a synchronization; the CPU entry point checks them).
//   average:  a gather: each input element sums the outputs whose windows cover it, so no
//             atomics and a deterministic result.
//   adaptive: a gather as well, over the (few) output windows that contain the input element.
#include "cuda/cuda_check.h"
#include "cuda/launch.cuh"
#include "cuda/pool.h"

namespace dk::cuda {
namespace {

constexpr unsigned kBlock = 256;

using PoolArgs = Pool2dGeom;  // trivially copyable: passed to the kernels by value

// First tap of a window starting at `start` (k taps `dil` apart) inside [0, n), and one past
// the last: taps [t0, t1).
__device__ inline void taps_in(int64_t start, int64_t k, int64_t dil, int64_t n, int64_t& t0, int64_t& t1) {
  t0 = start >= 0 ? 0 : (-start + dil - 1) / dil;
  t1 = start >= n ? 0 : min(k, (n - 1 - start) / dil + 1);
  if (t1 < t0) t1 = t0;
}

template <typename T>
__global__ void max_forward_kernel(PoolArgs a, const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ idx) {
  const int64_t total = a.planes * a.P * a.Q;
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < total; o += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = o % a.Q, p = (o / a.Q) % a.P, plane = o / (a.P * a.Q);
    const int64_t hs = p * a.sh - a.ph, ws = q * a.sw - a.pw;
    int64_t r0, r1, s0, s1;
    taps_in(hs, a.kh, a.dh, a.H, r0, r1);
    taps_in(ws, a.kw, a.dw, a.W, s0, s1);
    const T* xp = x + plane * a.H * a.W;
    T best = -INFINITY;
    int64_t arg = r0 < r1 && s0 < s1 ? (hs + r0 * a.dh) * a.W + ws + s0 * a.dw : -1;  // -1: no input
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t h = hs + r * a.dh;
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t w = ws + s * a.dw;
        const T v = xp[h * a.W + w];
        if (v > best || v != v) {
          best = v;
          arg = h * a.W + w;
        }
      }
    }
    y[o] = best;
    if (idx) idx[o] = arg;
  }
}

template <typename T>
__global__ void zero_kernel(T* __restrict__ p, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    p[i] = T(0);
}

template <typename T>
__global__ void max_backward_kernel(int64_t planes, int64_t plane_in, int64_t plane_out, const T* __restrict__ gy,
                                    const int64_t* __restrict__ idx, T* __restrict__ gx) {
  const int64_t total = planes * plane_out;
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < total; o += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = idx[o];
    if (i >= 0 && i < plane_in) atomicAdd(gx + (o / plane_out) * plane_in + i, gy[o]);
  }
}

__device__ inline int64_t avg_divisor(const PoolArgs& a, bool count_include_pad, int64_t p, int64_t q) {
  const int64_t hs = p * a.sh - a.ph, ws = q * a.sw - a.pw;
  const int64_t rows = min(hs + a.kh, a.H) - (hs > 0 ? hs : 0);
  const int64_t cols = min(ws + a.kw, a.W) - (ws > 0 ? ws : 0);
  return a.avg_divisor(count_include_pad, p, q, rows, cols);
}

template <typename T>
__global__ void avg_forward_kernel(PoolArgs a, bool count_include_pad, const T* __restrict__ x, T* __restrict__ y) {
  const int64_t total = a.planes * a.P * a.Q;
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < total; o += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = o % a.Q, p = (o / a.Q) % a.P, plane = o / (a.P * a.Q);
    const int64_t hs = p * a.sh - a.ph, ws = q * a.sw - a.pw;
    const int64_t h0 = hs > 0 ? hs : 0, w0 = ws > 0 ? ws : 0;
    const int64_t h1 = min(hs + a.kh, a.H), w1 = min(ws + a.kw, a.W);
    const T* xp = x + plane * a.H * a.W;
    T acc = T(0);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) acc += xp[h * a.W + w];
    y[o] = acc / T(avg_divisor(a, count_include_pad, p, q));
  }
}

// Outputs o in [lo, hi] whose window [o*s - pad, o*s - pad + k) covers input position i.
__device__ inline void covering(int64_t i, int64_t k, int64_t s, int64_t pad, int64_t n_out, int64_t& lo,
                                int64_t& hi) {
  const int64_t t = i + pad - k + 1;  // o*s >= t
  lo = t <= 0 ? 0 : (t + s - 1) / s;
  hi = min((i + pad) / s, n_out - 1);
}

template <typename T>
__global__ void avg_backward_kernel(PoolArgs a, bool count_include_pad, const T* __restrict__ gy, T* __restrict__ gx) {
  const int64_t total = a.planes * a.H * a.W;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t w = e % a.W, h = (e / a.W) % a.H, plane = e / (a.H * a.W);
    int64_t p0, p1, q0, q1;
    covering(h, a.kh, a.sh, a.ph, a.P, p0, p1);
    covering(w, a.kw, a.sw, a.pw, a.Q, q0, q1);
    const T* gp = gy + plane * a.P * a.Q;
    T acc = T(0);
    for (int64_t p = p0; p <= p1; ++p)
      for (int64_t q = q0; q <= q1; ++q) acc += gp[p * a.Q + q] / T(avg_divisor(a, count_include_pad, p, q));
    gx[e] = acc;
  }
}

template <typename T>
__global__ void adaptive_forward_kernel(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                        const T* __restrict__ x, T* __restrict__ y) {
  const int64_t total = planes * P * Q;
  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < total; o += (int64_t)gridDim.x * blockDim.x) {
    const int64_t q = o % Q, p = (o / Q) % P, plane = o / (P * Q);
    const int64_t h0 = p * H / P, h1 = ((p + 1) * H + P - 1) / P;
    const int64_t w0 = q * W / Q, w1 = ((q + 1) * W + Q - 1) / Q;
    const T* xp = x + plane * H * W;
    double acc = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) acc += double(xp[h * W + w]);
    y[o] = T(acc / double((h1 - h0) * (w1 - w0)));
  }
}

template <typename T>
__global__ void adaptive_backward_kernel(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q,
                                         const T* __restrict__ gy, T* __restrict__ gx) {
  const int64_t total = planes * H * W;
  for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t w = e % W, h = (e / W) % H, plane = e / (H * W);
    // Windows containing h lie between these (a superset, filtered exactly below).
    const int64_t plo = h * P / H > 0 ? h * P / H - 1 : 0, phi = min(P, ((h + 1) * P + H - 1) / H + 1);
    const int64_t qlo = w * Q / W > 0 ? w * Q / W - 1 : 0, qhi = min(Q, ((w + 1) * Q + W - 1) / W + 1);
    const T* gp = gy + plane * P * Q;
    T acc = T(0);
    for (int64_t p = plo; p < phi; ++p) {
      const int64_t h0 = p * H / P, h1 = ((p + 1) * H + P - 1) / P;
      if (h < h0 || h >= h1) continue;
      for (int64_t q = qlo; q < qhi; ++q) {
        const int64_t w0 = q * W / Q, w1 = ((q + 1) * W + Q - 1) / Q;
        if (w < w0 || w >= w1) continue;
        acc += gp[p * Q + q] / T((h1 - h0) * (w1 - w0));
      }
    }
    gx[e] = acc;
  }
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dGeom& g, const T* x, T* y, int64_t* idx, cudaStream_t stream) {
  const int64_t n = g.planes * g.P * g.Q;
  if (n == 0) return;
  DK_LAUNCH(max_forward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(g, x, y, idx);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void max_pool2d_backward(const Pool2dGeom& g, const T* gy, const int64_t* idx, T* gx, cudaStream_t stream) {
  const int64_t n_in = g.planes * g.H * g.W, n_out = g.planes * g.P * g.Q;
  if (n_in == 0) return;
  DK_LAUNCH(zero_kernel<T>, grid_for(n_in, kBlock), kBlock, 0, stream)(gx, n_in);
  DK_CUDA_CHECK_LAUNCH();
  if (n_out == 0) return;
  DK_LAUNCH(max_backward_kernel<T>, grid_for(n_out, kBlock), kBlock, 0, stream)(g.planes, g.H * g.W, g.P * g.Q, gy, idx,
                                                                                gx);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void avg_pool2d_forward(const Pool2dGeom& g, bool count_include_pad, const T* x, T* y, cudaStream_t stream) {
  const int64_t n = g.planes * g.P * g.Q;
  if (n == 0) return;
  DK_LAUNCH(avg_forward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(g, count_include_pad, x, y);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void avg_pool2d_backward(const Pool2dGeom& g, bool count_include_pad, const T* gy, T* gx, cudaStream_t stream) {
  const int64_t n = g.planes * g.H * g.W;
  if (n == 0) return;
  DK_LAUNCH(avg_backward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(g, count_include_pad, gy, gx);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void adaptive_avg_pool2d_forward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* x, T* y,
                                 cudaStream_t stream) {
  const int64_t n = planes * P * Q;
  if (n == 0) return;
  DK_LAUNCH(adaptive_forward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(planes, H, W, P, Q, x, y);
  DK_CUDA_CHECK_LAUNCH();
}

template <typename T>
void adaptive_avg_pool2d_backward(int64_t planes, int64_t H, int64_t W, int64_t P, int64_t Q, const T* gy, T* gx,
                                  cudaStream_t stream) {
  const int64_t n = planes * H * W;
  if (n == 0) return;
  DK_LAUNCH(adaptive_backward_kernel<T>, grid_for(n, kBlock), kBlock, 0, stream)(planes, H, W, P, Q, gy, gx);
  DK_CUDA_CHECK_LAUNCH();
}

#define DK_POOL_INSTANTIATE(T)                                                                                  \
  template void max_pool2d_forward<T>(const Pool2dGeom&, const T*, T*, int64_t*, cudaStream_t);                \
  template void max_pool2d_backward<T>(const Pool2dGeom&, const T*, const int64_t*, T*, cudaStream_t);         \
  template void avg_pool2d_forward<T>(const Pool2dGeom&, bool, const T*, T*, cudaStream_t);                    \
  template void avg_pool2d_backward<T>(const Pool2dGeom&, bool, const T*, T*, cudaStream_t);                   \
  template void adaptive_avg_pool2d_forward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*,      \
                                               cudaStream_t);                                                  \
  template void adaptive_avg_pool2d_backward<T>(int64_t, int64_t, int64_t, int64_t, int64_t, const T*, T*,     \
                                                cudaStream_t);
DK_POOL_INSTANTIATE(float)
DK_POOL_INSTANTIATE(double)
#undef DK_POOL_INSTANTIATE

}  // namespace dk::cuda
