// Per-element parameter updates of the optimizers, shared by the CPU loops (csrc/cpu/optim.cpp)
// and the CUDA kernels (csrc/cuda/optim.cu) so both backends run the same arithmetic.
//
// Each function updates one element of a parameter and its state in place, following
// PyTorch's single-tensor implementations operation for operation (torch/optim/{sgd,adam,
// rmsprop}.py), so the same gradients give the same weights to float64 precision:
//   SGD:     d = g + wd p;  b = first ? d : mu b + (1 - dampening) d;
//            d = nesterov ? d + mu b : b;  p -= lr d
//   Adam:    p *= 1 - lr wd (AdamW) | g += wd p (Adam);  m = lerp(m, g, 1 - b1);
//            v = b2 v + (1 - b2) g g;  vmax = max(vmax, v) (amsgrad);
//            p -= step_size m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps),  step_size = lr / (1 - b1^t)
//   RMSprop: g += wd p;  s = alpha s + (1 - alpha) g g;  a = lerp(a, g, 1 - alpha) (centered);
//            r = sqrt(s - a a) + eps (centered) | sqrt(s) + eps;  eps outside the sqrt;
//            b = mu b + g / r, p -= lr b (momentum) | p -= lr g / r
// Scalars derived from the options (1 - beta, 1 - lr wd, the bias corrections) are computed
// once by the caller in double precision and then rounded to T, as PyTorch computes them in
// Python floats: 1 - beta2 evaluated in float32 would be off by 5e-5 relative.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define DK_HD __host__ __device__ __forceinline__
#else
#define DK_HD inline
#endif

namespace dk::optim {

template <typename T>
struct SgdHyper {
  T lr, momentum, one_minus_dampening, weight_decay;
  bool nesterov, first_step;  // first_step: the momentum buffer starts as the raw update
};

template <typename T>
struct AdamHyper {
  T beta2, one_minus_beta1, one_minus_beta2, eps;
  T weight_decay;           // L2 coefficient added to the gradient (Adam), 0 for AdamW
  T decay_factor;           // 1 - lr * weight_decay (AdamW), 1 for Adam
  T step_size;              // lr / (1 - beta1^t)
  T bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  bool amsgrad, decoupled;  // decoupled: scale p by decay_factor first (AdamW)
};

template <typename T>
struct RmspropHyper {
  T lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
  bool centered;
};

template <typename T>
DK_HD T sqrt_(T x) {
#if defined(__CUDA_ARCH__)
  return ::sqrt(x);
#else
  return std::sqrt(x);
#endif
}

// torch.lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w) (exact at both ends).
template <typename T>
DK_HD T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

// buf may be null when momentum == 0.
template <typename T>
DK_HD void sgd_update(T& p, T g, T* buf, const SgdHyper<T>& h) {
  T d = h.weight_decay != T(0) ? g + h.weight_decay * p : g;
  if (h.momentum != T(0)) {
    const T b = h.first_step ? d : h.momentum * *buf + h.one_minus_dampening * d;
    *buf = b;
    d = h.nesterov ? d + h.momentum * b : b;
  }
  p = p - h.lr * d;
}

// vmax may be null unless amsgrad.
template <typename T>
DK_HD void adam_update(T& p, T g, T& m, T& v, T* vmax, const AdamHyper<T>& h) {
  if (h.decoupled) p = p * h.decay_factor;
  if (h.weight_decay != T(0)) g = g + h.weight_decay * p;
  m = lerp(m, g, h.one_minus_beta1);
  v = v * h.beta2 + h.one_minus_beta2 * g * g;
  T second = v;
  if (h.amsgrad) {
    *vmax = *vmax > v ? *vmax : v;
    second = *vmax;
  }
  const T denom = sqrt_(second) / h.bias_correction2_sqrt + h.eps;
  p = p - h.step_size * m / denom;
}

// grad_avg may be null unless centered; buf may be null unless momentum > 0.
template <typename T>
DK_HD void rmsprop_update(T& p, T g, T& s, T* grad_avg, T* buf, const RmspropHyper<T>& h) {
  if (h.weight_decay != T(0)) g = g + h.weight_decay * p;
  s = s * h.alpha + h.one_minus_alpha * g * g;
  T avg;
  if (h.centered) {
    *grad_avg = lerp(*grad_avg, g, h.one_minus_alpha);
    avg = sqrt_(s - *grad_avg * *grad_avg) + h.eps;
  } else {
    avg = sqrt_(s) + h.eps;
  }
  if (h.momentum > T(0)) {
    *buf = *buf * h.momentum + g / avg;
    p = p - h.lr * *buf;
  } else {
    p = p - h.lr * g / avg;
  }
}

}  // namespace dk::optim
