#include "recurrent/core/float_env.h"

#include <omp.h>

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace recurrent {

namespace {

#if defined(__x86_64__) || defined(__i386__)
constexpr unsigned kFtzDaz = 0x8040u;  // MXCSR bit 15 flush-to-zero, bit 6 denormals-are-zero
bool supported() { return true; }
void set_this_thread(bool on) { _mm_setcsr(on ? (_mm_getcsr() | kFtzDaz) : (_mm_getcsr() & ~kFtzDaz)); }
bool this_thread() { return (_mm_getcsr() & kFtzDaz) == kFtzDaz; }
#elif defined(__aarch64__)
constexpr uint64_t kFz = uint64_t{1} << 24;  // FPCR.FZ: flush inputs and results of fp32/fp64 to zero
uint64_t fpcr() {
  uint64_t v;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
  return v;
}
bool supported() { return true; }
void set_this_thread(bool on) {
  const uint64_t v = on ? (fpcr() | kFz) : (fpcr() & ~kFz);
  __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
}
bool this_thread() { return (fpcr() & kFz) != 0; }
#else
bool supported() { return false; }
void set_this_thread(bool) {}
bool this_thread() { return false; }
#endif

}  // namespace

bool set_flush_denormal(bool on) {
  if (!supported()) return false;
  set_this_thread(on);
  // Every thread of the caller's team: OpenMP keeps its workers between regions, and each has its own
  // control register. One region with the team's full count reaches each of them.
#pragma omp parallel num_threads(omp_get_max_threads())
  set_this_thread(on);
  return true;
}

bool flush_denormal() { return this_thread(); }

}  // namespace recurrent
