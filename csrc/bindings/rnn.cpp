// Recurrent layers (tanh/relu RNN, GRU, LSTM) over a whole sequence: forward and backward of one
// direction of one layer, and the workspace each needs.
//
// Every shape of a sequence call is derived from x (T, B, I) and w_hh (G*H, H) and checked
// before any pointer is touched. Host lengths are range-checked here; on the GPU deepkern.ops
// checks them.
#include <string>
#include <vector>

#include "bindings/backend.h"
#include "core/rnn_kind.h"
#include DK_KERNELS(rnn.h)

namespace dk::bind {
namespace {

Cell parse_cell(const std::string& name) {
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

// Inputs of a sequence call (forward and backward share them).
RnnShapes check_inputs(const char* op, const std::string& cell_name, const TensorView& x, const TensorView& h0,
                       const OptView& c0, const TensorView& w_ih, const TensorView& w_hh, const OptView& b_ih,
                       const OptView& b_hh, const OptView& lengths) {
  RnnShapes s{parse_cell(cell_name), 0, 0, 0, 0, 0};
  expect_device(x, "x", op).ndim(3);
  const DType dt = x.dtype;
  s.S = x.shape[0];
  s.B = x.shape[1];
  s.I = x.shape[2];
  expect_device(w_hh, "w_hh", op).dtype(dt).ndim(2);
  s.H = w_hh.shape[1];
  DK_CHECK(s.H >= 1, op, ": hidden size must be >= 1, got w_hh.shape=", shape_str(w_hh.shape));
  s.GH = cell_gates(s.cell) * s.H;
  expect(w_hh, "w_hh", op).shape({s.GH, s.H});
  expect_device(w_ih, "w_ih", op).dtype(dt).shape({s.GH, s.I});
  expect_device(h0, "h0", op).dtype(dt).shape({s.B, s.H});
  DK_CHECK(c0.has_value() == (s.cell == Cell::lstm), op, ": c0 must be given for lstm and only for lstm");
  if (c0) expect_device(*c0, "c0", op).dtype(dt).shape({s.B, s.H});
  if (b_ih) expect_device(*b_ih, "b_ih", op).dtype(dt).shape({s.GH});
  if (b_hh) expect_device(*b_hh, "b_hh", op).dtype(dt).shape({s.GH});
  if (lengths) {
    expect_device(*lengths, "lengths", op).dtype(DType::i64).shape({s.B});
    if constexpr (!Backend::is_cuda) {
      const int64_t* l = lengths->ptr<int64_t>();
      for (int64_t b = 0; b < s.B; ++b)
        DK_CHECK(l[b] >= 1 && l[b] <= s.S, op, ": lengths[", b, "] must be in [1, ", s.S, "], got ", l[b]);
    }
  }
  return s;
}

// An array the call reads: of x's dtype and this shape.
void check_in(const TensorView& v, const char* name, const char* op, DType dt, const std::vector<int64_t>& shape) {
  expect_device(v, name, op).dtype(dt).shape(shape);
}

// An array the call writes.
void check_out(const TensorView& v, const char* name, const char* op, DType dt, const std::vector<int64_t>& shape) {
  expect_device(v, name, op).dtype(dt).shape(shape).writable();
}

void check_work(const OptView& work, const char* op, DType dt, int64_t needed) {
  if (needed == 0) return;
  DK_CHECK(work.has_value(), op, ": work (", needed, " elements) is required");
  expect_device(*work, "work", op).dtype(dt).writable();
  DK_CHECK(work->numel() >= needed, op, ": work must have at least ", needed, " elements, got ", work->numel());
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
  q.lengths = opt_ptr<int64_t>(lengths);
  q.x = x.ptr<T>();
  q.h0 = h0.ptr<T>();
  q.c0 = opt_ptr<T>(c0);
  q.w_ih = w_ih.ptr<T>();
  q.w_hh = w_hh.ptr<T>();
  q.b_ih = opt_ptr<T>(b_ih);
  q.b_hh = opt_ptr<T>(b_hh);
  return q;
}

}  // namespace

void bind_rnn(py::module_& m) {
  def(
      m, "rnn_workspace_size",
      [](Launch, const std::string& cell, int64_t steps, int64_t batch, int64_t hidden, bool backward) {
        const Cell c = parse_cell(cell);
        return backward ? rnn_backward_workspace(c, steps, batch, hidden)
                        : rnn_forward_workspace(c, steps, batch, hidden);
      },
      "cell"_a, "steps"_a, "batch"_a, "hidden"_a, "backward"_a);
  // Outputs: hs always, cs for LSTM, saved for GRU/LSTM, work as rnn_workspace_size says.
  def(
      m, "rnn_forward",
      [](Launch launch, const std::string& cell, const TensorView& x, const TensorView& h0, const OptView& c0,
         const TensorView& w_ih, const TensorView& w_hh, const OptView& b_ih, const OptView& b_hh,
         const OptView& lengths, bool reverse, const TensorView& hs, const OptView& cs, const OptView& saved,
         const OptView& work) {
        const char* op = "rnn_forward";
        const auto s = check_inputs(op, cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths);
        const DType dt = x.dtype;
        check_out(hs, "hs", op, dt, {s.S, s.B, s.H});
        DK_CHECK(cs.has_value() == (s.cell == Cell::lstm), op, ": cs must be given for lstm and only for lstm");
        if (cs) check_out(*cs, "cs", op, dt, {s.S, s.B, s.H});
        const int64_t sv = cell_saved(s.cell);
        DK_CHECK(saved.has_value() == (sv > 0), op, ": saved must be given for gru and lstm only");
        if (saved) check_out(*saved, "saved", op, dt, {s.S, s.B, sv * s.H});
        check_work(work, op, dt, rnn_forward_workspace(s.cell, s.S, s.B, s.H));
        dispatch_float(dt, op, [&](auto t) {
          using T = decltype(t);
          const auto q = make_seq<T>(s, reverse, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths);
          launch(kernels::rnn_forward<T>, s.cell, q, hs.ptr<T>(), opt_ptr<T>(cs), opt_ptr<T>(saved), opt_ptr<T>(work));
        });
      },
      "cell"_a, "x"_a, "h0"_a, "c0"_a, "w_ih"_a, "w_hh"_a, "b_ih"_a, "b_hh"_a, "lengths"_a, "reverse"_a, "hs"_a,
      "cs"_a, "saved"_a, "work"_a);
  def(
      m, "rnn_backward",
      [](Launch launch, const std::string& cell, const TensorView& x, const TensorView& h0, const OptView& c0,
         const TensorView& w_ih, const TensorView& w_hh, const OptView& lengths, bool reverse, const TensorView& hs,
         const OptView& cs, const OptView& saved, const OptView& grad_hs, const OptView& grad_hn,
         const OptView& grad_cn, const TensorView& dx, const TensorView& dh0, const OptView& dc0,
         const TensorView& dw_ih, const TensorView& dw_hh, const OptView& db_ih, const OptView& db_hh,
         const OptView& work) {
        const char* op = "rnn_backward";
        const auto s = check_inputs(op, cell, x, h0, c0, w_ih, w_hh, std::nullopt, std::nullopt, lengths);
        const DType dt = x.dtype;
        const bool lstm = s.cell == Cell::lstm;
        check_in(hs, "hs", op, dt, {s.S, s.B, s.H});
        DK_CHECK(cs.has_value() == lstm, op, ": cs must be given for lstm and only for lstm");
        if (cs) check_in(*cs, "cs", op, dt, {s.S, s.B, s.H});
        const int64_t sv = cell_saved(s.cell);
        DK_CHECK(saved.has_value() == (sv > 0), op, ": saved must be given for gru and lstm only");
        if (saved) check_in(*saved, "saved", op, dt, {s.S, s.B, sv * s.H});
        if (grad_hs) check_in(*grad_hs, "grad_hs", op, dt, {s.S, s.B, s.H});
        if (grad_hn) check_in(*grad_hn, "grad_hn", op, dt, {s.B, s.H});
        DK_CHECK(!grad_cn.has_value() || lstm, op, ": grad_cn is for lstm only");
        if (grad_cn) check_in(*grad_cn, "grad_cn", op, dt, {s.B, s.H});
        check_out(dx, "dx", op, dt, {s.S, s.B, s.I});
        check_out(dh0, "dh0", op, dt, {s.B, s.H});
        DK_CHECK(dc0.has_value() == lstm, op, ": dc0 must be given for lstm and only for lstm");
        if (dc0) check_out(*dc0, "dc0", op, dt, {s.B, s.H});
        check_out(dw_ih, "dw_ih", op, dt, {s.GH, s.I});
        check_out(dw_hh, "dw_hh", op, dt, {s.GH, s.H});
        if (db_ih) check_out(*db_ih, "db_ih", op, dt, {s.GH});
        if (db_hh) check_out(*db_hh, "db_hh", op, dt, {s.GH});
        check_work(work, op, dt, rnn_backward_workspace(s.cell, s.S, s.B, s.H));
        dispatch_float(dt, op, [&](auto t) {
          using T = decltype(t);
          const auto q = make_seq<T>(s, reverse, x, h0, c0, w_ih, w_hh, std::nullopt, std::nullopt, lengths);
          launch(kernels::rnn_backward<T>, s.cell, q, hs.ptr<T>(), opt_ptr<T>(cs), opt_ptr<T>(saved),
                 opt_ptr<T>(grad_hs), opt_ptr<T>(grad_hn), opt_ptr<T>(grad_cn), dx.ptr<T>(), dh0.ptr<T>(),
                 opt_ptr<T>(dc0), dw_ih.ptr<T>(), dw_hh.ptr<T>(), opt_ptr<T>(db_ih), opt_ptr<T>(db_hh),
                 opt_ptr<T>(work));
        });
      },
      "cell"_a, "x"_a, "h0"_a, "c0"_a, "w_ih"_a, "w_hh"_a, "lengths"_a, "reverse"_a, "hs"_a, "cs"_a, "saved"_a,
      "grad_hs"_a, "grad_hn"_a, "grad_cn"_a, "dx"_a, "dh0"_a, "dc0"_a, "dw_ih"_a, "dw_hh"_a, "db_ih"_a, "db_hh"_a,
      "work"_a);
}

}  // namespace dk::bind
