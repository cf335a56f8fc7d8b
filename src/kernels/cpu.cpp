#include "recurrent/kernels/cpu.h"

#include <cstdlib>
#include <cstring>

#include "recurrent/core/error.h"

namespace recurrent {

// The CPU checks are x86-only; on any other target (aarch64) there is no AVX-512, so both are false
// and best_isa() is always generic.
bool cpu_has_avx512() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  // GCC 12's __builtin_cpu_supports has no "avx512bf16": read CPUID leaf 7 sub-leaf 1, EAX bit 5.
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
  return cpu_has_avx512() && (a & (1u << 5));
#else
  return false;
#endif
}

}  // namespace recurrent
