// word2vec training (skip-gram / CBOW, negative sampling / hierarchical softmax): one entry
// that trains a range of sentences in place, and the size of the scratch it needs.
//
// Every array is checked for device, dtype, shape and contiguity. On the CPU the binding also
// checks the values that index memory — the sentence offsets, the word ids of the sentences
// trained, the alias table and the Huffman paths — so a direct call cannot read or write out of
// bounds; the CUDA kernels cannot be checked from the host without a copy, so they guard their
// own indices (an out-of-range id is skipped).
#include <string>

#include "bindings/backend.h"
#include DK_KERNELS(word2vec.h)

namespace dk::bind {
namespace {

const char* const kOp = "word2vec_train";

template <typename I>
[[maybe_unused]] void check_range(const TensorView& v, const char* name, int64_t lo, int64_t hi) {
  const I* p = v.ptr<I>();
  for (int64_t i = 0; i < v.numel(); ++i)
    DK_CHECK(p[i] >= lo && p[i] < hi, kOp, ": ", name, "[", i, "] = ", static_cast<int64_t>(p[i]),
             " is outside [", lo, ", ", hi, ")");
}

// Index values of the CPU call (see the file comment).
[[maybe_unused]] void check_indices(const TensorView& corpus, const TensorView& starts, const TensorView& noise_alias,
                   const TensorView& hs_points, const TensorView& hs_lengths, int64_t V, bool hs) {
  const int64_t* st = starts.ptr<int64_t>();
  const int64_t S = starts.numel() - 1;
  DK_CHECK(st[0] >= 0 && st[S] <= corpus.numel(), kOp, ": sentence_starts must lie in [0, ", corpus.numel(),
           "], got ", st[0], " .. ", st[S]);
  for (int64_t s = 0; s < S; ++s)
    DK_CHECK(st[s] <= st[s + 1], kOp, ": sentence_starts must be non-decreasing, got ", st[s], " then ", st[s + 1],
             " at ", s);
  const int32_t* ids = corpus.ptr<int32_t>();
  for (int64_t p = st[0]; p < st[S]; ++p)
    DK_CHECK(ids[p] >= 0 && ids[p] < V, kOp, ": corpus[", p, "] = ", ids[p], " is not a word id in [0, ", V, ")");
  check_range<int32_t>(noise_alias, "noise_alias", 0, V);
  if (hs) {
    check_range<int32_t>(hs_lengths, "hs_lengths", 0, hs_points.size(1) + 1);
    check_range<int32_t>(hs_points, "hs_points", 0, V > 1 ? V - 1 : 1);
  }
}

}  // namespace

void bind_word2vec(py::module_& m) {
  def(
      m, "word2vec_train",
      [](Launch launch, const TensorView& syn0, const TensorView& syn1neg, const TensorView& syn1,
         const TensorView& corpus, const TensorView& starts, const TensorView& keep_threshold,
         const TensorView& noise_threshold, const TensorView& noise_alias, const TensorView& hs_points,
         const TensorView& hs_codes, const TensorView& hs_lengths, const TensorView& workspace,
         const TensorView& stats, bool sg, bool hs, bool cbow_mean, int64_t window, int64_t negative, double alpha,
         double min_alpha, int64_t words_before, int64_t total_words, uint64_t seed, int64_t epoch,
         int64_t workers, bool compute_loss) {
        const char* op = kOp;
        for (auto [v, name] : {std::pair{&syn0, "syn0"}, {&syn1neg, "syn1neg"}, {&syn1, "syn1"}, {&corpus, "corpus"},
                               {&starts, "sentence_starts"}, {&keep_threshold, "keep_threshold"},
                               {&noise_threshold, "noise_threshold"}, {&noise_alias, "noise_alias"},
                               {&hs_points, "hs_points"}, {&hs_codes, "hs_codes"}, {&hs_lengths, "hs_lengths"},
                               {&workspace, "workspace"}, {&stats, "stats"}})
          expect_device(*v, name, op);
        expect(syn0, "syn0", op).ndim(2).writable();
        const int64_t V = syn0.size(0), D = syn0.size(1);
        DK_CHECK(V >= 1, op, ": the vocabulary is empty (syn0.shape=", shape_str(syn0.shape), ")");
        DK_CHECK(window >= 1, op, ": window must be >= 1, got ", window);
        DK_CHECK(negative >= 0, op, ": negative must be >= 0, got ", negative);
        DK_CHECK(hs || negative > 0, op, ": needs hs or negative > 0 (nothing to train)");
        DK_CHECK(workers >= 1, op, ": workers must be >= 1, got ", workers);
        DK_CHECK(total_words >= 1 && words_before >= 0, op, ": need total_words >= 1 and words_before >= 0, got ",
                 total_words, " and ", words_before);
        expect(syn1neg, "syn1neg", op).dtype(syn0.dtype).shape({negative > 0 ? V : 0, D}).writable();
        expect(syn1, "syn1", op).dtype(syn0.dtype).shape({hs ? V - 1 : 0, D}).writable();
        expect(corpus, "corpus", op).dtype(DType::i32).ndim(1);
        expect(starts, "sentence_starts", op).dtype(DType::i64).ndim(1);
        DK_CHECK(starts.numel() >= 1, op, ": sentence_starts needs at least one offset");
        expect(keep_threshold, "keep_threshold", op).dtype(DType::i64).shape({V});
        expect(noise_threshold, "noise_threshold", op).dtype(DType::i64).shape({negative > 0 ? V : 0});
        expect(noise_alias, "noise_alias", op).dtype(DType::i32).shape({negative > 0 ? V : 0});
        expect(hs_points, "hs_points", op).dtype(DType::i32).ndim(2);
        const int64_t L = hs_points.size(1);
        expect(hs_points, "hs_points", op).shape({hs ? V : 0, L});
        expect(hs_codes, "hs_codes", op).dtype(DType::u8).shape({hs ? V : 0, L});
        expect(hs_lengths, "hs_lengths", op).dtype(DType::i32).shape({hs ? V : 0});
        expect(stats, "stats", op).dtype(DType::f64).shape({2}).writable();
        const int64_t itemsize = syn0.dtype == DType::f64 ? 8 : 4;
        const int64_t need = kernels::word2vec_workspace_size(V, D, hs, static_cast<int>(negative), itemsize);
        expect(workspace, "workspace", op).dtype(DType::u8).ndim(1).writable();
        DK_CHECK(workspace.numel() >= need, op, ": workspace needs ", need, " bytes, got ", workspace.numel());
        if constexpr (!Backend::is_cuda) check_indices(corpus, starts, noise_alias, hs_points, hs_lengths, V, hs);
        dispatch_float(syn0.dtype, op, [&](auto t) {
          using T = decltype(t);
          Word2VecArgs<T> a{};
          a.syn0 = syn0.ptr<T>();
          a.syn1neg = syn1neg.ptr<T>();
          a.syn1 = syn1.ptr<T>();
          a.corpus = corpus.ptr<int32_t>();
          a.sentence_starts = starts.ptr<int64_t>();
          a.num_sentences = starts.numel() - 1;
          a.keep_threshold = keep_threshold.ptr<int64_t>();
          a.noise_threshold = noise_threshold.ptr<int64_t>();
          a.noise_alias = noise_alias.ptr<int32_t>();
          a.hs_points = hs_points.ptr<int32_t>();
          a.hs_codes = hs_codes.ptr<uint8_t>();
          a.hs_lengths = hs_lengths.ptr<int32_t>();
          a.hs_max_length = L;
          a.vocab_size = V;
          a.dim = D;
          a.sg = sg;
          a.hs = hs;
          a.cbow_mean = cbow_mean;
          a.window = static_cast<int>(window);
          a.negative = static_cast<int>(negative);
          a.alpha = alpha;
          a.min_alpha = min_alpha;
          a.words_before = words_before;
          a.total_words = total_words;
          a.seed = seed;
          a.epoch = epoch;
          a.workers = static_cast<int>(workers);
          a.compute_loss = compute_loss;
          a.workspace = workspace.ptr<uint8_t>();
          a.stats = stats.ptr<double>();
          launch(kernels::word2vec_train<T>, a);
        });
      },
      "syn0"_a, "syn1neg"_a, "syn1"_a, "corpus"_a, "sentence_starts"_a, "keep_threshold"_a, "noise_threshold"_a,
      "noise_alias"_a, "hs_points"_a, "hs_codes"_a, "hs_lengths"_a, "workspace"_a, "stats"_a, "sg"_a, "hs"_a,
      "cbow_mean"_a, "window"_a, "negative"_a, "alpha"_a, "min_alpha"_a, "words_before"_a, "total_words"_a, "seed"_a,
      "epoch"_a, "workers"_a, "compute_loss"_a);
  def(
      m, "word2vec_workspace_size",
      [](Launch, int64_t vocab_size, int64_t dim, bool hs, int64_t negative, int64_t itemsize) {
        return kernels::word2vec_workspace_size(vocab_size, dim, hs, static_cast<int>(negative), itemsize);
      },
      "vocab_size"_a, "dim"_a, "hs"_a, "negative"_a, "itemsize"_a);
}

}  // namespace dk::bind
