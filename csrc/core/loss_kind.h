#pragma once
#include <stdexcept>
#include <string>

namespace dk {
// Elementwise losses shared by the CPU and CUDA kernels (csrc/*/loss.*).
enum class PointwiseLoss { mse, bce, bce_logits, smooth_l1, huber };

inline PointwiseLoss parse_pointwise_loss(const std::string& name) {
  if (name == "mse") return PointwiseLoss::mse;
  if (name == "bce") return PointwiseLoss::bce;
  if (name == "bce_logits") return PointwiseLoss::bce_logits;
  if (name == "smooth_l1") return PointwiseLoss::smooth_l1;
  if (name == "huber") return PointwiseLoss::huber;
  throw std::invalid_argument("pointwise_loss: unknown kind '" + name + "' (mse, bce, bce_logits, smooth_l1, huber)");
}
}  // namespace dk
