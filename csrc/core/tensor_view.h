// TensorView: a non-owning description of an array handed to a kernel entry point —
// data pointer, dtype, shape and strides (in elements), and the device it lives on.
// The bindings build one from a NumPy array (buffer protocol) or from any object with
// __cuda_array_interface__ (CuPy), so CPU and CUDA entry points check arguments the same way.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/checks.h"

namespace dk {

enum class DType { f16, bf16, f32, f64, i32, i64, u8, b8 };
enum class Device { cpu, cuda };

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::b8: return "bool";
  }
  return "?";
}

template <typename T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::u8; }
template <> constexpr DType dtype_of<bool>() { return DType::b8; }

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  Device device = Device::cpu;
  bool writable = true;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in elements

  int64_t ndim() const { return static_cast<int64_t>(shape.size()); }
  int64_t size(int64_t d) const { return shape.at(d < 0 ? d + ndim() : d); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    return n;
  }
  bool contiguous() const {
    if (numel() == 0) return true;
    int64_t expected = 1;
    for (int64_t d = ndim() - 1; d >= 0; --d) {
      if (shape[d] != 1 && strides[d] != expected) return false;
      expected *= shape[d];
    }
    return true;
  }
  template <typename T> T* ptr() const { return static_cast<T*>(data); }
};

// Fluent checks at entry points: expect(v, "x").dtype(DType::f32).ndim(2).contiguous();
class Expect {
 public:
  Expect(const TensorView& v, const char* name, const char* op) : v_(v), name_(name), op_(op) {}

  const Expect& device(Device d) const {
    DK_CHECK(v_.device == d, op_, ": ", name_, " must be a ", d == Device::cpu ? "CPU (NumPy)" : "CUDA (CuPy)",
             " array");
    return *this;
  }
  const Expect& dtype(DType t) const {
    DK_CHECK(v_.dtype == t, op_, ": ", name_, " must be ", dtype_name(t), ", got ", dtype_name(v_.dtype));
    return *this;
  }
  const Expect& ndim(int64_t n) const {
    DK_CHECK(v_.ndim() == n, op_, ": ", name_, " must have ", n, " dimensions, got shape ", shape_str(v_.shape));
    return *this;
  }
  const Expect& shape(const std::vector<int64_t>& s) const {
    DK_CHECK(v_.shape == s, op_, ": ", name_, " must have shape ", shape_str(s), ", got ", shape_str(v_.shape));
    return *this;
  }
  const Expect& numel(int64_t n) const {
    DK_CHECK(v_.numel() == n, op_, ": ", name_, " must have ", n, " elements, got shape ", shape_str(v_.shape));
    return *this;
  }
  const Expect& contiguous() const {
    DK_CHECK(v_.contiguous(), op_, ": ", name_, " must be C-contiguous");
    return *this;
  }
  const Expect& writable() const {
    DK_CHECK(v_.writable, op_, ": ", name_, " must be writable");
    return *this;
  }

 private:
  const TensorView& v_;
  const char* name_;
  const char* op_;
};

inline Expect expect(const TensorView& v, const char* name, const char* op) { return Expect(v, name, op); }

// Calls f(T{}) with T the C++ type of a floating dtype (float32/float64).
template <typename F>
auto dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: break;
  }
  throw std::invalid_argument(str(op, ": expected float32 or float64, got ", dtype_name(t)));
}

}  // namespace dk
