// Fibers for the emulator's block executor (see fiber.h).
#include "emu/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define DK_EMU_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define DK_EMU_TSAN 1
#endif

namespace dk::emu {
namespace {

// Sanitized frames are larger (redzones, fake stacks): give them room.
#if defined(DK_EMU_ASAN) || defined(DK_EMU_TSAN)
constexpr size_t kStackSize = 1 << 20;
#else
constexpr size_t kStackSize = 256 << 10;
#endif

// Stacks are mapped once and reused: the pages a fiber touched stay committed, and a guard
// page below each stack turns an overflow into a fault instead of silent corruption.
struct StackPool {
  std::mutex m;
  std::vector<void*> free;

  void* take() {
    {
      std::lock_guard<std::mutex> lk(m);
      if (!free.empty()) {
        void* s = free.back();
        free.pop_back();
        return s;
      }
    }
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* base = mmap(nullptr, kStackSize + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                      -1, 0);
    if (base == MAP_FAILED) {
      std::fprintf(stderr, "cuda_emu: cannot map a fiber stack\n");
      std::abort();
    }
    mprotect(base, page, PROT_NONE);
    return static_cast<char*>(base) + page;
  }
  void give(void* stack) {
#if defined(DK_EMU_ASAN)
    // Frames left poisoned by the last user must not show as errors to the next.
    ASAN_UNPOISON_MEMORY_REGION(stack, kStackSize);
#endif
    std::lock_guard<std::mutex> lk(m);
    free.push_back(stack);
  }
};

StackPool& stacks() {
  static StackPool* pool = new StackPool;  // never destroyed: fibers may outlive static destructors
  return *pool;
}

// The fiber that switched to the running one, for the sanitizers' bookkeeping.
thread_local Fiber* tl_switched_from = nullptr;

}  // namespace

#if defined(__x86_64__)
// dk_emu_switch(save, load): pushes the callee-saved registers and the SSE/x87 control words,
// stores rsp in *save, loads rsp from `load` and pops the same set. A new fiber's stack is
// prepared (start()) as if it had been switched away from at dk_emu_fiber_start, which calls
// r13(r12).
extern "C" void dk_emu_switch(void** save, void* load);
extern "C" void dk_emu_fiber_start();
asm(R"(
  .text
  .p2align 4
  .globl dk_emu_switch
  .hidden dk_emu_switch
  .type dk_emu_switch, @function
dk_emu_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size dk_emu_switch, .-dk_emu_switch

  .p2align 4
  .globl dk_emu_fiber_start
  .hidden dk_emu_fiber_start
  .type dk_emu_fiber_start, @function
dk_emu_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size dk_emu_fiber_start, .-dk_emu_fiber_start
)");
#endif

Fiber::~Fiber() {
  if (stack_) stacks().give(stack_);
#if defined(DK_EMU_TSAN)
  if (tsan_fiber_ && stack_) __tsan_destroy_fiber(tsan_fiber_);
#endif
#if !defined(__x86_64__)
  delete static_cast<ucontext_t*>(uctx_);
#endif
}

void Fiber::start(Entry entry, void* arg) {
  entry_ = entry;
  arg_ = arg;
  if (!stack_) {
    stack_ = stacks().take();
    stack_size_ = kStackSize;
  }
  bottom_ = stack_;
  size_ = stack_size_;
#if defined(DK_EMU_TSAN)
  if (tsan_fiber_) __tsan_destroy_fiber(tsan_fiber_);
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
#if defined(__x86_64__)
  auto top = reinterpret_cast<uintptr_t>(stack_) + stack_size_;
  top &= ~uintptr_t(15);
  auto* frame = reinterpret_cast<uint64_t*>(top) - 8;
  uint32_t mxcsr = 0;
  uint16_t fpucw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  frame[0] = uint64_t(mxcsr) | (uint64_t(fpucw) << 32);
  frame[1] = 0;                                                  // r15
  frame[2] = 0;                                                  // r14
  frame[3] = reinterpret_cast<uint64_t>(&Fiber::trampoline);     // r13: the function
  frame[4] = reinterpret_cast<uint64_t>(this);                   // r12: its argument
  frame[5] = 0;                                                  // rbx
  frame[6] = 0;                                                  // rbp
  frame[7] = reinterpret_cast<uint64_t>(&dk_emu_fiber_start);    // return address
  sp_ = frame;
#else
  auto* uc = static_cast<ucontext_t*>(uctx_);
  if (!uc) uctx_ = uc = new ucontext_t;
  getcontext(uc);
  uc->uc_stack.ss_sp = stack_;
  uc->uc_stack.ss_size = stack_size_;
  uc->uc_link = nullptr;
  // makecontext passes int arguments: split the pointer.
  const auto p = reinterpret_cast<uintptr_t>(this);
  makecontext(uc, reinterpret_cast<void (*)()>(+[](unsigned hi, unsigned lo) {
                trampoline(reinterpret_cast<void*>((uintptr_t(hi) << 32) | lo));
              }),
              2, unsigned(p >> 32), unsigned(p & 0xffffffffu));
#endif
}

void Fiber::trampoline(void* self) {
  auto* f = static_cast<Fiber*>(self);
  f->entered(*tl_switched_from);
  f->entry_(f->arg_);
  std::fprintf(stderr, "cuda_emu: a fiber's entry returned\n");
  std::abort();
}

void Fiber::entered(Fiber& from) {
#if defined(DK_EMU_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &from.bottom_, &from.size_);
#else
  (void)from;
#endif
}

void Fiber::switch_to(Fiber& to) {
  tl_switched_from = this;
#if defined(DK_EMU_ASAN)
  __sanitizer_start_switch_fiber(&fake_stack_, to.bottom_, to.size_);
#endif
#if defined(DK_EMU_TSAN)
  if (!tsan_fiber_) tsan_fiber_ = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(to.tsan_fiber_, to.no_sync_ ? __tsan_switch_to_fiber_no_sync : 0);
#endif
#if defined(__x86_64__)
  dk_emu_switch(&sp_, to.sp_);
#else
  if (!uctx_) uctx_ = new ucontext_t;
  swapcontext(static_cast<ucontext_t*>(uctx_), static_cast<ucontext_t*>(to.uctx_));
#endif
  // Back in this context.
#if defined(DK_EMU_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_, &tl_switched_from->bottom_, &tl_switched_from->size_);
#endif
}

void Fiber::exit_to(Fiber& to) {
  tl_switched_from = this;
#if defined(DK_EMU_ASAN)
  __sanitizer_start_switch_fiber(nullptr, to.bottom_, to.size_);
#endif
#if defined(DK_EMU_TSAN)
  __tsan_switch_to_fiber(to.tsan_fiber_, to.no_sync_ ? __tsan_switch_to_fiber_no_sync : 0);
#endif
#if defined(__x86_64__)
  void* discard;
  dk_emu_switch(&discard, to.sp_);
#else
  setcontext(static_cast<ucontext_t*>(to.uctx_));
#endif
  __builtin_unreachable();
}

}  // namespace dk::emu
