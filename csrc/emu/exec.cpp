// The emulator's execution engine: runs a kernel's grid on the CPU.
//
// Execution model
//   * Blocks run concurrently: up to DK_CUDA_EMU_BLOCKS blocks at once (default 2), each with
//     its own shared memory, barrier and warps. Blocks share nothing but global memory, so a
//     race between blocks is two unordered accesses from different threads, which
//     ThreadSanitizer reports.
//   * Inside a block, every CUDA thread is either a fiber (DK_CUDA_EMU_EXEC=fibers, the default
//     without ThreadSanitizer) — the block's threads take turns on one OS thread, switching
//     only at __syncthreads and warp collectives, so a block costs little more than running its
//     threads one after another — or an OS thread (=threads, the default under
//     ThreadSanitizer), so that TSan sees every pair of accesses no barrier orders.
//   * __syncthreads waits for the block's live threads (a thread that returned no longer
//     counts, as on sm_70+). All threads of one barrier phase must wait at the same source
//     line; otherwise that is barrier divergence, an error.
//   * Warp collectives (__shfl*_sync, __ballot_sync, __any/__all_sync, __syncwarp) meet the
//     lanes named in their mask: any mask, several disjoint groups of one warp at once. Every
//     lane of the mask must exist, be alive and call the same collective with the same mask
//     (for shuffles and votes, at the same line); reading a lane outside the mask is an error.
//   * Shared memory (DK_SHARED, DK_DYNAMIC_SHARED) is allocated per block, exactly as large as
//     declared (AddressSanitizer sees overruns), and filled with 0xFF bytes — NaN in every
//     float type, -1 in every integer — so a read before any write shows.
//   * An error inside a kernel records a sticky CUDA error naming the kernel, the block, the
//     thread and the source line, stops the faulting thread and makes every other thread stop
//     at its next synchronization; nothing aborts the process. A block whose threads all wait
//     with none able to proceed is a deadlock, found at once with fibers and after
//     DK_CUDA_EMU_WATCHDOG seconds (default 120) with OS threads.
//   * Launches run one at a time, synchronously on the calling thread's stream order.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "emu/exec.h"
#include "emu/fiber.h"
#include "emu/state.h"

thread_local uint3 threadIdx{0, 0, 0};
thread_local uint3 blockIdx{0, 0, 0};
thread_local dim3 blockDim{1, 1, 1};
thread_local dim3 gridDim{1, 1, 1};

namespace dk::emu {
namespace {

// ---- options -----------------------------------------------------------------------------------

enum class Executor { fibers, threads };

// Read from the environment once (DK_CUDA_EMU_EXEC, DK_CUDA_EMU_BLOCKS, DK_CUDA_EMU_WATCHDOG);
// configure() changes them between launches.
struct Options {
  std::atomic<Executor> executor;
  std::atomic<unsigned> concurrent_blocks;
  std::atomic<double> watchdog_seconds;

