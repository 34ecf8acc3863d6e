// Argument checks shared by the CPU and CUDA rnn bindings: every shape of a sequence call is
// derived from x (T, B, I) and w_hh (G*H, H) and checked before any pointer is touched.
#pragma once
#include <optional>
#include <string>

#include "bindings/common.h"
#include "core/rnn_kind.h"

namespace dk::bind {

using OptView = std::optional<TensorView>;

inline Cell parse_cell(const std::string& name) {
  if (name == "rnn_tanh") return Cell::rnn_tanh;
  if (name == "rnn_relu") return Cell::rnn_relu;
  if (name == "gru") return Cell::gru;
  if (name == "lstm") return Cell::lstm;
  throw std::invalid_argument("rnn: unknown cell '" + name + "' (rnn_tanh, rnn_relu, gru, lstm)");
}

struct RnnShapes {
  Cell cell;
  int64_t S, B, I, H, GH;
};

inline void expect_on(const TensorView& v, const char* name, const char* op, Device dev, DType dtype) {
  expect(v, name, op).device(dev).contiguous().dtype(dtype);
}

// Inputs of a sequence call (forward and backward share them).
inline RnnShapes check_inputs(const char* op, const std::string& cell_name, Device dev, const TensorView& x,
                              const TensorView& h0, const OptView& c0, const TensorView& w_ih,
                              const TensorView& w_hh, const OptView& b_ih, const OptView& b_hh,
                              const OptView& lengths) {
  RnnShapes s{parse_cell(cell_name), 0, 0, 0, 0, 0};
  expect(x, "x", op).device(dev).contiguous().ndim(3);
  const DType dt = x.dtype;
  s.S = x.shape[0];
  s.B = x.shape[1];
  s.I = x.shape[2];
  expect_on(w_hh, "w_hh", op, dev, dt);
  expect(w_hh, "w_hh", op).ndim(2);
  s.H = w_hh.shape[1];
  DK_CHECK(s.H >= 1, op, ": hidden size must be >= 1, got w_hh.shape=", shape_str(w_hh.shape));
  s.GH = cell_gates(s.cell) * s.H;
  expect(w_hh, "w_hh", op).shape({s.GH, s.H});
  expect_on(w_ih, "w_ih", op, dev, dt);
  expect(w_ih, "w_ih", op).shape({s.GH, s.I});
  expect_on(h0, "h0", op, dev, dt);
  expect(h0, "h0", op).shape({s.B, s.H});
  DK_CHECK(c0.has_value() == (s.cell == Cell::lstm), op, ": c0 must be given for lstm and only for lstm");
  if (c0) {
    expect_on(*c0, "c0", op, dev, dt);
    expect(*c0, "c0", op).shape({s.B, s.H});
  }
  if (b_ih) {
    expect_on(*b_ih, "b_ih", op, dev, dt);
    expect(*b_ih, "b_ih", op).shape({s.GH});
  }
  if (b_hh) {
    expect_on(*b_hh, "b_hh", op, dev, dt);
    expect(*b_hh, "b_hh", op).shape({s.GH});
  }
  if (lengths) {
    expect_on(*lengths, "lengths", op, dev, DType::i64);
    expect(*lengths, "lengths", op).shape({s.B});
  }
  return s;
}

inline void check_out(const TensorView& v, const char* name, const char* op, Device dev, DType dt,
                      const std::vector<int64_t>& shape) {
  expect_on(v, name, op, dev, dt);
  expect(v, name, op).shape(shape).writable();
}

inline void check_work(const OptView& work, const char* op, Device dev, DType dt, int64_t needed) {
  if (needed == 0) return;
  DK_CHECK(work.has_value(), op, ": work (", needed, " elements) is required");
  expect_on(*work, "work", op, dev, dt);
  expect(*work, "work", op).writable();
  DK_CHECK(work->numel() >= needed, op, ": work must have at least ", needed, " elements, got ", work->numel());
}

template <typename T>
const T* cptr(const OptView& v) {
  return v ? v->ptr<T>() : nullptr;
}

template <typename T>
T* mptr(const OptView& v) {
  return v ? v->ptr<T>() : nullptr;
}

template <typename T>
RnnSeq<T> make_seq(const RnnShapes& s, bool reverse, const TensorView& x, const TensorView& h0, const OptView& c0,
                   const TensorView& w_ih, const TensorView& w_hh, const OptView& b_ih, const OptView& b_hh,
                   const OptView& lengths) {
  RnnSeq<T> q;
  q.steps = s.S;
  q.batch = s.B;
  q.input = s.I;
  q.hidden = s.H;
  q.reverse = reverse;
  q.lengths = cptr<int64_t>(lengths);
  q.x = x.ptr<T>();
  q.h0 = h0.ptr<T>();
  q.c0 = cptr<T>(c0);
  q.w_ih = w_ih.ptr<T>();
  q.w_hh = w_hh.ptr<T>();
  q.b_ih = cptr<T>(b_ih);
  q.b_hh = cptr<T>(b_hh);
  return q;
}

// Outputs of a forward call: hs always, cs for LSTM, saved for GRU/LSTM, work as needed.
inline void check_forward_outputs(const char* op, const RnnShapes& s, Device dev, DType dt, const TensorView& hs,
                                  const OptView& cs, const OptView& saved, const OptView& work) {
  check_out(hs, "hs", op, dev, dt, {s.S, s.B, s.H});
  const bool lstm = s.cell == Cell::lstm;
  DK_CHECK(cs.has_value() == lstm, op, ": cs must be given for lstm and only for lstm");
  if (cs) check_out(*cs, "cs", op, dev, dt, {s.S, s.B, s.H});
  const int64_t sv = cell_saved(s.cell);
  DK_CHECK(saved.has_value() == (sv > 0), op, ": saved must be given for gru and lstm only");
  if (saved) check_out(*saved, "saved", op, dev, dt, {s.S, s.B, sv * s.H});
  check_work(work, op, dev, dt, rnn_forward_workspace(s.cell, s.S, s.B, s.H));
}

// Everything a backward call reads besides the inputs, and what it writes.
inline void check_backward_arrays(const char* op, const RnnShapes& s, Device dev, DType dt, const TensorView& hs,
                                  const OptView& cs, const OptView& saved, const OptView& grad_hs,
                                  const OptView& grad_hn, const OptView& grad_cn, const TensorView& dx,
                                  const TensorView& dh0, const OptView& dc0, const TensorView& dw_ih,
                                  const TensorView& dw_hh, const OptView& db_ih, const OptView& db_hh,
                                  const OptView& work) {
  const bool lstm = s.cell == Cell::lstm;
  expect_on(hs, "hs", op, dev, dt);
  expect(hs, "hs", op).shape({s.S, s.B, s.H});
  DK_CHECK(cs.has_value() == lstm, op, ": cs must be given for lstm and only for lstm");
  if (cs) {
    expect_on(*cs, "cs", op, dev, dt);
    expect(*cs, "cs", op).shape({s.S, s.B, s.H});
  }
  const int64_t sv = cell_saved(s.cell);
  DK_CHECK(saved.has_value() == (sv > 0), op, ": saved must be given for gru and lstm only");
  if (saved) {
    expect_on(*saved, "saved", op, dev, dt);
    expect(*saved, "saved", op).shape({s.S, s.B, sv * s.H});
  }
  if (grad_hs) {
    expect_on(*grad_hs, "grad_hs", op, dev, dt);
    expect(*grad_hs, "grad_hs", op).shape({s.S, s.B, s.H});
  }
  if (grad_hn) {
    expect_on(*grad_hn, "grad_hn", op, dev, dt);
    expect(*grad_hn, "grad_hn", op).shape({s.B, s.H});
  }
  DK_CHECK(!grad_cn.has_value() || lstm, op, ": grad_cn is for lstm only");
  if (grad_cn) {
    expect_on(*grad_cn, "grad_cn", op, dev, dt);
    expect(*grad_cn, "grad_cn", op).shape({s.B, s.H});
  }
  check_out(dx, "dx", op, dev, dt, {s.S, s.B, s.I});
  check_out(dh0, "dh0", op, dev, dt, {s.B, s.H});
  DK_CHECK(dc0.has_value() == lstm, op, ": dc0 must be given for lstm and only for lstm");
  if (dc0) check_out(*dc0, "dc0", op, dev, dt, {s.B, s.H});
  check_out(dw_ih, "dw_ih", op, dev, dt, {s.GH, s.I});
  check_out(dw_hh, "dw_hh", op, dev, dt, {s.GH, s.H});
  if (db_ih) check_out(*db_ih, "db_ih", op, dev, dt, {s.GH});
  if (db_hh) check_out(*db_hh, "db_hh", op, dev, dt, {s.GH});
  check_work(work, op, dev, dt, rnn_backward_workspace(s.cell, s.S, s.B, s.H));
}

}  // namespace dk::bind
