// The emulator's execution engine (exec.cpp), as seen by the device built-ins (device.h) and
// the launcher (launch.h). See exec.cpp for the execution model.
#pragma once
#include <cstddef>
#include <cstdint>

#include "emu/runtime.h"

// The built-in index variables, one copy per CUDA thread: exec.cpp sets them whenever it runs
// a CUDA thread (at the start of an OS thread, or at every fiber switch).
extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;

namespace dk::emu {

// A kernel launch as written in the source: DK_LAUNCH(name, ...) at file:line.
struct LaunchSite {
  const char* kernel;  // the kernel with its template arguments, e.g. "fwd_kernel<float>"
  const char* file;
  int line;
};

// Runs one CUDA thread: calls the kernel with its own copy of the launch's arguments.
using ThreadBody = void (*)(const void* call);

// Runs `body(call)` for every thread of every block of the grid and returns when all are done
// (every stream is synchronous). A bad configuration sets the last error and runs nothing; a
// fault inside the kernel sets the sticky error; after a sticky error nothing runs.
void launch(const LaunchSite& site, const void* kernel, dim3 grid, dim3 block, size_t dynamic_shared,
            ThreadBody body, const void* call);

// ---- called by device code, from inside a CUDA thread ---------------------------------------

// __syncthreads and its reducing forms: `count` returns how many threads of the block passed a
// non-zero predicate, `all` whether all of them did.
enum class BarrierOp : uint8_t { sync, count, all };
int sync_threads(BarrierOp op, int predicate, const char* file, int line);

// A warp collective over the lanes of `mask`. Each lane deposits up to 16 bytes (`in`); when
// every lane of the mask has arrived, each receives its result in `out` (16 bytes).
enum class WarpOp : uint8_t { shfl, shfl_up, shfl_down, shfl_xor, ballot, sync };
void warp_collective(WarpOp op, unsigned mask, const void* in, size_t bytes, int lane_arg, int width, void* out,
                     const char* what, const char* file, int line);

// This block's storage for the shared-memory declaration numbered `slot` (see
// shared_slot()): `bytes` bytes, 16-byte aligned, filled with 0xFF bytes (NaN in every float
// type) when the block starts, exactly as large as declared so AddressSanitizer sees overruns.
void* static_shared(unsigned slot, size_t bytes, const char* name, const char* file, int line);
unsigned shared_slot();  // a new slot number, once per declaration (and template instantiation)

// This block's dynamic shared memory: the launch's `smem` bytes, filled like static_shared.
void* dynamic_shared();

// Stops the calling CUDA thread with a sticky error naming the kernel, block, thread and the
// message (printf-style); every other thread of the grid stops at its next synchronization.
[[noreturn]] void fault(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace dk::emu
