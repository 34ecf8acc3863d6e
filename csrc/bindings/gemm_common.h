// Argument checks shared by the CPU and CUDA gemm bindings (cpu_gemm.cpp, cuda_gemm.cpp).
#pragma once
#include <optional>
#include <utility>

#include "bindings/common.h"

namespace dk::bind {

// Sizes of one gemm call, checked against every array before any pointer is used.
// a, b are 2-D, or 3-D with the batch first (a 2-D operand is broadcast over the batch);
// out is (M, N) or (batch, M, N).
struct GemmShape {
  int64_t batch, M, N, K, stride_a, stride_b, stride_c;
};

inline GemmShape check_gemm(const TensorView& a, const TensorView& b, const TensorView& out, bool trans_a,
                            bool trans_b, const std::optional<TensorView>& bias, Device device) {
  const char* op = "gemm";
  for (auto [v, name] : {std::pair{&a, "a"}, std::pair{&b, "b"}, std::pair{&out, "out"}}) {
    dk::expect(*v, name, op).device(device).contiguous();
    DK_CHECK(v->ndim() == 2 || v->ndim() == 3, op, ": ", name, " must be 2-D or 3-D, got shape ",
             dk::shape_str(v->shape));
  }
  dk::expect(b, "b", op).dtype(a.dtype);
  dk::expect(out, "out", op).dtype(a.dtype).writable();
  const int64_t batch = out.ndim() == 3 ? out.shape[0] : 1;
  DK_CHECK(out.ndim() == 3 || (a.ndim() == 2 && b.ndim() == 2), op,
           ": out must be 3-D when a or b is 3-D, got out shape ", dk::shape_str(out.shape));
  for (auto [v, name] : {std::pair{&a, "a"}, std::pair{&b, "b"}})
    DK_CHECK(v->ndim() == 2 || v->shape[0] == batch, op, ": ", name, " has batch ", v->shape[0], " but out has ",
             batch);
  const int64_t ra = a.shape[a.ndim() - 2], ca = a.shape[a.ndim() - 1];
  const int64_t rb = b.shape[b.ndim() - 2], cb = b.shape[b.ndim() - 1];
  const int64_t M = trans_a ? ca : ra, K = trans_a ? ra : ca;
  const int64_t Kb = trans_b ? cb : rb, N = trans_b ? rb : cb;
  DK_CHECK(K == Kb, op, ": inner dimensions differ: op(a) is (", M, ", ", K, ") and op(b) is (", Kb, ", ", N, ")");
  DK_CHECK(out.size(-2) == M && out.size(-1) == N, op, ": out must end in (", M, ", ", N, "), got shape ",
           dk::shape_str(out.shape));
  if (bias) {
    dk::expect(*bias, "bias", op).device(device).contiguous().dtype(a.dtype).shape({N});
  }
  return {batch, M, N, K, a.ndim() == 3 ? M * K : 0, b.ndim() == 3 ? K * N : 0, M * N};
}

}  // namespace dk::bind
