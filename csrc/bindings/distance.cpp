// Distances: cdist (Euclidean through a GEMM, other p directly) and pairwise_distance,
// forward and backward.
#include <cmath>

#include "bindings/backend.h"
#include DK_KERNELS(distance.h)

namespace dk::bind {
namespace {

struct CdistShape {
  int64_t B, P, R, M;
};

// x1 (B, P, M) and x2 (B, R, M) on this backend, one float dtype; out/grad (B, P, R).
CdistShape cdist_shape(const TensorView& x1, const TensorView& x2, const char* op) {
  expect_device(x1, "x1", op);
  expect_device(x2, "x2", op);
  expect(x1, "x1", op).ndim(3);
  expect(x2, "x2", op).ndim(3).dtype(x1.dtype);
  DK_CHECK(x2.shape[0] == x1.shape[0] && x2.shape[2] == x1.shape[2], op, ": x2 must have shape (", x1.shape[0],
           ", R, ", x1.shape[2], ") to match x1 of shape ", shape_str(x1.shape), ", got ", shape_str(x2.shape));
  return {x1.shape[0], x1.shape[1], x2.shape[1], x1.shape[2]};
}

void expect_out(const TensorView& v, const char* name, const char* op, DType dtype, std::vector<int64_t> shape) {
  expect_device(v, name, op);
  expect(v, name, op).dtype(dtype).shape(shape).writable();
}

void expect_in(const TensorView& v, const char* name, const char* op, DType dtype, std::vector<int64_t> shape) {
  expect_device(v, name, op);
  expect(v, name, op).dtype(dtype).shape(shape);
}

void check_p(double p, const char* op) {
  DK_CHECK(p >= 0 && !std::isnan(p), op, ": p must be >= 0 (or inf), got ", p);
}

}  // namespace

void bind_distance(py::module_& m) {
  def(
      m, "cdist_euclidean_forward",
      [](Launch launch, const TensorView& x1, const TensorView& x2, const TensorView& out, const TensorView& work,
         bool squared) {
        const char* op = "cdist_euclidean_forward";
        const CdistShape s = cdist_shape(x1, x2, op);
        expect_out(out, "out", op, x1.dtype, {s.B, s.P, s.R});
        expect_out(work, "work", op, x1.dtype, {s.B * (s.P + s.R)});
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (s.B * (s.P + s.R) == 0) return;
          launch(kernels::cdist_euclidean_forward<T>, x1.ptr<T>(), x2.ptr<T>(), out.ptr<T>(), work.ptr<T>(), s.B, s.P,
                 s.R, s.M, squared);
        });
      },
      "x1"_a, "x2"_a, "out"_a, "work"_a, "squared"_a);
  def(
      m, "cdist_euclidean_backward",
      [](Launch launch, const TensorView& g, const TensorView& x1, const TensorView& x2, const TensorView& dist,
         const TensorView& gx1, const TensorView& gx2, const TensorView& work, bool squared) {
        const char* op = "cdist_euclidean_backward";
        const CdistShape s = cdist_shape(x1, x2, op);
        expect_in(g, "grad_out", op, x1.dtype, {s.B, s.P, s.R});
        expect_in(dist, "dist", op, x1.dtype, {s.B, s.P, s.R});
        expect_out(gx1, "grad_x1", op, x1.dtype, x1.shape);
        expect_out(gx2, "grad_x2", op, x1.dtype, x2.shape);
        expect_out(work, "work", op, x1.dtype, {s.B * (s.P * s.R + 2 * s.P + s.R)});
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (s.B * (s.P + s.R) * s.M == 0) return;
          launch(kernels::cdist_euclidean_backward<T>, g.ptr<T>(), x1.ptr<T>(), x2.ptr<T>(), dist.ptr<T>(),
                 gx1.ptr<T>(), gx2.ptr<T>(), work.ptr<T>(), s.B, s.P, s.R, s.M, squared);
        });
      },
      "grad_out"_a, "x1"_a, "x2"_a, "dist"_a, "grad_x1"_a, "grad_x2"_a, "work"_a, "squared"_a);
  def(
      m, "cdist_lp_forward",
      [](Launch launch, const TensorView& x1, const TensorView& x2, const TensorView& out, double p) {
        const char* op = "cdist_lp_forward";
        const CdistShape s = cdist_shape(x1, x2, op);
        check_p(p, op);
        expect_out(out, "out", op, x1.dtype, {s.B, s.P, s.R});
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (s.B * s.P * s.R == 0) return;
          launch(kernels::cdist_lp_forward<T>, x1.ptr<T>(), x2.ptr<T>(), out.ptr<T>(), s.B, s.P, s.R, s.M, p);
        });
      },
      "x1"_a, "x2"_a, "out"_a, "p"_a);
  def(
      m, "cdist_lp_backward",
      [](Launch launch, const TensorView& g, const TensorView& x1, const TensorView& x2, const TensorView& dist,
         const TensorView& gx1, const TensorView& gx2, double p) {
        const char* op = "cdist_lp_backward";
        const CdistShape s = cdist_shape(x1, x2, op);
        check_p(p, op);
        expect_in(g, "grad_out", op, x1.dtype, {s.B, s.P, s.R});
        expect_in(dist, "dist", op, x1.dtype, {s.B, s.P, s.R});
        expect_out(gx1, "grad_x1", op, x1.dtype, x1.shape);
        expect_out(gx2, "grad_x2", op, x1.dtype, x2.shape);
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (s.B * (s.P + s.R) * s.M == 0) return;
          launch(kernels::cdist_lp_backward<T>, g.ptr<T>(), x1.ptr<T>(), x2.ptr<T>(), dist.ptr<T>(), gx1.ptr<T>(),
                 gx2.ptr<T>(), s.B, s.P, s.R, s.M, p);
        });
      },
      "grad_out"_a, "x1"_a, "x2"_a, "dist"_a, "grad_x1"_a, "grad_x2"_a, "p"_a);
  def(
      m, "pairwise_distance_forward",
      [](Launch launch, const TensorView& x1, const TensorView& x2, const TensorView& out, double p, double eps) {
        const char* op = "pairwise_distance_forward";
        expect_device(x1, "x1", op);
        expect(x1, "x1", op).ndim(2);
        expect_in(x2, "x2", op, x1.dtype, x1.shape);
        check_p(p, op);
        expect_out(out, "out", op, x1.dtype, {x1.shape[0]});
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (x1.shape[0] == 0) return;
          launch(kernels::pairwise_distance_forward<T>, x1.ptr<T>(), x2.ptr<T>(), out.ptr<T>(), x1.shape[0],
                 x1.shape[1], p, eps);
        });
      },
      "x1"_a, "x2"_a, "out"_a, "p"_a, "eps"_a);
  def(
      m, "pairwise_distance_backward",
      [](Launch launch, const TensorView& g, const TensorView& x1, const TensorView& x2, const TensorView& dist,
         const TensorView& gx1, double p, double eps) {
        const char* op = "pairwise_distance_backward";
        expect_device(x1, "x1", op);
        expect(x1, "x1", op).ndim(2);
        expect_in(x2, "x2", op, x1.dtype, x1.shape);
        check_p(p, op);
        expect_in(g, "grad_out", op, x1.dtype, {x1.shape[0]});
        expect_in(dist, "dist", op, x1.dtype, {x1.shape[0]});
        expect_out(gx1, "grad_x1", op, x1.dtype, x1.shape);
        dispatch_float(x1.dtype, op, [&](auto t) {
          using T = decltype(t);
          if (x1.numel() == 0) return;
          launch(kernels::pairwise_distance_backward<T>, g.ptr<T>(), x1.ptr<T>(), x2.ptr<T>(), dist.ptr<T>(),
                 gx1.ptr<T>(), x1.shape[0], x1.shape[1], p, eps);
        });
      },
      "grad_out"_a, "x1"_a, "x2"_a, "dist"_a, "grad_x1"_a, "p"_a, "eps"_a);
}

}  // namespace dk::bind
