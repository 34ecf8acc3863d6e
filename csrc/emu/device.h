// CUDA device code as plain C++: the qualifiers, built-in variables, synchronization, warp
// collectives, atomics and math functions that deepkern's kernels use, for the emulated
// backend. Force-included (through the <cuda_runtime.h> stand-in) into every csrc/cuda/*.cu
// when it is compiled for the CPU, as nvcc force-includes the real one.
//
// Fidelity notes (docs/cuda_emu.md): atomics are std::atomic_ref (relaxed, as CUDA's); the
// fast-math intrinsics (__expf, __fdividef, ...) are the accurate host functions; libm
// results may differ from CUDA's by an ulp or two; nothing is contracted to FMA unless the
// source says fma.
#pragma once
#include <math.h>  // libstdc++'s <math.h> declares the float overloads (expf, fmaxf, ...) in ::

#include <atomic>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "emu/exec.h"
#include "emu/runtime.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __constant__ static
// Shared memory is declared with DK_SHARED / DK_DYNAMIC_SHARED (cuda/launch.cuh), which give
// each block its own storage; a raw __shared__ would be one variable for all blocks at once.
#define __shared__ \
  static_assert(false, "write shared memory as DK_SHARED(type, name, [dims]) (cuda/launch.cuh), not __shared__");

inline constexpr int warpSize = 32;

// ---- synchronization --------------------------------------------------------------------------
#define __syncthreads() ((void)::dk::emu::sync_threads(::dk::emu::BarrierOp::sync, 0, __FILE__, __LINE__))
#define __syncthreads_count(pred) ::dk::emu::sync_threads(::dk::emu::BarrierOp::count, (pred) != 0, __FILE__, __LINE__)
#define __syncthreads_and(pred) (::dk::emu::sync_threads(::dk::emu::BarrierOp::all, (pred) != 0, __FILE__, __LINE__) != 0)
#define __syncthreads_or(pred) (::dk::emu::sync_threads(::dk::emu::BarrierOp::count, (pred) != 0, __FILE__, __LINE__) != 0)

// Memory fences order this thread's accesses; the host's (x86) ordering is already at least
// as strong for plain stores and loads, so these only stop the compiler reordering.
inline void __threadfence_block() { std::atomic_signal_fence(std::memory_order_seq_cst); }
inline void __threadfence() { std::atomic_signal_fence(std::memory_order_seq_cst); }
inline void __threadfence_system() { std::atomic_signal_fence(std::memory_order_seq_cst); }

// ---- warp collectives -------------------------------------------------------------------------
namespace dk::emu {

inline unsigned lane_id() { return (threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) & 31u; }

template <class T>
T shuffle(WarpOp op, unsigned mask, T value, int arg, int width, const char* what, const char* file, int line) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 16, "shuffle of an unsupported type");
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0)
    fault("%s at %s:%d: width %d is not a power of two in [1, 32]", what, file, line, width);
  unsigned char out[16];
  warp_collective(op, mask, &value, sizeof(T), arg, width, out, what, file, line);
  T result;
  std::memcpy(&result, out, sizeof(T));
  return result;
}

inline unsigned ballot(unsigned mask, bool predicate, const char* what, const char* file, int line) {
  const unsigned char p = predicate ? 1 : 0;
  unsigned out[4];
  warp_collective(WarpOp::ballot, mask, &p, 1, 0, 32, out, what, file, line);
  return out[0];
}

inline void sync_warp(const char* file, int line, unsigned mask = 0xffffffffu) {
  unsigned char out[16];
  warp_collective(WarpOp::sync, mask, nullptr, 0, 0, 32, out, "__syncwarp", file, line);
}

constexpr int shuffle_width(int width = 32) { return width; }

}  // namespace dk::emu

#define __shfl_sync(mask, v, lane, ...)                                                                   \
  ::dk::emu::shuffle(::dk::emu::WarpOp::shfl, mask, v, lane, ::dk::emu::shuffle_width(__VA_ARGS__), \
                     "__shfl_sync", __FILE__, __LINE__)
#define __shfl_up_sync(mask, v, delta, ...)                                                                  \
  ::dk::emu::shuffle(::dk::emu::WarpOp::shfl_up, mask, v, delta, ::dk::emu::shuffle_width(__VA_ARGS__), \
                     "__shfl_up_sync", __FILE__, __LINE__)
#define __shfl_down_sync(mask, v, delta, ...)                                                                  \
  ::dk::emu::shuffle(::dk::emu::WarpOp::shfl_down, mask, v, delta, ::dk::emu::shuffle_width(__VA_ARGS__), \
                     "__shfl_down_sync", __FILE__, __LINE__)
