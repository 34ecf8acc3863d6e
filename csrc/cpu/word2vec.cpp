// word2vec on the CPU: skip-gram and CBOW, negative sampling and hierarchical softmax,
// lock-free (Hogwild) threads, float32 and float64.
//
// Algorithm (Mikolov et al. 2013, as word2vec.c and gensim train it). Per sentence: the
// subsampling drops frequent words (each occurrence kept with its word's probability), then
// every kept word is a center word whose window (drawn in [1, window]) of kept neighbours
// within the sentence are its contexts. Outputs of a center word: its own row of syn1neg
// (label 1) and `negative` noise words (label 0; a noise word equal to the center is skipped,
// as word2vec.c does), and/or the inner nodes on its Huffman path in syn1 (label 1 - code).
// Skip-gram trains each context vector to predict the outputs; CBOW trains the mean (or sum)
// h of the context vectors. One SGD step with the decaying learning rate alpha:
//   G = alpha * (labels - sigmoid(logits))     logits = In Out^T  (M contexts x N outputs)
//   In  += G Out      Out += G^T In            both from the values before this step.
//
// A window as one small matrix product (Intel's pWord2Vec, Ji et al. 2016): in skip-gram all
// M context rows of a center word predict the same N outputs, so the noise words are drawn
// once per center word and shared by its contexts, and the M*N dot/axpy pairs become three
// small GEMMs on rows that stay in L1 — In (M, D), Out (N, D), G (M, N) — instead of one
// streaming pass over two rows per pair. (gensim and word2vec.c draw noise words per pair and
// apply each pair's update before the next; the batched step is the same SGD in a different
// order, with the same quality in the pWord2Vec paper and in benchmarks/results.)
// CBOW has a single input row h, G is (1, N), and every context row receives the same G Out.
//
// Threads (workers > 1): sentences are cut into blocks of ~kBlockWords words handed out
// dynamically; threads update the shared weights without locks, as word2vec.c and gensim do
// (Hogwild, Recht et al. 2011: updates are sparse, so overlapping writes are rare and cost
// nothing measurable in quality). workers == 1 runs in order on the calling thread: every
// random choice is a function of (seed, epoch, corpus position) (core/word2vec_sampling.h)
// and the learning rate a function of the sentence's offset, so that run is exactly
// reproducible and is the order deepkern.reference.word2vec_train follows.
//
// Vectorization: the per-type bodies are compiled as DK_CLONES (baseline / AVX2 / AVX-512,
// picked at load time); the inner loops over D are `omp simd` loops, dot products in groups
// of four rows so four accumulator chains run at once; the sigmoid uses vexp (vec_math.h) over
// the M*N logits.
#include "cpu/word2vec.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/word2vec_sampling.h"
#include "cpu/simd.h"
#include "cpu/vec_math.h"

namespace dk::cpu {
namespace {

constexpr int64_t kBlockWords = 4096;

// Per-thread scratch, reused across sentences.
template <typename T>
struct Scratch {
  std::vector<int64_t> kept;  // corpus positions of the sentence's words that subsampling kept
  std::vector<T*> in;         // (M,) context rows of syn0
  std::vector<T*> out;        // (N,) output rows of syn1neg / syn1
  std::vector<T> label;       // (N,)
  std::vector<T> g;           // (M, N) logits, then the gradient scales G
  std::vector<T> din;         // (M, D) updates of the context rows; CBOW: h (D) and G Out (D)
};

template <typename T>
DK_INLINE T dot(const T* x, const T* y, int64_t D) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < D; ++i) s += x[i] * y[i];
  return s;
}

// y += a * x
template <typename T>
DK_INLINE void axpy(T a, const T* x, T* y, int64_t D) {
#pragma omp simd
  for (int64_t i = 0; i < D; ++i) y[i] += a * x[i];
}

// g[m * N + n] = x[m] . y[n]; four rows of y per pass so four sums run side by side.
template <typename T>
DK_INLINE void dots(T* const* x, int64_t M, T* const* y, int64_t N, int64_t D, T* g) {
  for (int64_t m = 0; m < M; ++m) {
    const T* xm = x[m];
    int64_t n = 0;
    for (; n + 4 <= N; n += 4) {
      const T *y0 = y[n], *y1 = y[n + 1], *y2 = y[n + 2], *y3 = y[n + 3];
      T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (int64_t i = 0; i < D; ++i) {
        s0 += xm[i] * y0[i];
        s1 += xm[i] * y1[i];
        s2 += xm[i] * y2[i];
        s3 += xm[i] * y3[i];
      }
      g[m * N + n] = s0;
      g[m * N + n + 1] = s1;
      g[m * N + n + 2] = s2;
      g[m * N + n + 3] = s3;
    }
    for (; n < N; ++n) g[m * N + n] = dot(xm, y[n], D);
  }
}