  Options() {
#if defined(__SANITIZE_THREAD__)
    Executor e = Executor::threads;
#else
    Executor e = Executor::fibers;
#endif
    if (const char* s = std::getenv("DK_CUDA_EMU_EXEC")) {
      if (std::strcmp(s, "threads") == 0) e = Executor::threads;
      else if (std::strcmp(s, "fibers") == 0) e = Executor::fibers;
      else std::fprintf(stderr, "cuda_emu: DK_CUDA_EMU_EXEC=%s is neither fibers nor threads; ignored\n", s);
    }
    executor = e;
    const char* b = std::getenv("DK_CUDA_EMU_BLOCKS");
    concurrent_blocks = b ? unsigned(std::max(1, std::atoi(b))) : 2u;
    const char* w = std::getenv("DK_CUDA_EMU_WATCHDOG");
    watchdog_seconds = w ? std::max(0.1, std::atof(w)) : 120.0;
  }
};

Options& options() {
  static Options* o = new Options;
  return *o;
}

// Source paths as the project writes them: "cuda/softmax.cu", not the build's absolute path.
const char* short_path(const char* file) {
  const char* p = std::strstr(file, "csrc/");
  return p ? p + 5 : file;
}

std::string vformat(const char* format, va_list ap) {
  char buf[1024];
  std::vsnprintf(buf, sizeof buf, format, ap);
  return buf;
}

std::string format(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  std::string s = vformat(format, ap);
  va_end(ap);
  return s;
}

// Thrown through a CUDA thread's frames to stop it after a fault (not a std::exception, so
// nothing in a kernel could catch it by accident).
struct Abort {};

// ---- launch, block and thread state ------------------------------------------------------------

struct Grid {
  LaunchSite site;
  dim3 grid, block;
  size_t dynamic_bytes;
  size_t shared_limit;  // static + dynamic shared memory a block may use
  ThreadBody body;
  const void* call;
  unsigned nthreads;
  uint64_t nblocks;
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  cudaError_t error = cudaSuccess;
  std::string message;
};

struct Block;

struct CudaThread {
  Block* block = nullptr;
  uint3 idx{0, 0, 0};
  unsigned tid = 0;  // linear index in the block
  // Fibers: what the thread waits for (*wait_gen to move past wait_seen), and whether it ran out.
  Fiber fiber;
  const uint64_t* wait_gen = nullptr;
  uint64_t wait_seen = 0;
  bool done = false;
  bool aborted = false;
};

// With OS threads, each synchronization domain of a block (its barrier, each warp, its shared
// memory) has its own mutex and condition variable, so that ThreadSanitizer sees only the
// happens-before a GPU guarantees: a shuffle orders the lanes of its warp, not the whole
// block. With fibers they are unused (a block's fibers share one OS thread).
struct Domain {
  std::mutex m;
  std::condition_variable cv;
};

// One group of lanes meeting in a warp collective.
struct WarpGroup {
  unsigned mask = 0, arrived = 0;
  WarpOp op = WarpOp::sync;
  const char* what = "";
  const char* file = "";
  int line = 0;
};

struct Warp {
  Domain sync;
  unsigned present = 0;  // lanes that exist (the last warp of a block may be partial)
  unsigned exited = 0;
  std::vector<WarpGroup> open;
  alignas(16) unsigned char deposit[32][16];
  alignas(16) unsigned char result[32][16];
  int arg[32];
  int width[32];
  uint64_t done[32];  // moves when the lane's collective completes
};

struct Block {
  Grid* grid = nullptr;
  uint3 idx{0, 0, 0};
  bool threaded = false;  // OS threads: the members below are guarded by their domain's mutex

  // __syncthreads
  Domain barrier;
  unsigned live = 0, arrived = 0;
  int predicate_sum = 0, result = 0;
  bool result_all = false;
  const char* barrier_file = nullptr;
  int barrier_line = 0;
  uint64_t barrier_gen = 0;

  std::vector<Warp> warps;

  // Shared memory: one allocation per DK_SHARED slot, one for the dynamic part.
  Domain arena;
  std::vector<void*> shared;
  size_t static_bytes = 0;
  void* dynamic = nullptr;

