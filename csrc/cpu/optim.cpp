// Fused optimizer steps (SGD with momentum, Adam/AdamW, RMSprop), float32 and float64.
//
// One pass over memory per step: each element's parameter, gradient and state are read once
// and written once, where the unfused NumPy/PyTorch-eager form makes 5-10 passes with
// temporaries (so the step is DRAM-bound and fusion is the whole speed-up on large models).
// Arrays are flat (n,) and contiguous; threads take contiguous chunks (parallel_for) and the
// per-element math (core/optim_math.h) is inlined into a loop cloned per instruction set.
// The flag branches (momentum, nesterov, amsgrad...) are loop-invariant: the compiler
// unswitches them.
#include "cpu/optim.h"

#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;

// The hyperparameters arrive by value and the arrays as __restrict__ pointers: a store to
// p[i] then cannot alias h.lr or g[j], so the loops vectorize. Which optional state exists is
// a template parameter, so each loop body is branch-free on it.
template <typename T, bool kBuf>
DK_INLINE void sgd_body(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf, int64_t n,
                        const optim::SgdHyper<T> h) {
  for (int64_t i = 0; i < n; ++i) optim::sgd_update(p[i], g[i], kBuf ? buf + i : nullptr, h);
}
template <typename T, bool kMax>
DK_INLINE void adam_body(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                         T* __restrict__ vmax, int64_t n, const optim::AdamHyper<T> h) {
  for (int64_t i = 0; i < n; ++i) optim::adam_update(p[i], g[i], m[i], v[i], kMax ? vmax + i : nullptr, h);
}
template <typename T, bool kAvg, bool kBuf>
DK_INLINE void rmsprop_body(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ s, T* __restrict__ a,
                            T* __restrict__ buf, int64_t n, const optim::RmspropHyper<T> h) {
  for (int64_t i = 0; i < n; ++i)
    optim::rmsprop_update(p[i], g[i], s[i], kAvg ? a + i : nullptr, kBuf ? buf + i : nullptr, h);
}

template <typename T>
DK_INLINE void sgd_any(T* p, const T* g, T* buf, int64_t n, const optim::SgdHyper<T>& h) {
  if (buf)
    sgd_body<T, true>(p, g, buf, n, h);
  else
    sgd_body<T, false>(p, g, buf, n, h);
}
template <typename T>
DK_INLINE void adam_any(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const optim::AdamHyper<T>& h) {
  if (vmax)
    adam_body<T, true>(p, g, m, v, vmax, n, h);
  else
    adam_body<T, false>(p, g, m, v, vmax, n, h);
}
template <typename T>
DK_INLINE void rmsprop_any(T* p, const T* g, T* s, T* a, T* buf, int64_t n, const optim::RmspropHyper<T>& h) {
  if (a && buf)
    rmsprop_body<T, true, true>(p, g, s, a, buf, n, h);
  else if (a)
    rmsprop_body<T, true, false>(p, g, s, a, buf, n, h);
  else if (buf)
    rmsprop_body<T, false, true>(p, g, s, a, buf, n, h);
  else
    rmsprop_body<T, false, false>(p, g, s, a, buf, n, h);
}

DK_CLONES void sgd_chunk(float* p, const float* g, float* b, int64_t n, const optim::SgdHyper<float>& h) {
  sgd_any(p, g, b, n, h);
}
DK_CLONES void sgd_chunk(double* p, const double* g, double* b, int64_t n, const optim::SgdHyper<double>& h) {
  sgd_any(p, g, b, n, h);
}
DK_CLONES void adam_chunk(float* p, const float* g, float* m, float* v, float* vm, int64_t n,
                          const optim::AdamHyper<float>& h) {
  adam_any(p, g, m, v, vm, n, h);
}
DK_CLONES void adam_chunk(double* p, const double* g, double* m, double* v, double* vm, int64_t n,
                          const optim::AdamHyper<double>& h) {
  adam_any(p, g, m, v, vm, n, h);
}
DK_CLONES void rmsprop_chunk(float* p, const float* g, float* s, float* a, float* b, int64_t n,
                             const optim::RmspropHyper<float>& h) {
  rmsprop_any(p, g, s, a, b, n, h);
}
DK_CLONES void rmsprop_chunk(double* p, const double* g, double* s, double* a, double* b, int64_t n,
                             const optim::RmspropHyper<double>& h) {
  rmsprop_any(p, g, s, a, b, n, h);
}

template <typename T>
T* offset(T* ptr, int64_t lo) {
  return ptr ? ptr + lo : nullptr;
}

}  // namespace

template <typename T>
void sgd_step(T* param, const T* grad, T* momentum_buffer, int64_t n, const optim::SgdHyper<T>& h) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    sgd_chunk(param + lo, grad + lo, offset(momentum_buffer, lo), hi - lo, h);
  });
}

template <typename T>
void adam_step(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
               const optim::AdamHyper<T>& h) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    adam_chunk(param + lo, grad + lo, exp_avg + lo, exp_avg_sq + lo, offset(max_exp_avg_sq, lo), hi - lo, h);
  });
}

template <typename T>
void rmsprop_step(T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buffer, int64_t n,
                  const optim::RmspropHyper<T>& h) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    rmsprop_chunk(param + lo, grad + lo, square_avg + lo, offset(grad_avg, lo), offset(momentum_buffer, lo),
                  hi - lo, h);
  });
}

#define DK_INSTANTIATE(T)                                                                                   \
  template void sgd_step<T>(T*, const T*, T*, int64_t, const optim::SgdHyper<T>&);                         \
  template void adam_step<T>(T*, const T*, T*, T*, T*, int64_t, const optim::AdamHyper<T>&);                \
  template void rmsprop_step<T>(T*, const T*, T*, T*, T*, int64_t, const optim::RmspropHyper<T>&);
DK_INSTANTIATE(float)
DK_INSTANTIATE(double)
#undef DK_INSTANTIATE

}  // namespace dk::cpu