// log(1 + e^t) without overflow.
template <typename T>
inline double softplus(T t) {
  return t > T(30) ? double(t) : std::log1p(std::exp(double(t)));
}

// Logits -> gradient scales: g = alpha * (label - sigmoid(g)); the loss adds -log P(label).
template <typename T>
DK_INLINE void scales(T* g, const T* label, int64_t M, int64_t N, T alpha, bool compute_loss, double& loss) {
  if (compute_loss)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) loss += softplus(label[n] > T(0.5) ? -g[m * N + n] : g[m * N + n]);
  for (int64_t m = 0; m < M; ++m) {
    T* gm = g + m * N;
#pragma omp simd
    for (int64_t n = 0; n < N; ++n) gm[n] = alpha * (label[n] - T(1) / (T(1) + vexp(-gm[n])));
  }
}

// Skip-gram: In (M rows) against Out (N rows).
template <typename T>
DK_INLINE void step_sg(Scratch<T>& w, int64_t D, T alpha, bool compute_loss, double& loss) {
  const int64_t M = static_cast<int64_t>(w.in.size()), N = static_cast<int64_t>(w.out.size());
  T* const* in = w.in.data();
  T* const* out = w.out.data();
  T* g = w.g.data();
  T* din = w.din.data();
  dots(in, M, out, N, D, g);
  scales(g, w.label.data(), M, N, alpha, compute_loss, loss);
  for (int64_t m = 0; m < M; ++m) {  // dIn = G Out, from Out before its update
    T* dm = din + m * D;
    std::fill(dm, dm + D, T(0));
    for (int64_t n = 0; n < N; ++n) axpy(g[m * N + n], out[n], dm, D);
  }
  for (int64_t n = 0; n < N; ++n)  // Out += G^T In
    for (int64_t m = 0; m < M; ++m) axpy(g[m * N + n], in[m], out[n], D);
  for (int64_t m = 0; m < M; ++m) axpy(T(1), din + m * D, in[m], D);
}

// CBOW: h = mean (or sum) of In against Out; every context row gets G Out.
template <typename T>
DK_INLINE void step_cbow(Scratch<T>& w, int64_t D, T alpha, bool mean, bool compute_loss, double& loss) {
  const int64_t M = static_cast<int64_t>(w.in.size()), N = static_cast<int64_t>(w.out.size());
  T* const* in = w.in.data();
  T* const* out = w.out.data();
  T* g = w.g.data();
  T* h = w.din.data();
  T* dh = h + D;
  const T inv_count = T(1) / T(M);
  std::fill(h, h + D, T(0));
  for (int64_t m = 0; m < M; ++m) axpy(T(1), in[m], h, D);
  if (mean)
    for (int64_t i = 0; i < D; ++i) h[i] *= inv_count;
  dots(&h, 1, out, N, D, g);
  scales(g, w.label.data(), 1, N, alpha, compute_loss, loss);
  std::fill(dh, dh + D, T(0));
  for (int64_t n = 0; n < N; ++n) axpy(g[n], out[n], dh, D);
  for (int64_t n = 0; n < N; ++n) axpy(g[n], h, out[n], D);
  if (!mean)
    for (int64_t i = 0; i < D; ++i) dh[i] *= inv_count;
  for (int64_t m = 0; m < M; ++m) axpy(T(1), dh, in[m], D);
}

