// cub::DeviceRadixSort::SortPairs / SortPairsDescending for the emulated backend: the same
// contract and the same order as CUB, computed the way CUB computes it — a stable LSD radix
// sort, 8 bits a pass, of the keys' "twiddled" bit patterns restricted to [begin_bit, end_bit),
// in the caller's temporary storage.
//
// CUB's key order: unsigned keys as they are; signed keys with the sign bit flipped; floating
// keys with the sign bit flipped when positive and all bits flipped when negative, so that
// -NaN < -inf < ... < -0 == +0 < ... < +inf < +NaN, with -0.0 turned into +0.0 (CUB treats the
// two zeros as one key, and writes +0.0 out). Descending order sorts the complemented
// patterns, so equal keys keep their input order in both directions.
//
// Fidelity: a re-implementation, not CUB; the temporary storage it asks for differs from CUB's.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "emu/runtime.h"
#include "emu/state.h"

namespace cub {
namespace emu_detail {

template <class K>
using Bits = std::conditional_t<
    sizeof(K) == 8, uint64_t,
    std::conditional_t<sizeof(K) == 4, uint32_t, std::conditional_t<sizeof(K) == 2, uint16_t, uint8_t>>>;

template <class K>
Bits<K> twiddle_in(K key) {
  using U = Bits<K>;
  U u;
  std::memcpy(&u, &key, sizeof(U));
  constexpr U high = U(U(1) << (8 * sizeof(U) - 1));
  if constexpr (std::is_floating_point_v<K>) {
    if (u == high) u = 0;  // -0.0 -> +0.0
    return (u & high) ? U(~u) : U(u ^ high);
  } else if constexpr (std::is_signed_v<K>) {
    return U(u ^ high);
  } else {
    return u;
  }
}

template <class K>
K twiddle_out(Bits<K> u) {
  using U = Bits<K>;
  constexpr U high = U(U(1) << (8 * sizeof(U) - 1));
  if constexpr (std::is_floating_point_v<K>)
    u = (u & high) ? U(u ^ high) : U(~u);
  else if constexpr (std::is_signed_v<K>)
    u = U(u ^ high);
  K key;
  std::memcpy(&key, &u, sizeof(K));
  return key;
}

inline size_t align_up(size_t n) { return (n + 255) / 256 * 256; }

template <class K, class V>
cudaError_t sort_pairs(void* temp, size_t& temp_bytes, const K* keys_in, K* keys_out, const V* values_in,
                       V* values_out, int n, int begin_bit, int end_bit, bool descending) {
  using U = Bits<K>;
  const size_t count = n > 0 ? size_t(n) : 0;
  const size_t need = 2 * align_up(count * sizeof(U)) + 2 * align_up(count * sizeof(int)) + 1;
  if (temp == nullptr) {
    temp_bytes = need;
    return cudaSuccess;
  }
  if (const cudaError_t e = dk::emu::sticky_error(); e != cudaSuccess) return e;
  if (temp_bytes < need || begin_bit < 0 || end_bit > int(8 * sizeof(K)) || begin_bit > end_bit)
    return cudaErrorInvalidValue;
  if (count == 0) return cudaSuccess;
  // Temporary storage: keys and indices, double-buffered.
  char* p = static_cast<char*>(temp);
  U* bits[2] = {reinterpret_cast<U*>(p), reinterpret_cast<U*>(p + align_up(count * sizeof(U)))};
  p += 2 * align_up(count * sizeof(U));
  int* index[2] = {reinterpret_cast<int*>(p), reinterpret_cast<int*>(p + align_up(count * sizeof(int)))};
  for (size_t i = 0; i < count; ++i) {
    const U u = twiddle_in(keys_in[i]);
    bits[0][i] = descending ? U(~u) : u;
    index[0][i] = int(i);
  }
  int cur = 0;
  for (int shift = begin_bit; shift < end_bit; shift += 8) {
    const int width = end_bit - shift < 8 ? end_bit - shift : 8;
    const unsigned digit_mask = (1u << width) - 1u;
    size_t offset[257] = {};
    for (size_t i = 0; i < count; ++i) ++offset[((bits[cur][i] >> shift) & digit_mask) + 1];
    for (int d = 0; d < 256; ++d) offset[d + 1] += offset[d];
    for (size_t i = 0; i < count; ++i) {
      const size_t to = offset[(bits[cur][i] >> shift) & digit_mask]++;
      bits[1 - cur][to] = bits[cur][i];
      index[1 - cur][to] = index[cur][i];
    }
    cur = 1 - cur;
  }
  for (size_t i = 0; i < count; ++i) {
    const U u = descending ? U(~bits[cur][i]) : bits[cur][i];
    keys_out[i] = twiddle_out<K>(u);
    values_out[i] = values_in[index[cur][i]];
  }
  return cudaSuccess;
}

}  // namespace emu_detail

struct DeviceRadixSort {
  template <class K, class V>
  static cudaError_t SortPairs(void* temp, size_t& temp_bytes, const K* keys_in, K* keys_out, const V* values_in,
                               V* values_out, int n, int begin_bit = 0, int end_bit = sizeof(K) * 8,
                               cudaStream_t = nullptr) {
    return emu_detail::sort_pairs(temp, temp_bytes, keys_in, keys_out, values_in, values_out, n, begin_bit, end_bit,
                                  false);
  }
  template <class K, class V>
  static cudaError_t SortPairsDescending(void* temp, size_t& temp_bytes, const K* keys_in, K* keys_out,
                                         const V* values_in, V* values_out, int n, int begin_bit = 0,
                                         int end_bit = sizeof(K) * 8, cudaStream_t = nullptr) {
    return emu_detail::sort_pairs(temp, temp_bytes, keys_in, keys_out, values_in, values_out, n, begin_bit, end_bit,
                                  true);
  }
};

}  // namespace cub
