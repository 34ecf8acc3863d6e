// DK_LAUNCH, DK_SHARED and DK_DYNAMIC_SHARED (cuda/launch.cuh) for the emulated backend.
//
//   DK_LAUNCH(k, grid, block, smem, stream)(args...)
//       converts args to k's parameter types once (as a launch does), then runs every thread of
//       the grid with its own copy of them (emu::launch, exec.cpp).
//   DK_SHARED(T, name, [a][b])
//       binds `name` to this block's storage for the declaration: T (&name)[a][b].
//   DK_DYNAMIC_SHARED(T, name)
//       T* name pointing at this block's dynamic shared memory.
#pragma once
#include <cctype>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "emu/exec.h"

namespace dk::emu {

// The kernel's name with its template arguments resolved ("fwd_kernel<float>"), from the
// name of a function template specialized on it.
template <auto Kernel>
const char* kernel_name(const char* fallback) {
  static const std::string name = [fallback, signature = __PRETTY_FUNCTION__] {
    const std::string pretty = signature;  // "... [with auto Kernel = ns::k<float>]"
    const std::string key = "Kernel = ";
    size_t begin = pretty.find(key);
    if (begin == std::string::npos) return std::string(fallback);
    begin += key.size();
    size_t end = begin;
    for (int depth = 0; end < pretty.size(); ++end) {
      const char c = pretty[end];
      if (c == '<' || c == '(') ++depth;
      if (c == '>' || c == ')') --depth;
      if (depth < 0 || (depth == 0 && (c == ';' || c == ']'))) break;
    }
    std::string full = pretty.substr(begin, end - begin);
    if (full.rfind("& ", 0) == 0) full.erase(0, 2);  // "&ns::k<float>" on some compilers
    if (!full.empty() && full[0] == '&') full.erase(0, 1);
    // Drop qualifiers ("dk::cuda::{anonymous}::"), in template arguments too.
    std::string name;
    for (size_t i = 0; i < full.size();) {
      size_t j = i;
      while (j < full.size() && (std::isalnum(static_cast<unsigned char>(full[j])) || full[j] == '_' ||
                                 full[j] == '{' || full[j] == '}' || full[j] == ' '))
        ++j;
      if (j + 1 < full.size() && full[j] == ':' && full[j + 1] == ':') {
        i = j + 2;  // a qualifier: skip it
      } else {
        name.append(full, i, j - i + (j < full.size() ? 1 : 0));
        i = j + 1;
      }
    }
    return name;
  }();
  return name.c_str();
}

template <class... P>
class Launcher {
 public:
  Launcher(void (*kernel)(P...), const char* name, const char* file, int line, dim3 grid, dim3 block,
           size_t dynamic_shared, cudaStream_t)
      : kernel_(kernel), site_{name, file, line}, grid_(grid), block_(block), dynamic_shared_(dynamic_shared) {}

  template <class... A>
  void operator()(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P), "DK_LAUNCH: wrong number of kernel arguments");
    const Call call{kernel_, Args(std::forward<A>(args)...)};
    launch(site_, reinterpret_cast<const void*>(kernel_), grid_, block_, dynamic_shared_, &run_thread, &call);
  }

 private:
  using Args = std::tuple<std::decay_t<P>...>;
  struct Call {
    void (*kernel)(P...);
    Args args;
  };
  // One CUDA thread: the kernel takes its parameters by value, so each thread gets a copy.
  static void run_thread(const void* call) {
    const Call& c = *static_cast<const Call*>(call);
    std::apply(c.kernel, c.args);
  }

  void (*kernel_)(P...);
  LaunchSite site_;
  dim3 grid_, block_;
  size_t dynamic_shared_;
};

template <class... P>
Launcher(void (*)(P...), const char*, const char*, int, dim3, dim3, size_t, cudaStream_t) -> Launcher<P...>;

// Storage of a DK_SHARED declaration in the running block. `Site` is a lambda type made at the
// declaration, so each declaration (and each template instantiation of it) has its own slot.
template <class Array, class Site>
Array& shared_array(Site, const char* name, const char* file, int line) {
  static const unsigned slot = shared_slot();
  return *static_cast<Array*>(static_shared(slot, sizeof(Array), name, file, line));
}

}  // namespace dk::emu

#define DK_LAUNCH(kernel, grid, block, smem, stream)                                                        \
  ::dk::emu::Launcher(kernel, ::dk::emu::kernel_name<kernel>(#kernel), __FILE__, __LINE__, grid, block, smem, \
                      stream)
#define DK_SHARED(type, name, ...) \
  type(&name) __VA_ARGS__ = ::dk::emu::shared_array<type __VA_ARGS__>([] {}, #name, __FILE__, __LINE__)
#define DK_DYNAMIC_SHARED(type, name) type* const name = static_cast<type*>(::dk::emu::dynamic_shared())
