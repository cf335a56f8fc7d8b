// cpu_hints.h — the two CPU hints the hot loops use, portable across x86-64 and aarch64 (internal).
//
//   cpu_relax()        : inside a spin-wait loop. x86: `pause` (was _mm_pause()); aarch64: `yield`;
//                        elsewhere nothing. Lets the sibling hyper-thread run and saves power.
//   prefetch_l2(p)     : read prefetch into the L2 (and outer) caches. __builtin_prefetch with
//                        locality 2 is exactly _mm_prefetch(p, _MM_HINT_T1) on x86 (prefetcht1) and
//                        `prfm pldl2keep` on aarch64.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace recurrent {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

inline void prefetch_l2(const void* p) { __builtin_prefetch(p, 0, 2); }

}  // namespace recurrent
