// Run-time instruction-set dispatch for simple loops: DK_CLONES makes GCC emit a baseline,
// an AVX2 (x86-64-v3) and an AVX-512 (x86-64-v4) copy of a function and pick one at load
// time. Use it on non-template leaf loops; wrap templates in per-type overloads.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DK_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define DK_CLONES
#endif
#define DK_INLINE inline __attribute__((always_inline))
