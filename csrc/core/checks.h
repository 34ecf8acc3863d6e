// Argument checks shared by every kernel entry point.
//
// DK_CHECK(cond, parts...) throws std::invalid_argument with the parts streamed together;
// pybind11 turns that into a Python ValueError. Entry points check sizes before any pointer
// is touched, so a direct call into the extension with bad sizes raises instead of writing
// out of bounds. Kernels themselves never check: they trust their (checked) arguments.
#pragma once
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dk {

template <typename... Parts>
std::string str(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << (shape.size() == 1 ? ",)" : ")");
  return os.str();
}

}  // namespace dk

#define DK_CHECK(cond, ...)                                   \
  do {                                                        \
    if (!(cond)) throw std::invalid_argument(::dk::str(__VA_ARGS__)); \
  } while (0)
