// Softmax and log-softmax along any axis on the GPU, forward and backward.
//
// Layout (outer, dim, inner) as the CPU kernels; the launch shapes (a warp per row for rows
// up to 1024, a block per longer row, a thread per column when inner > 1) are those of
// cuda/row_reduce.cuh. Forward reads each row twice: one online pass computes the max m and
// sum s of exp(x - m) together (one exp per element, merged across lanes with shuffles),
// then y = exp(x - m) / s, or (x - m) - log s. Backward: one sum (gy * y, or gy for
// log-softmax, accumulated in double), then gx = y (gy - sum) or gy - exp(y) sum. exp only
// sees x - m <= 0.
#include "cuda/row_reduce.cuh"
#include "cuda/softmax.h"

namespace dk::cuda {
namespace {

template <typename T, bool kLog>
struct SoftmaxForward {
  using Acc = MaxSum<T>;
  static constexpr bool kWrites = true;
  const T* __restrict__ x;
  T* __restrict__ y;
  __device__ T value(int64_t k) const { return x[k]; }
  // s becomes log(s) (log-softmax) or 1/s (softmax): computed once per row.
  __device__ Acc finish(Acc a) const {
    a.s = kLog ? log(a.s) : T(1) / a.s;
    return a;
  }
  __device__ void row_done(const Acc&, int64_t, int64_t, int64_t) const {}
  __device__ void write(const Acc& a, int64_t k) const {
    y[k] = kLog ? (x[k] - a.m) - a.s : exp(x[k] - a.m) * a.s;
  }
};

template <typename T, bool kLog>
struct SoftmaxBackward {
  using Acc = Sum<T>;
  static constexpr bool kWrites = true;
  const T* __restrict__ gy;
  const T* __restrict__ y;
  T* __restrict__ gx;
  __device__ T value(int64_t k) const { return kLog ? gy[k] : gy[k] * y[k]; }
  __device__ Acc finish(Acc a) const { return a; }
  __device__ void row_done(const Acc&, int64_t, int64_t, int64_t) const {}
  __device__ void write(const Acc& a, int64_t k) const {
    const T s = T(a.s);
    gx[k] = kLog ? gy[k] - exp(y[k]) * s : y[k] * (gy[k] - s);
  }
};

}  // namespace

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner, bool log, cudaStream_t stream) {
  if (log)
    launch_rows(SoftmaxForward<T, true>{x, y}, outer, dim, inner, stream);
  else
    launch_rows(SoftmaxForward<T, false>{x, y}, outer, dim, inner, stream);
}

template <typename T>
void softmax_backward(const T* gy, const T* y, T* gx, int64_t outer, int64_t dim, int64_t inner, bool log,
                      cudaStream_t stream) {
  if (log)
    launch_rows(SoftmaxBackward<T, true>{gy, y, gx}, outer, dim, inner, stream);
  else
    launch_rows(SoftmaxBackward<T, false>{gy, y, gx}, outer, dim, inner, stream);
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t, int64_t, bool, cudaStream_t);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t, int64_t, bool, cudaStream_t);
template void softmax_backward<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool,
                                      cudaStream_t);
template void softmax_backward<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool,
                                       cudaStream_t);

}  // namespace dk::cuda
