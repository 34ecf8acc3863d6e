#pragma once
#include <cstdint>

namespace dk::cpu {

// Batch normalization over x viewed as (N, C, S): S = H*W for (N, C, H, W), L for (N, C, L),
// 1 for (N, C); statistics per channel over the M = N*S values.
// training: normalizes with the batch mean and biased variance, writes them as save_mean and
//   save_invstd = 1/sqrt(var + eps), and (when running_mean/var are non-null) updates
//   running = (1 - momentum) * running + momentum * stat with the UNBIASED variance
//   var * M / (M - 1) (PyTorch's rule; needs M != 1; M == 0 leaves them unchanged).
// eval: normalizes with running_mean/var (required) and writes them as save_mean/save_invstd.
// weight, bias: (C,) or nullptr (1 and 0). y = (x - mean) * invstd * weight + bias.
template <typename T>
void batch_norm_forward(const T* x, T* y, const T* weight, const T* bias, T* running_mean, T* running_var,
                        T* save_mean, T* save_invstd, int64_t N, int64_t C, int64_t S, bool training,
                        double momentum, double eps);

// From gy and the forward's saved stats: grad_weight = sum gy * xhat, grad_bias = sum gy
// (per channel, always written), and
//   training: gx = w*invstd * (gy - mean(gy) - xhat * mean(gy * xhat))   (batch stats depend on x)
//   eval:     gx = w*invstd * gy                                          (constants)
template <typename T>
void batch_norm_backward(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                         T* gx, T* grad_weight, T* grad_bias, int64_t N, int64_t C, int64_t S, bool training);

}  // namespace dk::cpu
