// The emulated device's state shared by the runtime API (runtime.cpp) and the executor
// (exec.cpp): the last and the sticky error, kernel attributes, and which launch sites ran.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "emu/exec.h"
#include "emu/runtime.h"

namespace dk::emu {

// The error cudaGetLastError returns next (and clears, unless a sticky error is set).
void set_last_error(cudaError_t error, const std::string& detail);
// A fault inside a kernel: returned by every later launch and cudaGetLastError until
// cudaDeviceReset (reset()).
void set_sticky_error(cudaError_t error, const std::string& detail);
cudaError_t sticky_error();
std::string sticky_error_message();  // "" when none
void reset();

// The dynamic shared memory a launch of `kernel` may use (cudaFuncSetAttribute).
size_t max_dynamic_shared(const void* kernel);

// Launch sites that ran, "kernel (file:line)" -> launches, for coverage reports.
void count_launch(const LaunchSite& site);
std::map<std::string, uint64_t> launch_counts();

// The executor in use ("fibers" or "threads"), how many blocks run at once, and how long a
// thread may wait (OS threads) before the launch is called deadlocked; configure() changes
// them for later launches (an empty executor, 0 blocks or 0 seconds keep the current value).
std::string executor_name();
unsigned concurrent_blocks();
double watchdog_seconds();
void configure(const std::string& executor, unsigned blocks, double watchdog);

}  // namespace dk::emu
