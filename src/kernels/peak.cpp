// Measured fp32 FMA peak (contract: recurrent/kernels/peak.h).
//
// Loops (registers only, 16 independent accumulator chains each):
//   avx512: 16 × vfmadd231ps zmm  = 512 flops / iteration   (src/kernels/avx512/fma_peak.cpp)
//   avx2:   16 × vfmadd231ps ymm  = 256 flops / iteration   (compiled here with target("avx2,fma"))
//   sse:     8 × (mulps + addps)  =  64 flops / iteration   (baseline x86-64-v2, no FMA)
//   other architectures (aarch64): 16 chains of 4-lane fused multiply-adds in GCC vector code.
// Which one: the width of the SIMD target the kernels run (recurrent/kernels/target.h), so "% of peak"
// compares a target's kernels with that target's own peak (an AVX2-forced run against the ymm peak).
#include "recurrent/kernels/peak.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#if defined(__x86_64__)
#include "kernels/avx512/fma_peak.h"
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif
#include "recurrent/core/error.h"
#include "recurrent/kernels/cpu.h"
#include "recurrent/kernels/target.h"

namespace recurrent {

namespace {

struct Loop {
  void (*run)(long);
  double flops_per_iter;
  const char* kind;
};

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void avx2_loop(long iters) {
  asm volatile(
      "vxorps %%ymm0, %%ymm0, %%ymm0\n vxorps %%ymm1, %%ymm1, %%ymm1\n"
      "vxorps %%ymm2, %%ymm2, %%ymm2\n vxorps %%ymm3, %%ymm3, %%ymm3\n"
      "vxorps %%ymm4, %%ymm4, %%ymm4\n vxorps %%ymm5, %%ymm5, %%ymm5\n"
      "vxorps %%ymm6, %%ymm6, %%ymm6\n vxorps %%ymm7, %%ymm7, %%ymm7\n"
      "vxorps %%ymm8, %%ymm8, %%ymm8\n vxorps %%ymm9, %%ymm9, %%ymm9\n"
      "vxorps %%ymm10, %%ymm10, %%ymm10\n vxorps %%ymm11, %%ymm11, %%ymm11\n"
      "vxorps %%ymm12, %%ymm12, %%ymm12\n vxorps %%ymm13, %%ymm13, %%ymm13\n"
      "vxorps %%ymm14, %%ymm14, %%ymm14\n vxorps %%ymm15, %%ymm15, %%ymm15\n"
      "1:\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\n vfmadd231ps %%ymm14, %%ymm15, %%ymm1\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\n vfmadd231ps %%ymm14, %%ymm15, %%ymm3\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm4\n vfmadd231ps %%ymm14, %%ymm15, %%ymm5\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm6\n vfmadd231ps %%ymm14, %%ymm15, %%ymm7\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm8\n vfmadd231ps %%ymm14, %%ymm15, %%ymm9\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm10\n vfmadd231ps %%ymm14, %%ymm15, %%ymm11\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm12\n vfmadd231ps %%ymm14, %%ymm15, %%ymm13\n"
      "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\n vfmadd231ps %%ymm14, %%ymm15, %%ymm1\n"
      "dec %0\n jnz 1b\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}

void sse_loop(long iters) {
  asm volatile(
      "xorps %%xmm0, %%xmm0\n xorps %%xmm1, %%xmm1\n xorps %%xmm2, %%xmm2\n xorps %%xmm3, %%xmm3\n"
      "xorps %%xmm4, %%xmm4\n xorps %%xmm5, %%xmm5\n xorps %%xmm6, %%xmm6\n xorps %%xmm7, %%xmm7\n"
      "xorps %%xmm8, %%xmm8\n xorps %%xmm9, %%xmm9\n"
      "1:\n"
      "mulps %%xmm9, %%xmm0\n addps %%xmm8, %%xmm1\n mulps %%xmm9, %%xmm2\n addps %%xmm8, %%xmm3\n"
      "mulps %%xmm9, %%xmm4\n addps %%xmm8, %%xmm5\n mulps %%xmm9, %%xmm6\n addps %%xmm8, %%xmm7\n"
      "mulps %%xmm9, %%xmm0\n addps %%xmm8, %%xmm1\n mulps %%xmm9, %%xmm2\n addps %%xmm8, %%xmm3\n"
      "mulps %%xmm9, %%xmm4\n addps %%xmm8, %%xmm5\n mulps %%xmm9, %%xmm6\n addps %%xmm8, %%xmm7\n"
      "dec %0\n jnz 1b\n"
      : "+r"(iters)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "cc");
}


Loop best_loop() {
  const int64_t t = simd::default_target();
  const std::string target = simd::target_name(t);
  if (simd::avx512_target(t) && cpu_has_avx512())
    return {avx512::fma_peak_loop, 512.0, "avx512 zmm fma"};
  __builtin_cpu_init();
  if (target != "sse4" && target != "ssse3" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {avx2_loop, 256.0, "avx2 ymm fma"};
  return {sse_loop, 64.0, "sse mul+add"};
}
#else
// 16 independent chains of 4-lane fused multiply-adds: fmla through vfmaq_f32 on aarch64 (the baseline
// flags there turn automatic contraction off: -ffp-contract=off), a·b + c in vector code elsewhere.
void vector4_loop(long iters) {
#if defined(__aarch64__)
  // Named registers, not an array: GCC 12 stores an array of vectors back to the stack every iteration.
  float32x4_t c0 = vdupq_n_f32(0.0f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0,
              c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
  float32x4_t a = vdupq_n_f32(1.0f), b = vdupq_n_f32(1e-9f);
  asm volatile("" : "+w"(a), "+w"(b));
  for (long i = 0; i < iters; ++i) {
    c0 = vfmaq_f32(c0, a, b), c1 = vfmaq_f32(c1, a, b), c2 = vfmaq_f32(c2, a, b), c3 = vfmaq_f32(c3, a, b);
    c4 = vfmaq_f32(c4, a, b), c5 = vfmaq_f32(c5, a, b), c6 = vfmaq_f32(c6, a, b), c7 = vfmaq_f32(c7, a, b);
    c8 = vfmaq_f32(c8, a, b), c9 = vfmaq_f32(c9, a, b), c10 = vfmaq_f32(c10, a, b), c11 = vfmaq_f32(c11, a, b);
    c12 = vfmaq_f32(c12, a, b), c13 = vfmaq_f32(c13, a, b), c14 = vfmaq_f32(c14, a, b), c15 = vfmaq_f32(c15, a, b);
  }
  const float32x4_t sum = vaddq_f32(vaddq_f32(vaddq_f32(vaddq_f32(c0, c1), vaddq_f32(c2, c3)),
                                              vaddq_f32(vaddq_f32(c4, c5), vaddq_f32(c6, c7))),
                                    vaddq_f32(vaddq_f32(vaddq_f32(c8, c9), vaddq_f32(c10, c11)),
                                              vaddq_f32(vaddq_f32(c12, c13), vaddq_f32(c14, c15))));
  asm volatile("" ::"w"(sum));  // the chains are live
#else
  typedef float v4 __attribute__((vector_size(16)));
  v4 acc[16] = {};
  v4 a = {1.0f, 1.0f, 1.0f, 1.0f}, b = {1e-9f, 1e-9f, 1e-9f, 1e-9f};
  asm volatile("" : "+w"(a), "+w"(b));
  for (long i = 0; i < iters; ++i)
    for (auto& c : acc) c = c * a + b;
  for (auto& c : acc) asm volatile("" ::"w"(c));
#endif
}
Loop best_loop() { return {vector4_loop, 128.0, "vector4 fma"}; }
#endif
double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One repetition on `threads` threads: the aggregate GFLOP/s from the first start to the last end.
double one_rep(const Loop& loop, int threads, long iters) {
  double start = 0, end = 0;
#pragma omp parallel num_threads(threads)
  {
#pragma omp barrier
#pragma omp single
    start = seconds_now();  // implicit barrier after single: all threads start together
    loop.run(iters);
#pragma omp barrier
#pragma omp single
    end = seconds_now();
  }
  return loop.flops_per_iter * static_cast<double>(iters) * threads / (end - start) / 1e9;
}

}  // namespace

FmaPeak measure_fma_peak(int threads, int reps, double rep_seconds) {
  RC_CHECK(threads >= 1, "measure_fma_peak", "expected a positive thread count, got ", threads);
  RC_CHECK(reps >= 1 && rep_seconds > 0, "measure_fma_peak", "expected reps >= 1 and rep_seconds > 0");
  const Loop loop = best_loop();
  // Calibrate on one thread (also warms the core up), then size each repetition to rep_seconds.
  long iters = 100000;
  const double g0 = one_rep(loop, 1, iters);
  iters = std::max(10000L, static_cast<long>(rep_seconds * g0 * 1e9 / loop.flops_per_iter));
  double best = 0;
  for (int r = 0; r < reps; ++r) best = std::max(best, one_rep(loop, threads, iters));
  return {best, threads, loop.kind};
}

}  // namespace recurrent
