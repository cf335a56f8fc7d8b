// Entry point of the AVX-512 FMA peak loop (src/kernels/avx512/fma_peak.cpp); call only when the
// CPU has AVX-512F (cpu_has_avx512()). No AVX-512 flags needed to include this header.
#pragma once

namespace recurrent::avx512 {

// 16 independent zmm FMAs (16 lanes × 2 flops each: 512 flops) per iteration, registers only.
void fma_peak_loop(long iters);

}  // namespace recurrent::avx512
