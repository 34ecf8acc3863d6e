// Matrix products: gemm (batched, transposes, alpha/beta, bias) and column sums.
#include <optional>
#include <utility>

#include "bindings/backend.h"
#include DK_KERNELS(gemm.h)

namespace dk::bind {
namespace {

// Sizes of one gemm call, checked against every array before any pointer is used.
// a, b are 2-D, or 3-D with the batch first (a 2-D operand is broadcast over the batch);
// out is (M, N) or (batch, M, N).
struct GemmShape {
  int64_t batch, M, N, K, stride_a, stride_b, stride_c;
};

GemmShape check_gemm(const TensorView& a, const TensorView& b, const TensorView& out, bool trans_a, bool trans_b,
                     const OptView& bias) {
  const char* op = "gemm";
  for (auto [v, name] : {std::pair{&a, "a"}, std::pair{&b, "b"}, std::pair{&out, "out"}}) {
    expect_device(*v, name, op);
    DK_CHECK(v->ndim() == 2 || v->ndim() == 3, op, ": ", name, " must be 2-D or 3-D, got shape ", shape_str(v->shape));
  }
  expect(b, "b", op).dtype(a.dtype);
  expect(out, "out", op).dtype(a.dtype).writable();
  const int64_t batch = out.ndim() == 3 ? out.shape[0] : 1;
  DK_CHECK(out.ndim() == 3 || (a.ndim() == 2 && b.ndim() == 2), op,
           ": out must be 3-D when a or b is 3-D, got out shape ", shape_str(out.shape));
  for (auto [v, name] : {std::pair{&a, "a"}, std::pair{&b, "b"}})
    DK_CHECK(v->ndim() == 2 || v->shape[0] == batch, op, ": ", name, " has batch ", v->shape[0], " but out has ",
             batch);
  const int64_t ra = a.shape[a.ndim() - 2], ca = a.shape[a.ndim() - 1];
  const int64_t rb = b.shape[b.ndim() - 2], cb = b.shape[b.ndim() - 1];
  const int64_t M = trans_a ? ca : ra, K = trans_a ? ra : ca;
  const int64_t Kb = trans_b ? cb : rb, N = trans_b ? rb : cb;
  DK_CHECK(K == Kb, op, ": inner dimensions differ: op(a) is (", M, ", ", K, ") and op(b) is (", Kb, ", ", N, ")");
  DK_CHECK(out.size(-2) == M && out.size(-1) == N, op, ": out must end in (", M, ", ", N, "), got shape ",
           shape_str(out.shape));
  if (bias) expect_device(*bias, "bias", op).dtype(a.dtype).shape({N});
  return {batch, M, N, K, a.ndim() == 3 ? M * K : 0, b.ndim() == 3 ? K * N : 0, M * N};
}

}  // namespace

void bind_gemm(py::module_& m) {
  def(
      m, "gemm",
      [](Launch launch, const TensorView& a, const TensorView& b, const TensorView& out, bool trans_a, bool trans_b,
         double alpha, double beta, const OptView& bias) {
        const GemmShape s = check_gemm(a, b, out, trans_a, trans_b, bias);
        dispatch_float(a.dtype, "gemm", [&](auto t) {
          using T = decltype(t);
          launch(kernels::gemm_batched<T>, s.batch, trans_a, trans_b, s.M, s.N, s.K, T(alpha), a.ptr<T>(), a.size(-1),
                 s.stride_a, b.ptr<T>(), b.size(-1), s.stride_b, T(beta), opt_ptr<T>(bias), out.ptr<T>(), s.N,
                 s.stride_c);
        });
      },
      "a"_a, "b"_a, "out"_a, "trans_a"_a = false, "trans_b"_a = false, "alpha"_a = 1.0, "beta"_a = 0.0,
      "bias"_a = py::none(),
      "out = alpha * op(a) @ op(b) + beta * out (+ bias): a (M, K) or (K, M) if trans_a, b (K, N) or "
      "(N, K) if trans_b, out (M, N); or batched with a leading batch dim (2-D operands broadcast); "
      "bias (N,). beta == 0 does not read out.");
  def(
      m, "column_sum",
      [](Launch launch, const TensorView& x, const TensorView& out) {
        const char* op = "column_sum";
        expect_device(x, "x", op);
        expect_device(out, "out", op);
        expect(x, "x", op).ndim(2);
        expect(out, "out", op).dtype(x.dtype).shape({x.shape[1]}).writable();
        dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          launch(kernels::column_sum<T>, x.shape[0], x.shape[1], x.ptr<T>(), x.shape[1], out.ptr<T>());
        });
      },
      "x"_a, "out"_a, "out[j] = sum_i x[i, j] for x (M, N), out (N,).");
}

}  // namespace dk::bind
