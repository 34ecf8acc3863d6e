// GloVe: the fused AdaGrad pass over co-occurrence pairs (every backend), and on the CPU the
// co-occurrence counting (pair records, then sort-and-sum).
#include "bindings/backend.h"
#include DK_KERNELS(glove.h)

namespace dk::bind {

void bind_glove(py::module_& m) {
  def(
      m, "glove_train",
      [](Launch launch, const TensorView& W, const TensorView& Wc, const TensorView& b, const TensorView& bc,
         const TensorView& gW, const TensorView& gWc, const TensorView& gb, const TensorView& gbc,
         const TensorView& rows, const TensorView& cols, const TensorView& log_x, const TensorView& weight,
         const TensorView& workspace, const TensorView& stats, double learning_rate, int64_t workers) {
        const char* op = "glove_train";
        expect_device(W, "W", op).ndim(2).writable();
        const int64_t V = W.size(0), D = W.size(1), n = rows.numel();
        for (auto [v, name] : {std::pair{&Wc, "Wc"}, {&gW, "gW"}, {&gWc, "gWc"}})
          expect_device(*v, name, op).dtype(W.dtype).shape({V, D}).writable();
        for (auto [v, name] : {std::pair{&b, "b"}, {&bc, "bc"}, {&gb, "gb"}, {&gbc, "gbc"}})
          expect_device(*v, name, op).dtype(W.dtype).shape({V}).writable();
        expect_device(rows, "rows", op).dtype(DType::i32).ndim(1);
        expect_device(cols, "cols", op).dtype(DType::i32).shape({n});
        expect_device(log_x, "log_x", op).dtype(W.dtype).shape({n});
        expect_device(weight, "weight", op).dtype(W.dtype).shape({n});
        expect_device(stats, "stats", op).dtype(DType::f64).shape({2}).writable();
        DK_CHECK(workers >= 1, op, ": workers must be >= 1, got ", workers);
        const int64_t need = kernels::glove_workspace_size(V, D, W.dtype == DType::f64 ? 8 : 4);
        expect_device(workspace, "workspace", op).dtype(DType::u8).ndim(1).writable();
        DK_CHECK(workspace.numel() >= need, op, ": workspace needs ", need, " bytes, got ", workspace.numel());
        if constexpr (!Backend::is_cuda) {  // indices address memory: check them (the GPU skips bad ones)
          for (auto [v, name] : {std::pair{&rows, "rows"}, {&cols, "cols"}}) {
            const int32_t* p = v->ptr<int32_t>();
            for (int64_t k = 0; k < n; ++k)
              DK_CHECK(p[k] >= 0 && p[k] < V, op, ": ", name, "[", k, "] = ", p[k], " is not a word id in [0, ", V,
                       ")");
          }
        }
        dispatch_float(W.dtype, op, [&](auto t) {
          using T = decltype(t);
          GloveArgs<T> a{W.ptr<T>(), Wc.ptr<T>(), b.ptr<T>(), bc.ptr<T>(), gW.ptr<T>(), gWc.ptr<T>(), gb.ptr<T>(),
                         gbc.ptr<T>(), V, D, rows.ptr<int32_t>(), cols.ptr<int32_t>(), log_x.ptr<T>(),
                         weight.ptr<T>(), n, learning_rate, static_cast<int>(workers), workspace.ptr<uint8_t>(),
                         stats.ptr<double>()};
          launch(kernels::glove_train<T>, a);
        });
      },
      "W"_a, "Wc"_a, "b"_a, "bc"_a, "gW"_a, "gWc"_a, "gb"_a, "gbc"_a, "rows"_a, "cols"_a, "log_x"_a, "weight"_a,
      "workspace"_a, "stats"_a, "learning_rate"_a, "workers"_a);
  def(
      m, "glove_workspace_size",
      [](Launch, int64_t vocab_size, int64_t dim, int64_t itemsize) {
        return kernels::glove_workspace_size(vocab_size, dim, itemsize);
      },
      "vocab_size"_a, "dim"_a, "itemsize"_a);
#if !defined(DK_BACKEND_CUDA)
  m.def(
      "glove_pairs",
      [](const TensorView& corpus, const TensorView& starts, int64_t window, int64_t vocab_size,
         const TensorView& keys, const TensorView& values) {
        const char* op = "glove_pairs";
        expect_device(corpus, "corpus", op).dtype(DType::i32).ndim(1);
        expect_device(starts, "sentence_starts", op).dtype(DType::i64).ndim(1);
        expect_device(keys, "keys", op).dtype(DType::i64).ndim(1).writable();
        expect_device(values, "values", op).dtype(DType::f64).shape({keys.numel()}).writable();
        DK_CHECK(window >= 1, op, ": window must be >= 1, got ", window);
        DK_CHECK(starts.numel() >= 1, op, ": sentence_starts needs at least one offset");
        const int64_t* st = starts.ptr<int64_t>();
        const int64_t S = starts.numel() - 1;
        DK_CHECK(st[0] >= 0 && st[S] <= corpus.numel(), op, ": sentence_starts must lie in [0, ", corpus.numel(), "]");
        int64_t pairs = 0;
        for (int64_t s = 0; s < S; ++s) {
          DK_CHECK(st[s] <= st[s + 1], op, ": sentence_starts must be non-decreasing at ", s);
          const int64_t len = st[s + 1] - st[s], w = window < len - 1 ? window : len - 1;
          if (w > 0) pairs += w * len - w * (w + 1) / 2;
        }
        DK_CHECK(keys.numel() >= pairs, op, ": keys / values need room for ", pairs, " pairs, got ", keys.numel());
        const int32_t* ids = corpus.ptr<int32_t>();
        for (int64_t p = st[0]; p < st[S]; ++p)
          DK_CHECK(ids[p] >= 0 && ids[p] < vocab_size, op, ": corpus[", p, "] = ", ids[p],
                   " is not a word id in [0, ", vocab_size, ")");
        py::gil_scoped_release nogil;
        return cpu::glove_pairs(ids, st, S, window, vocab_size, keys.ptr<int64_t>(), values.ptr<double>());
      },
      "corpus"_a, "sentence_starts"_a, "window"_a, "vocab_size"_a, "keys"_a, "values"_a);
  m.def(
      "glove_sort_reduce",
      [](const TensorView& keys, const TensorView& values, int64_t n, int64_t key_bound, const TensorView& scratch_keys,
         const TensorView& scratch_values) {
        const char* op = "glove_sort_reduce";
        expect_device(keys, "keys", op).dtype(DType::i64).ndim(1).writable();
        expect_device(values, "values", op).dtype(DType::f64).shape({keys.numel()}).writable();
        expect_device(scratch_keys, "scratch_keys", op).dtype(DType::i64).ndim(1).writable();
        expect_device(scratch_values, "scratch_values", op).dtype(DType::f64).shape({scratch_keys.numel()}).writable();
        DK_CHECK(n >= 0 && n <= keys.numel() && n <= scratch_keys.numel(), op, ": n = ", n,
                 " must be in [0, min(len(keys), len(scratch_keys))]");
        DK_CHECK(key_bound >= 1, op, ": key_bound must be >= 1, got ", key_bound);
        const int64_t* k = keys.ptr<int64_t>();
        for (int64_t i = 0; i < n; ++i)
          DK_CHECK(k[i] >= 0 && k[i] < key_bound, op, ": keys[", i, "] = ", k[i], " is outside [0, ", key_bound, ")");
        py::gil_scoped_release nogil;
        return cpu::glove_sort_reduce(keys.ptr<int64_t>(), values.ptr<double>(), n, key_bound,
                                      scratch_keys.ptr<int64_t>(), scratch_values.ptr<double>());
      },
      "keys"_a, "values"_a, "n"_a, "key_bound"_a, "scratch_keys"_a, "scratch_values"_a);
#endif
}

}  // namespace dk::bind
