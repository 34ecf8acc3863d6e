// GloVe on the CPU (Pennington, Socher & Manning 2014): co-occurrence counting and the fused
// weighted-least-squares AdaGrad pass, float32 and float64.
//
// Counting (as GloVe's cooccur.c with its defaults: symmetric window, distance weighting,
// no context across a line/sentence break): every pair of tokens at distance d <= window in one
// sentence adds 1/d to X[a, c] and to X[c, a]. glove_pairs writes one record per token pair,
// keyed by the unordered pair (key = min * V + max; a word next to itself adds 2/d to its
// diagonal entry), sentences in parallel at offsets fixed by their lengths. glove_sort_reduce
// sorts records by key (LSD radix sort, 11-bit digits, as many passes as the largest key needs)
// and sums equal keys, so a corpus is counted in bounded memory chunk by chunk and the chunks'
// sorted lists merged by the same call. (A hash map would need no sort, but its random
// accesses cost more than the three sequential passes a radix sort makes here.)
//
// Training: for each pair (i, j) with count X, in the given order,
//   diff = W[i] . Wc[j] + b[i] + bc[j] - log X,  cost += f(X) diff^2 / 2,  g = lr f(X) diff
//   W[i]  -= g Wc[j] / sqrt(gW[i])    gW[i]  += (g Wc[j])^2     (elementwise; both rows
//   Wc[j] -= g W[i]  / sqrt(gWc[j])   gWc[j] += (g W[i])^2       from their old values)
//   b[i]  -= g / sqrt(gb[i])          gb[i]  += g^2, and the same for bc[j]
// — glove.c's AdaGrad exactly: accumulators start at 1 and hold squares of lr-scaled
// gradients, each step divides by the accumulator before its own gradient is added, and a
// pair whose diff is not finite is skipped. workers > 1 threads take contiguous ranges of the
// pairs and update without locks, as glove.c's threads do; workers == 1 is the exact order of
// deepkern.reference.glove_train. The inner loop over D is an `omp simd` loop in DK_CLONES
// bodies (AVX2 / AVX-512 at run time).
#include "cpu/glove.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/parallel.h"
#include "cpu/simd.h"

namespace dk::cpu {
namespace {

// Token pairs of a sentence of length n at distance <= window.
inline int64_t pairs_in(int64_t n, int64_t window) {
  const int64_t w = window < n - 1 ? window : n - 1;
  return w > 0 ? w * n - w * (w + 1) / 2 : 0;
}

template <typename T>
DK_INLINE void train_pairs(const GloveArgs<T>& a, int64_t lo, int64_t hi, double& cost, double& skipped) {
  const int64_t D = a.dim;
  const T lr = static_cast<T>(a.learning_rate);
  for (int64_t k = lo; k < hi; ++k) {
    const int64_t i = a.rows[k], j = a.cols[k];
    T* wi = a.W + i * D;
    T* wj = a.Wc + j * D;
    T* gi = a.gW + i * D;
    T* gj = a.gWc + j * D;
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t d = 0; d < D; ++d) dot += wi[d] * wj[d];
    const T diff = dot + a.b[i] + a.bc[j] - a.log_x[k];
    if (!std::isfinite(diff)) {
      skipped += 1;
      continue;
    }
    const T fdiff = a.weight[k] * diff;
    cost += 0.5 * double(fdiff) * double(diff);
    const T g = lr * fdiff;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) {
      const T t1 = g * wj[d], t2 = g * wi[d];
      wi[d] -= t1 / std::sqrt(gi[d]);
      wj[d] -= t2 / std::sqrt(gj[d]);
      gi[d] += t1 * t1;
      gj[d] += t2 * t2;
    }
    a.b[i] -= g / std::sqrt(a.gb[i]);
    a.bc[j] -= g / std::sqrt(a.gbc[j]);
    a.gb[i] += g * g;
    a.gbc[j] += g * g;
  }
}