  void begin(Grid* g, uint64_t linear, bool use_threads);
  void end();
};

thread_local CudaThread* tl_thread = nullptr;

void* allocate_shared(size_t bytes) {
  void* p = ::operator new(bytes, std::align_val_t(16));
  std::memset(p, 0xFF, bytes);
  return p;
}
void free_shared(void* p) { ::operator delete(p, std::align_val_t(16)); }

void Block::begin(Grid* g, uint64_t linear, bool use_threads) {
  grid = g;
  threaded = use_threads;
  idx = {unsigned(linear % g->grid.x), unsigned((linear / g->grid.x) % g->grid.y),
         unsigned(linear / (uint64_t(g->grid.x) * g->grid.y))};
  live = g->nthreads;
  arrived = 0;
  predicate_sum = result = 0;
  barrier_file = nullptr;
  barrier_line = 0;
  const unsigned nwarps = (g->nthreads + 31) / 32;
  if (warps.size() != nwarps) warps = std::vector<Warp>(nwarps);
  for (unsigned w = 0; w < nwarps; ++w) {
    const unsigned lanes = std::min(32u, g->nthreads - 32 * w);
    warps[w].present = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
    warps[w].exited = 0;
    warps[w].open.clear();
  }
  static_bytes = 0;
  dynamic = allocate_shared(g->dynamic_bytes);
}

void Block::end() {
  for (void*& p : shared)
    if (p) {
      free_shared(p);
      p = nullptr;
    }
  free_shared(dynamic);
  dynamic = nullptr;
}

// Records the first error of the grid; every thread stops at its next synchronization.
void record_error(Grid& g, cudaError_t code, const std::string& message) {
  {
    std::lock_guard<std::mutex> lk(g.error_mutex);
    if (g.error == cudaSuccess) {
      g.error = code;
      g.message = message;
    }
  }
  g.failed.store(true, std::memory_order_relaxed);
}

std::string where(const Grid& g, const Block& b, uint3 t) {
  return format("%s (DK_LAUNCH at %s:%d), block (%u,%u,%u), thread (%u,%u,%u)", g.site.kernel,
                short_path(g.site.file), g.site.line, b.idx.x, b.idx.y, b.idx.z, t.x, t.y, t.z);
}

// Records an error raised by the running CUDA thread (without stopping it).
void thread_error(cudaError_t code, const std::string& what) {
  CudaThread* t = tl_thread;
  if (!t) {
    std::fprintf(stderr, "cuda_emu: %s (outside any kernel)\n", what.c_str());
    std::abort();
  }
  Block& b = *t->block;
  record_error(*b.grid, code, "in " + where(*b.grid, b, t->idx) + ": " + what);
  if (b.threaded) {  // wake every waiting thread of the block: they stop
    b.barrier.cv.notify_all();
    for (Warp& w : b.warps) w.sync.cv.notify_all();
  }
}

[[noreturn]] void stop(cudaError_t code, const std::string& what) {
  thread_error(code, what);
  throw Abort{};
}

// ---- waiting ------------------------------------------------------------------------------------

// A domain's lock: held with OS threads, empty with fibers (a block's fibers share one OS
// thread and switch only where they wait).
std::unique_lock<std::mutex> hold(const Block& b, Domain& d) {
  return b.threaded ? std::unique_lock<std::mutex>(d.m) : std::unique_lock<std::mutex>();
}

void release(std::unique_lock<std::mutex>& lk) {
  if (lk.owns_lock()) lk.unlock();
}


// Scheduler context of the OS thread running a fiber block.
thread_local Fiber* tl_scheduler = nullptr;

// Blocks the calling CUDA thread until *gen moves past `seen` (or the grid fails).
// OS threads: `lk` holds the mutex of domain `d`, which *gen belongs to. Fibers: control goes
// back to the block's scheduler, which resumes the fiber once *gen moved.
void wait_for(Block& b, Domain& d, std::unique_lock<std::mutex>& lk, const uint64_t* gen, uint64_t seen,
              const char* what, const char* file, int line) {
  Grid& g = *b.grid;
  CudaThread& t = *tl_thread;
  if (!b.threaded) {
    t.wait_gen = gen;
    t.wait_seen = seen;
    t.fiber.switch_to(*tl_scheduler);
    t.wait_gen = nullptr;
    if (g.failed.load(std::memory_order_relaxed)) throw Abort{};
    return;
  }
  const double watchdog = options().watchdog_seconds;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(watchdog);
  while (*gen == seen) {
    if (g.failed.load(std::memory_order_relaxed)) throw Abort{};
    // Wake up now and then: a fault in another block does not notify this one.
    d.cv.wait_for(lk, std::chrono::milliseconds(50));
    if (*gen == seen && std::chrono::steady_clock::now() > deadline) {
      release(lk);
      stop(cudaErrorLaunchTimeout,
           format("deadlock: %s at %s:%d waited %.0f s (DK_CUDA_EMU_WATCHDOG) for the other threads", what,
                  short_path(file), line, watchdog));
    }
  }
  if (g.failed.load(std::memory_order_relaxed)) throw Abort{};
}

void complete_barrier(Block& b) {
  b.result = b.predicate_sum;
  b.result_all = b.predicate_sum == int(b.live);
  b.predicate_sum = 0;
  b.arrived = 0;
  b.barrier_file = nullptr;
  ++b.barrier_gen;
  if (b.threaded) b.barrier.cv.notify_all();
}

// ---- warp collectives ----------------------------------------------------------------------------

std::string lanes(unsigned mask) { return format("0x%08x", mask); }

// Computes every member's result once the last lane of `grp` arrived, and releases them.
void complete_group(Block& b, Warp& w, const WarpGroup& grp) {
  for (unsigned l = 0; l < 32; ++l) {
    if (!((grp.mask >> l) & 1u)) continue;
    switch (grp.op) {
      case WarpOp::shfl:
      case WarpOp::shfl_up:
      case WarpOp::shfl_down:
      case WarpOp::shfl_xor: {
        const int width = w.width[l], lane = int(l), segment = lane & ~(width - 1);
        int src = lane;
        switch (grp.op) {
          case WarpOp::shfl: src = segment + (w.arg[l] & (width - 1)); break;
          case WarpOp::shfl_up: src = lane - w.arg[l] < segment ? lane : lane - w.arg[l]; break;
          case WarpOp::shfl_down: src = lane + w.arg[l] >= segment + width ? lane : lane + w.arg[l]; break;
          default: src = (lane ^ w.arg[l]) >= segment + width ? lane : lane ^ w.arg[l]; break;
        }
        if (src < 0 || src > 31 || !((grp.mask >> src) & 1u))
          stop(cudaErrorLaunchFailure,
               format("%s at %s:%d: lane %u reads lane %d, which is not in the mask %s (undefined on a GPU)",
                      grp.what, short_path(grp.file), grp.line, l, src, lanes(grp.mask).c_str()));
        std::memcpy(w.result[l], w.deposit[src], 16);
        break;
      }
      case WarpOp::ballot: {
        unsigned bits = 0;
        for (unsigned k = 0; k < 32; ++k)
          if (((grp.mask >> k) & 1u) && w.deposit[k][0]) bits |= 1u << k;
        std::memcpy(w.result[l], &bits, sizeof bits);
        break;
      }
      case WarpOp::sync: break;
    }
  }
  for (unsigned l = 0; l < 32; ++l)
    if ((grp.mask >> l) & 1u) ++w.done[l];
  if (b.threaded) w.sync.cv.notify_all();
}

// The running thread leaves the kernel: it no longer counts for barriers, and no warp group
// may still wait for it.
void thread_exit(CudaThread& t) {
  Block& b = *t.block;
  {
    auto lk = hold(b, b.barrier);
    --b.live;
    if (b.arrived > 0 && b.arrived == b.live) complete_barrier(b);
  }
  Warp& w = b.warps[t.tid / 32];
  auto lk = hold(b, w.sync);
  const unsigned lane = t.tid % 32;
  w.exited |= 1u << lane;
  for (const WarpGroup& grp : w.open)
    if (((grp.mask >> lane) & 1u) && !((grp.arrived >> lane) & 1u)) {
      release(lk);
      thread_error(cudaErrorLaunchFailure,
                   format("lane %u returned while lanes %s wait for it at %s(mask %s) %s:%d", lane,
                          lanes(grp.arrived).c_str(), grp.what, lanes(grp.mask).c_str(), short_path(grp.file),
                          grp.line));
      return;
    }
}

// Runs one CUDA thread's kernel body; never throws.
void run_thread(CudaThread& t) {
  Grid& g = *t.block->grid;
  try {
    g.body(g.call);
  } catch (const Abort&) {
    t.aborted = true;
    return;
  } catch (const std::exception& e) {
    thread_error(cudaErrorLaunchFailure, std::string("exception in device code: ") + e.what());
    t.aborted = true;
    return;
  } catch (...) {
    thread_error(cudaErrorLaunchFailure, "exception in device code");
    t.aborted = true;
    return;
  }
  thread_exit(t);
}

void enter_thread(CudaThread& t) {
  tl_thread = &t;
  threadIdx = t.idx;
  blockIdx = t.block->idx;
  blockDim = t.block->grid->block;
  gridDim = t.block->grid->grid;
}

uint3 thread_index(const dim3& block, unsigned tid) {
  return {tid % block.x, (tid / block.x) % block.y, tid / (block.x * block.y)};
}

// ---- fiber executor -----------------------------------------------------------------------------

void fiber_main(void* arg) {
  auto& t = *static_cast<CudaThread*>(arg);
  if (t.block->grid->failed.load(std::memory_order_relaxed))
    t.aborted = true;  // the grid failed before this thread started: it never runs
  else
    run_thread(t);
  t.done = true;
  t.fiber.exit_to(*tl_scheduler);
}

std::string describe_waits(Block& b, std::vector<CudaThread>& threads) {
  std::string s;
  unsigned at_barrier = 0;
  for (auto& t : threads)
    if (!t.done && t.wait_gen == &b.barrier_gen) ++at_barrier;
  if (at_barrier)
    s += format("%u threads wait at __syncthreads %s:%d", at_barrier,
                b.barrier_file ? short_path(b.barrier_file) : "?", b.barrier_line);
  for (size_t wi = 0; wi < b.warps.size(); ++wi)
    for (const WarpGroup& grp : b.warps[wi].open)
      s += format("%slanes %s of warp %zu wait at %s(mask %s) %s:%d for lanes %s", s.empty() ? "" : "; ",
                  lanes(grp.arrived).c_str(), wi, grp.what, lanes(grp.mask).c_str(), short_path(grp.file), grp.line,
                  lanes(grp.mask & ~grp.arrived).c_str());
  return s;
}

// Runs one block's threads as fibers on the calling OS thread.
void run_block_fibers(Block& b, std::vector<CudaThread>& threads) {
  Grid& g = *b.grid;
  Fiber scheduler;
  tl_scheduler = &scheduler;
  for (unsigned i = 0; i < g.nthreads; ++i) {
    CudaThread& t = threads[i];
    t.block = &b;
    t.tid = i;
    t.idx = thread_index(g.block, i);
    t.wait_gen = nullptr;
    t.done = t.aborted = false;
    t.fiber.start(&fiber_main, &t);
  }
  for (;;) {
    bool all_done = true, progressed = false;
    const bool failed = g.failed.load(std::memory_order_relaxed);
    for (unsigned i = 0; i < g.nthreads; ++i) {
      CudaThread& t = threads[i];
      if (t.done) continue;
      all_done = false;
      if (t.wait_gen && *t.wait_gen == t.wait_seen && !failed) continue;
      enter_thread(t);
      scheduler.switch_to(t.fiber);
      progressed = true;
    }
    if (all_done) break;
    if (!progressed) {
      // Every live thread waits for something no thread can now provide.
      record_error(g, cudaErrorLaunchTimeout,
                   format("in %s (DK_LAUNCH at %s:%d), block (%u,%u,%u): deadlock: %s", g.site.kernel,
                          short_path(g.site.file), g.site.line, b.idx.x, b.idx.y, b.idx.z,
                          describe_waits(b, threads).c_str()));
    }
  }
  tl_scheduler = nullptr;
  tl_thread = nullptr;
}

void run_grid_fibers(Grid& g) {
  const unsigned workers = unsigned(std::min<uint64_t>(options().concurrent_blocks.load(), g.nblocks));
  std::atomic<uint64_t> next{0};
  auto worker = [&g, &next] {
    Block b;
    std::vector<CudaThread> threads(g.nthreads);
    for (;;) {
      const uint64_t linear = next.fetch_add(1, std::memory_order_relaxed);
      if (linear >= g.nblocks || g.failed.load(std::memory_order_relaxed)) break;
      b.begin(&g, linear, false);
      run_block_fibers(b, threads);
      b.end();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < workers; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

// ---- OS-thread executor -------------------------------------------------------------------------

// `teams` teams of nthreads OS threads; team k runs blocks k, k + teams, ... one after another
// (a std::barrier between blocks). Teams never synchronize with each other, so accesses of
// blocks run by different teams are unordered for ThreadSanitizer.
void run_grid_threads(Grid& g) {
  const unsigned teams = unsigned(std::min<uint64_t>(options().concurrent_blocks.load(), g.nblocks));
  struct Team {
    Block block;
    uint64_t linear = 0;
    bool stop = false;
    std::vector<CudaThread> threads;
  };
  // Between two blocks of a team (run by whichever thread arrives last): finish the block
  // that ended, start the next one.
  struct NextBlock {
    Grid* g;
    Team* tm;
    unsigned teams;
    void operator()() noexcept {
      tm->block.end();
      tm->linear += teams;
      tm->stop = tm->linear >= g->nblocks || g->failed.load(std::memory_order_relaxed);
      if (!tm->stop) tm->block.begin(g, tm->linear, true);
    }
  };
  std::vector<std::unique_ptr<Team>> team(teams);
  std::vector<std::unique_ptr<std::barrier<NextBlock>>> gates(teams);
  for (unsigned k = 0; k < teams; ++k) {
    team[k] = std::make_unique<Team>();
    Team& tm = *team[k];
    tm.linear = k;
    tm.threads = std::vector<CudaThread>(g.nthreads);
    tm.block.begin(&g, k, true);
    gates[k] = std::make_unique<std::barrier<NextBlock>>(std::ptrdiff_t(g.nthreads), NextBlock{&g, &tm, teams});
  }
  std::vector<std::thread> pool;
  pool.reserve(size_t(teams) * g.nthreads);
  for (unsigned k = 0; k < teams; ++k)
    for (unsigned i = 0; i < g.nthreads; ++i)
      pool.emplace_back([&g, &tm = *team[k], &gate = *gates[k], i] {
        CudaThread& t = tm.threads[i];
        t.tid = i;
        t.idx = thread_index(g.block, i);
        for (;;) {
          t.block = &tm.block;
          enter_thread(t);
          run_thread(t);
          gate.arrive_and_wait();
          if (tm.stop) break;
        }
        tl_thread = nullptr;
      });
  for (auto& th : pool) th.join();
}

}  // namespace

// ---- entry points --------------------------------------------------------------------------------

std::string executor_name() { return options().executor == Executor::fibers ? "fibers" : "threads"; }
unsigned concurrent_blocks() { return options().concurrent_blocks; }
double watchdog_seconds() { return options().watchdog_seconds; }

void configure(const std::string& executor, unsigned blocks, double watchdog) {
  Options& o = options();
  if (executor == "fibers") o.executor = Executor::fibers;
  else if (executor == "threads") o.executor = Executor::threads;
  else if (!executor.empty()) throw std::invalid_argument("emu_configure: executor must be 'fibers' or 'threads'");
  if (blocks > 0) o.concurrent_blocks = blocks;
  if (watchdog > 0) o.watchdog_seconds = watchdog;
}

int sync_threads(BarrierOp op, int predicate, const char* file, int line) {
  CudaThread& t = *tl_thread;
  Block& b = *t.block;
  auto lk = hold(b, b.barrier);
  if (b.arrived == 0) {
    b.barrier_file = file;
    b.barrier_line = line;
  } else if (line != b.barrier_line || std::strcmp(file, b.barrier_file) != 0) {
    const std::string other = format("%s:%d", short_path(b.barrier_file), b.barrier_line);
    release(lk);
    stop(cudaErrorLaunchFailure,
         format("barrier divergence: __syncthreads at %s:%d while other threads of the block wait at %s",
                short_path(file), line, other.c_str()));
  }
  b.predicate_sum += predicate;
  const uint64_t gen = b.barrier_gen;
  if (++b.arrived == b.live)
    complete_barrier(b);
  else
    wait_for(b, b.barrier, lk, &b.barrier_gen, gen, "__syncthreads", file, line);
  // All threads of the phase read the result before any can complete the next phase.
  switch (op) {
    case BarrierOp::count: return b.result;
    case BarrierOp::all: return b.result_all ? 1 : 0;
    default: return 0;
  }
}

void warp_collective(WarpOp op, unsigned mask, const void* in, size_t bytes, int lane_arg, int width, void* out,
                     const char* what, const char* file, int line) {
  CudaThread& t = *tl_thread;
  Block& b = *t.block;
  Warp& w = b.warps[t.tid / 32];
  auto lk = hold(b, w.sync);
  const unsigned lane = t.tid % 32;
  auto fail = [&](const std::string& why) {
    release(lk);
    stop(cudaErrorLaunchFailure, format("%s(mask %s) at %s:%d: ", what, lanes(mask).c_str(), short_path(file), line) +
                                     why);
  };
  if (!((mask >> lane) & 1u)) fail(format("the calling lane %u is not in the mask", lane));
  if (mask & ~w.present)
    fail(format("the mask names lanes %s, which this warp does not have (its lanes: %s)", lanes(mask & ~w.present).c_str(),
                lanes(w.present).c_str()));
  if (mask & w.exited) fail(format("the mask names lanes %s, which have returned", lanes(mask & w.exited).c_str()));

  WarpGroup* grp = nullptr;
  for (WarpGroup& o : w.open)
    if (o.mask == mask) grp = &o;
  if (grp) {
    const bool same_site = line == grp->line && std::strcmp(file, grp->file) == 0;
    if (op != grp->op || (op != WarpOp::sync && !same_site))
      fail(format("warp divergence: lanes %s of the same mask wait at %s %s:%d", lanes(grp->arrived).c_str(), grp->what,
                  short_path(grp->file), grp->line));
  } else {
    w.open.push_back(WarpGroup{mask, 0, op, what, file, line});
    grp = &w.open.back();
  }
  std::memset(w.deposit[lane], 0, 16);
  if (bytes) std::memcpy(w.deposit[lane], in, bytes);
  w.arg[lane] = lane_arg;
  w.width[lane] = width;
  grp->arrived |= 1u << lane;
  const uint64_t seen = w.done[lane];
  if (grp->arrived == grp->mask) {
    const WarpGroup done = *grp;
    w.open.erase(w.open.begin() + (grp - w.open.data()));
    complete_group(b, w, done);
  } else {
    wait_for(b, w.sync, lk, &w.done[lane], seen, what, file, line);
  }
  std::memcpy(out, w.result[lane], 16);
}

unsigned shared_slot() {
  static std::atomic<unsigned> next{0};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void* static_shared(unsigned slot, size_t bytes, const char* name, const char* file, int line) {
  CudaThread& t = *tl_thread;
  Block& b = *t.block;
  auto lk = hold(b, b.arena);
  if (slot >= b.shared.size()) b.shared.resize(slot + 1, nullptr);
  if (!b.shared[slot]) {
    b.static_bytes += bytes;
    const size_t limit = b.grid->shared_limit;
    if (b.static_bytes > kSharedPerBlock || b.static_bytes + b.grid->dynamic_bytes > limit) {
      const size_t total = b.static_bytes;
      release(lk);
      stop(cudaErrorInvalidValue,
           format("shared memory %s (%s:%d): %zu bytes of static shared memory and %zu dynamic exceed the block's "
                  "limit (48 KiB static, %zu bytes in all)",
                  name, short_path(file), line, total, b.grid->dynamic_bytes, limit));
    }
    b.shared[slot] = allocate_shared(bytes);
  }
  return b.shared[slot];
}

void* dynamic_shared() { return tl_thread->block->dynamic; }

void fault(const char* format_string, ...) {
  va_list ap;
  va_start(ap, format_string);
  const std::string what = vformat(format_string, ap);
  va_end(ap);
  stop(cudaErrorLaunchFailure, what);
}

void launch(const LaunchSite& site, const void* kernel, dim3 grid, dim3 block, size_t dynamic_bytes, ThreadBody body,
            const void* call) {
  if (sticky_error() != cudaSuccess) {
    set_last_error(sticky_error(), "");
    return;
  }
  const std::string at = format("%s (DK_LAUNCH at %s:%d)", site.kernel, short_path(site.file), site.line);
  const uint64_t nthreads = uint64_t(block.x) * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      block.x > unsigned(kMaxBlockDim[0]) || block.y > unsigned(kMaxBlockDim[1]) ||
      block.z > unsigned(kMaxBlockDim[2]) || nthreads > uint64_t(kMaxThreadsPerBlock) || grid.x > kMaxGridDim[0] ||
      grid.y > kMaxGridDim[1] || grid.z > kMaxGridDim[2]) {
    set_last_error(cudaErrorInvalidConfiguration,
                   format("%s: grid (%u,%u,%u), block (%u,%u,%u): the limits are block <= (1024,1024,64) and 1024 "
                          "threads, grid <= (2^31-1,65535,65535), none zero",
                          at.c_str(), grid.x, grid.y, grid.z, block.x, block.y, block.z));
    return;
  }
  const size_t allowed = max_dynamic_shared(kernel);
  if (dynamic_bytes > allowed) {
    set_last_error(cudaErrorInvalidValue,
                   format("%s: %zu bytes of dynamic shared memory, more than the %zu allowed%s", at.c_str(),
                          dynamic_bytes, allowed,
                          allowed == kSharedPerBlock ? " (cudaFuncAttributeMaxDynamicSharedMemorySize raises it)" : ""));
    return;
  }

  static std::mutex serial;  // one stream: kernels run one after another
  std::lock_guard<std::mutex> one_at_a_time(serial);
  count_launch(site);
  Grid g;
  g.site = site;
  g.grid = grid;
  g.block = block;
  g.dynamic_bytes = dynamic_bytes;
  // Static + dynamic: 48 KiB, or up to the opt-in limit once the kernel asked for more.
  g.shared_limit = allowed > kSharedPerBlock ? kSharedPerBlockOptin : kSharedPerBlock;
  g.body = body;
  g.call = call;
  g.nthreads = unsigned(nthreads);
  g.nblocks = uint64_t(grid.x) * grid.y * grid.z;
  if (options().executor.load() == Executor::fibers)
    run_grid_fibers(g);
  else
    run_grid_threads(g);
  if (g.failed.load()) set_sticky_error(g.error, g.message);
}

}  // namespace dk::emu