// Trains sentences [s_lo, s_hi) of a; adds the kept words and the loss to words / loss.
template <typename T>
DK_INLINE void train_sentences(const Word2VecArgs<T>& a, int64_t s_lo, int64_t s_hi, Scratch<T>& w, double& words,
                               double& loss) {
  const int64_t D = a.dim;
  const int slots = 2 + a.negative;
  const uint64_t stream = w2v::epoch_stream(a.seed, a.epoch);
  for (int64_t s = s_lo; s < s_hi; ++s) {
    const int64_t begin = a.sentence_starts[s], end = a.sentence_starts[s + 1];
    const T alpha = static_cast<T>(w2v::learning_rate(a.alpha, a.min_alpha, a.words_before + begin, a.total_words));
    w.kept.clear();
    for (int64_t p = begin; p < end; ++p)
      if (w2v::keep(stream, p, slots, a.keep_threshold[a.corpus[p]])) w.kept.push_back(p);
    const int64_t K = static_cast<int64_t>(w.kept.size());
    words += static_cast<double>(K);
    for (int64_t c = 0; c < K; ++c) {
      const int64_t pos = w.kept[c];
      const int32_t word = a.corpus[pos];
      const int b = w2v::effective_window(stream, pos, slots, a.window);
      const int64_t lo = std::max<int64_t>(0, c - b), hi = std::min<int64_t>(K - 1, c + b);
      w.in.clear();
      for (int64_t j = lo; j <= hi; ++j)
        if (j != c) w.in.push_back(a.syn0 + static_cast<int64_t>(a.corpus[w.kept[j]]) * D);
      if (w.in.empty()) continue;
      w.out.clear();
      w.label.clear();
      if (a.hs) {
        const int32_t* points = a.hs_points + word * a.hs_max_length;
        const uint8_t* codes = a.hs_codes + word * a.hs_max_length;
        for (int32_t l = 0; l < a.hs_lengths[word]; ++l) {
          w.out.push_back(a.syn1 + static_cast<int64_t>(points[l]) * D);
          w.label.push_back(T(1) - T(codes[l]));
        }
      }
      if (a.negative > 0) {
        w.out.push_back(a.syn1neg + static_cast<int64_t>(word) * D);
        w.label.push_back(T(1));
        for (int k = 0; k < a.negative; ++k) {
          const int32_t noise =
              w2v::noise_word(stream, pos, slots, k, a.noise_threshold, a.noise_alias, a.vocab_size);
          if (noise == word) continue;
          w.out.push_back(a.syn1neg + static_cast<int64_t>(noise) * D);
          w.label.push_back(T(0));
        }
      }
      if (a.sg)
        step_sg(w, D, alpha, a.compute_loss, loss);
      else
        step_cbow(w, D, alpha, a.cbow_mean, a.compute_loss, loss);
    }
  }
}

// The bodies compiled per instruction set (DK_CLONES takes no templates).
DK_CLONES void train_sentences_isa(const Word2VecArgs<float>& a, int64_t lo, int64_t hi, Scratch<float>& w,
                                   double& words, double& loss) {
  train_sentences(a, lo, hi, w, words, loss);
}
DK_CLONES void train_sentences_isa(const Word2VecArgs<double>& a, int64_t lo, int64_t hi, Scratch<double>& w,
                                   double& words, double& loss) {
  train_sentences(a, lo, hi, w, words, loss);
}

template <typename T>
void reserve(const Word2VecArgs<T>& a, Scratch<T>& w) {
  const int64_t M = 2 * static_cast<int64_t>(a.window);
  const int64_t N = (a.hs ? a.hs_max_length : 0) + (a.negative > 0 ? a.negative + 1 : 0);
  w.in.reserve(M);
  w.out.reserve(N);
  w.label.reserve(N);
  w.g.resize(std::max<int64_t>(M, 1) * std::max<int64_t>(N, 1));
  w.din.resize(std::max<int64_t>(M, 2) * a.dim);
}

}  // namespace

template <typename T>
void word2vec_train(const Word2VecArgs<T>& a) {
  double words = 0, loss = 0;
  const int64_t S = a.num_sentences;
  if (a.workers <= 1 || omp_in_parallel()) {
    Scratch<T> w;
    reserve(a, w);
    train_sentences_isa(a, 0, S, w, words, loss);
  } else {
    std::vector<int64_t> blocks{0};  // sentence indices where blocks start, then S
    for (int64_t s = 0; s < S; ++s)
      if (a.sentence_starts[s + 1] - a.sentence_starts[blocks.back()] >= kBlockWords) blocks.push_back(s + 1);
    if (blocks.back() != S) blocks.push_back(S);
    const int64_t nb = static_cast<int64_t>(blocks.size()) - 1;
#pragma omp parallel num_threads(a.workers) reduction(+ : words, loss)
    {
      Scratch<T> w;
      reserve(a, w);
#pragma omp for schedule(dynamic, 1)
      for (int64_t b = 0; b < nb; ++b) train_sentences_isa(a, blocks[b], blocks[b + 1], w, words, loss);
    }
  }
  a.stats[0] = words;
  a.stats[1] = loss;
}

int64_t word2vec_workspace_size(int64_t, int64_t, bool, int, int64_t) { return 0; }

template void word2vec_train<float>(const Word2VecArgs<float>&);
template void word2vec_train<double>(const Word2VecArgs<double>&);

}  // namespace dk::cpu