#define __shfl_xor_sync(mask, v, lane_mask, ...)                                                                  \
  ::dk::emu::shuffle(::dk::emu::WarpOp::shfl_xor, mask, v, lane_mask, ::dk::emu::shuffle_width(__VA_ARGS__), \
                     "__shfl_xor_sync", __FILE__, __LINE__)
#define __ballot_sync(mask, pred) ::dk::emu::ballot(mask, (pred) != 0, "__ballot_sync", __FILE__, __LINE__)
#define __any_sync(mask, pred) (::dk::emu::ballot(mask, (pred) != 0, "__any_sync", __FILE__, __LINE__) != 0u)
#define __all_sync(mask, pred) \
  (::dk::emu::ballot(mask, (pred) != 0, "__all_sync", __FILE__, __LINE__) == static_cast<unsigned>(mask))
#define __syncwarp(...) ::dk::emu::sync_warp(__FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__)

// ---- atomics (relaxed, like CUDA's) -------------------------------------------------------------
template <class T>
inline T atomicAdd(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_add(v, std::memory_order_relaxed);
}
template <class T>
inline T atomicSub(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_sub(v, std::memory_order_relaxed);
}
template <class T>
inline T atomicExch(T* p, T v) {
  return std::atomic_ref<T>(*p).exchange(v, std::memory_order_relaxed);
}
template <class T>
inline T atomicCAS(T* p, T expected, T desired) {
  std::atomic_ref<T>(*p).compare_exchange_strong(expected, desired, std::memory_order_relaxed);
  return expected;
}
template <class T>
inline T atomicMax(T* p, T v) {
  std::atomic_ref<T> r(*p);
  T old = r.load(std::memory_order_relaxed);
  while (old < v && !r.compare_exchange_weak(old, v, std::memory_order_relaxed)) {
  }
  return old;
}
template <class T>
inline T atomicMin(T* p, T v) {
  std::atomic_ref<T> r(*p);
  T old = r.load(std::memory_order_relaxed);
  while (v < old && !r.compare_exchange_weak(old, v, std::memory_order_relaxed)) {
  }
  return old;
}
template <class T>
inline T atomicAnd(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_and(v, std::memory_order_relaxed);
}
template <class T>
inline T atomicOr(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_or(v, std::memory_order_relaxed);
}
template <class T>
inline T atomicXor(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_xor(v, std::memory_order_relaxed);
}

// ---- integer and bit intrinsics ------------------------------------------------------------------
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline int __mul24(int a, int b) { return (a << 8 >> 8) * (b << 8 >> 8); }
inline long long __mul64hi(long long a, long long b) { return static_cast<long long>((__int128)a * b >> 64); }
inline int __mulhi(int a, int b) { return static_cast<int>((static_cast<long long>(a) * b) >> 32); }

namespace dk::emu {
template <class To, class From>
inline To bit_cast(From f) {
  static_assert(sizeof(To) == sizeof(From));
  To t;
  std::memcpy(&t, &f, sizeof(t));
  return t;
}
}  // namespace dk::emu
inline float __int_as_float(int x) { return dk::emu::bit_cast<float>(x); }
inline int __float_as_int(float x) { return dk::emu::bit_cast<int>(x); }
inline float __uint_as_float(unsigned x) { return dk::emu::bit_cast<float>(x); }
inline unsigned __float_as_uint(float x) { return dk::emu::bit_cast<unsigned>(x); }
inline double __longlong_as_double(long long x) { return dk::emu::bit_cast<double>(x); }
inline long long __double_as_longlong(double x) { return dk::emu::bit_cast<long long>(x); }
template <class T>
inline T __ldg(const T* p) {
  return *p;
}

// ---- math -------------------------------------------------------------------------------------------
// CUDA's min/max: integer overloads compare; floating ones are fmin/fmax (a NaN operand is
// dropped); mixed operand types go to their common type, as nvcc's overload set does.
template <class A, class B>
inline auto min(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>)
    return static_cast<C>(std::fmin(C(a), C(b)));
  else
    return C(b) < C(a) ? C(b) : C(a);
}
template <class A, class B>
inline auto max(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>)
    return static_cast<C>(std::fmax(C(a), C(b)));
  else
    return C(a) < C(b) ? C(b) : C(a);
}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x != x ? 0.0f : std::fmin(std::fmax(x, 0.0f), 1.0f); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanf(float x) { return std::tan(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline double __dsqrt_rn(double x) { return std::sqrt(x); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline int __float2int_rn(float x) { return static_cast<int>(std::nearbyint(x)); }
inline int __float2int_rz(float x) { return static_cast<int>(x); }
inline int __double2int_rn(double x) { return static_cast<int>(std::nearbyint(x)); }
