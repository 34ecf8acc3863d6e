#include "bindings/cuda_common.h"
#include "bindings/rnn_common.h"
#include "cuda/rnn.h"

void bind_cuda_rnn(py::module_& m) {
  using dk::Device;
  using dk::TensorView;
  using dk::bind::OptView;
  m.def(
      "rnn_workspace_size",
      // `stream` is unused: accepted because every CUDA entry is called with one.
      [](const std::string& cell, int64_t steps, int64_t batch, int64_t hidden, bool backward, std::uintptr_t) {
        const dk::Cell c = dk::bind::parse_cell(cell);
        return backward ? dk::rnn_backward_workspace(c, steps, batch, hidden)
                        : dk::rnn_forward_workspace(c, steps, batch, hidden);
      },
      "cell"_a, "steps"_a, "batch"_a, "hidden"_a, "backward"_a, "stream"_a = 0);
  m.def(
      "rnn_forward",
      [](const std::string& cell, const TensorView& x, const TensorView& h0, const OptView& c0,
         const TensorView& w_ih, const TensorView& w_hh, const OptView& b_ih, const OptView& b_hh,
         const OptView& lengths, bool reverse, const TensorView& hs, const OptView& cs, const OptView& saved,
         const OptView& work, std::uintptr_t stream) {
        const char* op = "rnn_forward";
        const auto s = dk::bind::check_inputs(op, cell, Device::cuda, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths);
        dk::bind::check_forward_outputs(op, s, Device::cuda, x.dtype, hs, cs, saved, work);
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          const auto q = dk::bind::make_seq<T>(s, reverse, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths);
          py::gil_scoped_release nogil;
          dk::cuda::rnn_forward<T>(s.cell, q, hs.ptr<T>(), dk::bind::mptr<T>(cs), dk::bind::mptr<T>(saved),
                                   dk::bind::mptr<T>(work), dk::bind::as_stream(stream));
        });
      },
      "cell"_a, "x"_a, "h0"_a, "c0"_a, "w_ih"_a, "w_hh"_a, "b_ih"_a, "b_hh"_a, "lengths"_a, "reverse"_a, "hs"_a,
      "cs"_a, "saved"_a, "work"_a, "stream"_a = 0);
  m.def(
      "rnn_backward",
      [](const std::string& cell, const TensorView& x, const TensorView& h0, const OptView& c0,
         const TensorView& w_ih, const TensorView& w_hh, const OptView& lengths, bool reverse, const TensorView& hs,
         const OptView& cs, const OptView& saved, const OptView& grad_hs, const OptView& grad_hn,
         const OptView& grad_cn, const TensorView& dx, const TensorView& dh0, const OptView& dc0,
         const TensorView& dw_ih, const TensorView& dw_hh, const OptView& db_ih, const OptView& db_hh,
         const OptView& work, std::uintptr_t stream) {
        const char* op = "rnn_backward";
        const auto s = dk::bind::check_inputs(op, cell, Device::cuda, x, h0, c0, w_ih, w_hh, std::nullopt,
                                              std::nullopt, lengths);
        dk::bind::check_backward_arrays(op, s, Device::cuda, x.dtype, hs, cs, saved, grad_hs, grad_hn, grad_cn,
                                        dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, work);
        dk::dispatch_float(x.dtype, op, [&](auto t) {
          using T = decltype(t);
          using dk::bind::cptr;
          using dk::bind::mptr;
          const auto q = dk::bind::make_seq<T>(s, reverse, x, h0, c0, w_ih, w_hh, std::nullopt, std::nullopt,
                                               lengths);
          py::gil_scoped_release nogil;
          dk::cuda::rnn_backward<T>(s.cell, q, hs.ptr<T>(), cptr<T>(cs), cptr<T>(saved), cptr<T>(grad_hs),
                                    cptr<T>(grad_hn), cptr<T>(grad_cn), dx.ptr<T>(), dh0.ptr<T>(), mptr<T>(dc0),
                                    dw_ih.ptr<T>(), dw_hh.ptr<T>(), mptr<T>(db_ih), mptr<T>(db_hh), mptr<T>(work),
                                    dk::bind::as_stream(stream));
        });
      },
      "cell"_a, "x"_a, "h0"_a, "c0"_a, "w_ih"_a, "w_hh"_a, "lengths"_a, "reverse"_a, "hs"_a, "cs"_a, "saved"_a,
      "grad_hs"_a, "grad_hn"_a, "grad_cn"_a, "dx"_a, "dh0"_a, "dc0"_a, "dw_ih"_a, "dw_hh"_a, "db_ih"_a, "db_hh"_a,
      "work"_a, "stream"_a = 0);
}
