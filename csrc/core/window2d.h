// Geometry of 2-D sliding-window ops (convolution and pooling), shared by the CPU and CUDA
// entry points. The bindings build these from the arrays' shapes and the Python arguments and
// call check(), which throws (ValueError) on anything a kernel could not handle safely, so a
// kernel only ever sees consistent sizes. Layout: NCHW images, conv weight
// (K = C_out, C_in / groups, R = kH, S = kW) as in PyTorch; output (N, K, P, Q).
#pragma once
#include <cstdint>

#include "core/checks.h"

#ifdef __CUDACC__
#define DK_WINDOW_FN __host__ __device__ inline
#else
#define DK_WINDOW_FN inline
#endif

namespace dk {

// Output positions o in [lo, hi) whose input position o * stride + off lies in [0, in), for
// `out` outputs (the in-bounds part of one kernel tap's row, so inner loops need no test).
struct OutRange {
  int64_t lo, hi;
};
inline OutRange valid_out_range(int64_t off, int64_t stride, int64_t in, int64_t out) {
  int64_t lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t hi = in - 1 - off < 0 ? 0 : (in - 1 - off) / stride + 1;
  lo = lo < out ? lo : out;
  hi = hi < out ? hi : out;
  return {lo, hi > lo ? hi : lo};
}

// Which pass a convolution workspace is for.
enum class ConvPass { forward, backward_data, backward_weight };

// The conv2d pass that computes a transposed-convolution pass (each is the other's adjoint).
inline ConvPass conv_transpose_pass(ConvPass pass) {
  return pass == ConvPass::forward ? ConvPass::backward_data
         : pass == ConvPass::backward_data ? ConvPass::forward
                                           : ConvPass::backward_weight;
}

struct Conv2dGeom {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input (N, C, H, W)
  int64_t K = 0, R = 0, S = 0;         // weight (K, C / groups, R, S)
  int64_t P = 0, Q = 0;                // output (N, K, P, Q)
  int64_t groups = 1;
  int64_t sh = 1, sw = 1;              // stride
  int64_t pt = 0, pb = 0, pl = 0, pr = 0;  // padding top, bottom, left, right ('same' may be uneven)
  int64_t dh = 1, dw = 1;              // dilation

  int64_t Cg() const { return C / groups; }
  int64_t Kg() const { return K / groups; }
  int64_t PQ() const { return P * Q; }
  int64_t HW() const { return H * W; }
  int64_t CRSg() const { return Cg() * R * S; }  // GEMM reduction length per group (forward)
  // 1x1 kernel, stride 1, no padding and the output the size of the input: the GEMM runs on
  // the NCHW data directly (no im2col). A transposed convolution's output_padding makes P, Q
  // smaller than H, W (the geometry is the adjoint conv2d's), which needs the general path.
  bool pointwise() const {
    return R == 1 && S == 1 && sh == 1 && sw == 1 && pt == 0 && pb == 0 && pl == 0 && pr == 0 && P == H && Q == W;
  }

  // Fills P and Q from the rest and validates everything (throws std::invalid_argument).
  void finish(const char* op) {
    DK_CHECK(N >= 0 && C >= 0 && H >= 0 && W >= 0, op, ": negative input size");
    DK_CHECK(K >= 0 && R >= 1 && S >= 1, op, ": weight must have kernel sizes >= 1, got (", R, ", ", S, ")");
    DK_CHECK(groups >= 1, op, ": groups must be >= 1, got ", groups);
    DK_CHECK(C % groups == 0 && K % groups == 0, op, ": groups=", groups, " must divide the input channels (", C,
             ") and the output channels (", K, ")");
    DK_CHECK(sh >= 1 && sw >= 1, op, ": stride must be >= 1, got (", sh, ", ", sw, ")");
    DK_CHECK(dh >= 1 && dw >= 1, op, ": dilation must be >= 1, got (", dh, ", ", dw, ")");
    DK_CHECK(pt >= 0 && pb >= 0 && pl >= 0 && pr >= 0, op, ": padding must be >= 0");
    const int64_t eh = dh * (R - 1) + 1, ew = dw * (S - 1) + 1;
    DK_CHECK(H + pt + pb >= eh && W + pl + pr >= ew, op, ": dilated kernel (", eh, ", ", ew,
             ") is larger than the padded input (", H + pt + pb, ", ", W + pl + pr, ")");
    P = (H + pt + pb - eh) / sh + 1;
    Q = (W + pl + pr - ew) / sw + 1;
  }
};

// Pooling windows as PyTorch's: tap (r, s) of output (p, q) reads input (p*sh - ph + r*dh,
// q*sw - pw + s*dw). ceil_mode rounds the output size up (a last window may overhang the
// padded input) but never starts a window past the input and its left/top padding; divisor,
// when nonzero, replaces an average's divisor (PyTorch's divisor_override).
struct Pool2dGeom {
  int64_t planes = 0, H = 0, W = 0;  // input (planes = N * C, H, W)
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  int64_t dh = 1, dw = 1;            // dilation (max pooling)
  bool ceil_mode = false;
  int64_t divisor = 0;               // average pooling: 0 = the window's count
  int64_t P = 0, Q = 0;              // output (planes, P, Q)

  static int64_t out_size(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil) {
    const int64_t span = n + 2 * p - d * (k - 1) - 1;  // >= 0, checked by finish
    int64_t o = (span + (ceil ? s - 1 : 0)) / s + 1;
    if (ceil && (o - 1) * s >= n + p) --o;              // the last window must start inside
    return o;
  }

  void finish(const char* op) {
    DK_CHECK(planes >= 0 && H >= 0 && W >= 0, op, ": negative input size");
    DK_CHECK(kh >= 1 && kw >= 1, op, ": kernel_size must be >= 1, got (", kh, ", ", kw, ")");
    DK_CHECK(sh >= 1 && sw >= 1, op, ": stride must be >= 1, got (", sh, ", ", sw, ")");
    DK_CHECK(dh >= 1 && dw >= 1, op, ": dilation must be >= 1, got (", dh, ", ", dw, ")");
    DK_CHECK(divisor >= 0, op, ": divisor_override must be positive, got ", divisor);
    const int64_t eh = dh * (kh - 1) + 1, ew = dw * (kw - 1) + 1;  // the dilated window
    DK_CHECK(ph >= 0 && pw >= 0 && 2 * ph <= kh && 2 * pw <= kw, op, ": padding (", ph, ", ", pw,
             ") must be >= 0 and at most half of kernel_size (", kh, ", ", kw, ")");  // PyTorch's rule
    DK_CHECK(H + 2 * ph >= eh && W + 2 * pw >= ew, op, ": kernel_size (", eh, ", ", ew,
             ") is larger than the padded input (", H + 2 * ph, ", ", W + 2 * pw, ")");
    P = out_size(H, kh, sh, ph, dh, ceil_mode);
    Q = out_size(W, kw, sw, pw, dw, ceil_mode);
  }

  // The divisor of average-pooling output (p, q) whose window has `rows` x `cols` in-image taps:
  // the override, the window clipped to the padded input (count_include_pad), or rows * cols.
  DK_WINDOW_FN int64_t avg_divisor(bool count_include_pad, int64_t p, int64_t q, int64_t rows,
                                     int64_t cols) const {
    if (divisor) return divisor;
    if (!count_include_pad) return rows * cols;
    const int64_t hs = p * sh - ph, ws = q * sw - pw;
    const int64_t he = hs + kh < H + ph ? hs + kh : H + ph, we = ws + kw < W + pw ? ws + kw : W + pw;
    return (he - hs) * (we - ws);
  }
};

}  // namespace dk
