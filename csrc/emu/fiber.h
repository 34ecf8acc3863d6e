// Fibers: cooperative user-space threads, for running a block's CUDA threads on one OS thread.
//
// A switch saves the callee-saved registers on the current stack and loads another stack
// pointer (x86-64: a dozen instructions in fiber.cpp; elsewhere ucontext). Switching through
// swapcontext costs a system call (~0.5 us here) that the hand-written switch does not
// (~10 ns), and a block of 256 threads switches 512 times per __syncthreads.
//
// The sanitizers are told about every switch (AddressSanitizer: which stack is current, so
// it neither misreads a fiber's frames as a stack overflow nor leaks fake stacks;
// ThreadSanitizer: which logical thread runs, so each CUDA thread has its own history).
#pragma once
#include <cstddef>

namespace dk::emu {

class Fiber {
 public:
  using Entry = void (*)(void* arg);

  Fiber() = default;  // the OS thread's own context (the scheduler)
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  ~Fiber();

  // Makes this a fiber that calls entry(arg) on its own stack when first switched to. entry
  // must never return: it ends with exit_to().
  void start(Entry entry, void* arg);
  bool started() const { return stack_ != nullptr; }

  // Saves the running context in `this` and runs `to`.
  void switch_to(Fiber& to);
  // Leaves this fiber for good (it may be start()ed again later) and runs `to`.
  [[noreturn]] void exit_to(Fiber& to);
  // Called first thing on a fresh fiber's stack, with the fiber that switched to it.
  void entered(Fiber& from);

  // ThreadSanitizer: switches to this fiber establish no happens-before with the fiber
  // that switched (only explicit synchronization does), as between CUDA threads.
  void set_no_sync(bool no_sync) { no_sync_ = no_sync; }

 private:
  void* sp_ = nullptr;  // saved stack pointer (x86-64) or ucontext (elsewhere)
  void* stack_ = nullptr;
  size_t stack_size_ = 0;
  // Sanitizer state.
  void* fake_stack_ = nullptr;
  const void* bottom_ = nullptr;  // this context's stack as the sanitizers know it
  size_t size_ = 0;
  void* tsan_fiber_ = nullptr;
  bool no_sync_ = false;
  Entry entry_ = nullptr;
  void* arg_ = nullptr;
  void* uctx_ = nullptr;  // ucontext storage where there is no hand-written switch

  static void trampoline(void* self);
  friend struct FiberAccess;
};

}  // namespace dk::emu
