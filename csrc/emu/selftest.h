// The emulator's own test kernels (selftest.cpp), bound in the emulated module only.
#pragma once
#include <string>
#include <vector>

namespace dk::emu {
// Runs the named scenario and returns what its kernel wrote; a fault raises (DK_CUDA_CHECK).
std::vector<double> selftest(const std::string& name);
// cub::DeviceRadixSort's stand-in on `keys` (float32, float64 or int32): sorted keys, then the
// input positions they came from.
std::vector<double> radix_sort(const std::vector<double>& keys, const std::string& dtype, bool descending);
}  // namespace dk::emu
