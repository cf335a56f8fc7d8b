#include "recurrent/kernels/cpu.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

namespace {
#if defined(__x86_64__) && defined(__linux__)
// CPUID leaf 7 sub-leaf 0, EDX: bit 24 AMX-TILE, bit 22 AMX-BF16; the OS must enable the tile state
// (XCR0 bits 17 XTILECFG and 18 XTILEDATA, readable when CPUID.1:ECX.OSXSAVE[27]); then Linux (5.16+)
// hands the 8 KiB tile data state to a process only on request: arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA), which is process-wide (every thread, present and future).
bool amx_request() {
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  if (!(d & (1u << 24)) || !(d & (1u << 22))) return false;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  if (!(c & (1u << 27))) return false;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & (3u << 17)) != (3u << 17)) return false;
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}
#endif
}  // namespace

bool cpu_has_amx_bf16() {
#if defined(__x86_64__) && defined(__linux__)
  static const bool ok = cpu_has_avx512_bf16() && amx_request();  // once per process, thread-safe
  return ok;
#else
  return false;
#endif
}

}  // namespace recurrent
