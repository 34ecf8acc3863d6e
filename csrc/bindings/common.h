// Shared by the binding files (the only files that include pybind11).
//
// A type caster turns a Python argument into a dk::TensorView: NumPy arrays through the
// buffer/array API (device cpu), anything with __cuda_array_interface__ (CuPy) through that
// dict (device cuda). Nothing is copied or converted: the Python layer (deepkern.ops) has
// already made arrays contiguous and of the right dtype; entry points check again.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>

#include "core/tensor_view.h"

namespace py = pybind11;
using namespace pybind11::literals;

namespace dk::bind {

inline bool dtype_from_typestr(char kind, int64_t itemsize, DType& out) {
  switch (kind) {
    case 'f':
      if (itemsize == 2) { out = DType::f16; return true; }
      if (itemsize == 4) { out = DType::f32; return true; }
      if (itemsize == 8) { out = DType::f64; return true; }
      return false;
    case 'i':
      if (itemsize == 4) { out = DType::i32; return true; }
      if (itemsize == 8) { out = DType::i64; return true; }
      return false;
    case 'u':
      if (itemsize == 1) { out = DType::u8; return true; }
      return false;
    case 'b':
      if (itemsize == 1) { out = DType::b8; return true; }
      return false;
    default: return false;
  }
}

}  // namespace dk::bind

namespace pybind11::detail {

template <>
struct type_caster<dk::TensorView> {
  PYBIND11_TYPE_CASTER(dk::TensorView, const_name("ndarray"));

  bool load(handle src, bool) {
    // Device memory first: an object that is a device array is one even when it also offers a
    // host view (a NumPy subclass standing in for CuPy, unified memory).
    if (hasattr(src, "__cuda_array_interface__")) return load_cai(src.attr("__cuda_array_interface__"));
    if (isinstance<array>(src)) return load_numpy(reinterpret_borrow<array>(src));
    return false;
  }

 private:
  bool load_numpy(const array& a) {
    auto dt = a.dtype();
    if (dt.byteorder() == '>') return false;
    if (!dk::bind::dtype_from_typestr(dt.kind(), dt.itemsize(), value.dtype)) return false;
    value.device = dk::Device::cpu;
    value.writable = a.writeable();
    value.data = const_cast<void*>(a.data());
    const int64_t item = dt.itemsize();
    value.shape.assign(a.shape(), a.shape() + a.ndim());
    value.strides.resize(a.ndim());
    for (ssize_t d = 0; d < a.ndim(); ++d) value.strides[d] = a.strides()[d] / item;
    return true;
  }

  bool load_cai(const object& cai_obj) {
    dict cai = reinterpret_borrow<dict>(cai_obj);
    std::string typestr = cai["typestr"].cast<std::string>();
    if (typestr.size() < 3 || typestr[0] == '>') return false;
    const int64_t item = std::stoll(typestr.substr(2));
    if (!dk::bind::dtype_from_typestr(typestr[1], item, value.dtype)) return false;
    tuple data = cai["data"].cast<tuple>();
    value.data = reinterpret_cast<void*>(data[0].cast<std::uintptr_t>());
    value.writable = !data[1].cast<bool>();
    value.device = dk::Device::cuda;
    tuple shape = cai["shape"].cast<tuple>();
    value.shape.clear();
    for (auto s : shape) value.shape.push_back(s.cast<int64_t>());
    value.strides.assign(value.shape.size(), 0);
    object strides = cai.contains("strides") ? object(cai["strides"]) : object(none());
    if (strides.is_none()) {
      int64_t st = 1;
      for (int64_t d = static_cast<int64_t>(value.shape.size()) - 1; d >= 0; --d) {
        value.strides[d] = st;
        st *= value.shape[d];
      }
    } else {
      tuple t = strides.cast<tuple>();
      for (size_t d = 0; d < value.shape.size(); ++d) value.strides[d] = t[d].cast<int64_t>() / item;
    }
    return true;
  }
};

}  // namespace pybind11::detail
