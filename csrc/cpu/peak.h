#pragma once
#include <cstdint>

namespace dk::cpu {

// Measured fp32 (or fp64) peak of `threads` cores in GFLOP/s: see peak.cpp.
double measure_peak_gflops(int threads, bool double_precision, double seconds);

}  // namespace dk::cpu