DK_CLONES void train_pairs_isa(const GloveArgs<float>& a, int64_t lo, int64_t hi, double& cost, double& skipped) {
  train_pairs(a, lo, hi, cost, skipped);
}
DK_CLONES void train_pairs_isa(const GloveArgs<double>& a, int64_t lo, int64_t hi, double& cost, double& skipped) {
  train_pairs(a, lo, hi, cost, skipped);
}

}  // namespace

int64_t glove_pairs(const int32_t* corpus, const int64_t* starts, int64_t num_sentences, int64_t window,
                    int64_t vocab_size, int64_t* keys, double* values) {
  std::vector<int64_t> offset(num_sentences + 1, 0);
  for (int64_t s = 0; s < num_sentences; ++s) offset[s + 1] = offset[s] + pairs_in(starts[s + 1] - starts[s], window);
  const int nt = num_sentences > 64 && !omp_in_parallel() ? get_num_threads() : 1;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 64)
  for (int64_t s = 0; s < num_sentences; ++s) {
    int64_t out = offset[s];
    for (int64_t p = starts[s] + 1; p < starts[s + 1]; ++p) {
      const int64_t a = corpus[p];
      for (int64_t d = 1; d <= window && p - d >= starts[s]; ++d) {
        const int64_t c = corpus[p - d];
        keys[out] = a < c ? a * vocab_size + c : c * vocab_size + a;
        values[out] = (a == c ? 2.0 : 1.0) / double(d);
        ++out;
      }
    }
  }
  return offset[num_sentences];
}

int64_t glove_sort_reduce(int64_t* keys, double* values, int64_t n, int64_t key_bound, int64_t* scratch_keys,
                          double* scratch_values) {
  if (n == 0) return 0;
  constexpr int kBits = 11;
  constexpr int64_t kBuckets = int64_t(1) << kBits;
  int passes = 0;
  while (passes * kBits < 63 && (key_bound - 1) >> (passes * kBits)) ++passes;
  std::vector<int64_t> count(kBuckets);
  int64_t *src_k = keys, *dst_k = scratch_keys;
  double *src_v = values, *dst_v = scratch_values;
  for (int pass = 0; pass < passes; ++pass) {
    const int shift = pass * kBits;
    std::fill(count.begin(), count.end(), 0);
    for (int64_t i = 0; i < n; ++i) ++count[(src_k[i] >> shift) & (kBuckets - 1)];
    int64_t sum = 0;
    for (auto& c : count) {
      const int64_t t = c;
      c = sum;
      sum += t;
    }
    for (int64_t i = 0; i < n; ++i) {
      const int64_t at = count[(src_k[i] >> shift) & (kBuckets - 1)]++;
      dst_k[at] = src_k[i];
      dst_v[at] = src_v[i];
    }
    std::swap(src_k, dst_k);
    std::swap(src_v, dst_v);
  }
  // Sum runs of equal keys into the front of keys / values.
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (m > 0 && keys[m - 1] == src_k[i]) {
      values[m - 1] += src_v[i];
    } else {
      keys[m] = src_k[i];  // m <= i: never overwrites an unread record when src is keys
      values[m] = src_v[i];
      ++m;
    }
  }
  return m;
}

template <typename T>
void glove_train(const GloveArgs<T>& a) {
  double cost = 0, skipped = 0;
  const int64_t n = a.num_pairs;
  if (a.workers <= 1 || omp_in_parallel() || n < 2 * a.workers) {
    train_pairs_isa(a, 0, n, cost, skipped);
  } else {
#pragma omp parallel num_threads(a.workers) reduction(+ : cost, skipped)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      train_pairs_isa(a, n * t / nt, n * (t + 1) / nt, cost, skipped);
    }
  }
  a.stats[0] = cost;
  a.stats[1] = skipped;
}

int64_t glove_workspace_size(int64_t, int64_t, int64_t) { return 0; }

template void glove_train<float>(const GloveArgs<float>&);
template void glove_train<double>(const GloveArgs<double>&);

}  // namespace dk::cpu
