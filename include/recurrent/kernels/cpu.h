// recurrent/kernels/cpu.h — CPU features the SIMD targets (recurrent/kernels/target.h) do not cover.
//
// The kernels run on a SIMD target chosen at run time (target.h). What remains specific to one CPU
// feature: the bf16 products (src/kernels/avx512/, AVX512_BF16), which need these checks.
#pragma once

namespace recurrent {

bool cpu_has_avx512();        // AVX512F/BW/DQ/VL (false on other architectures)
bool cpu_has_avx512_bf16();   // AVX512_BF16 (false on other architectures)

}  // namespace recurrent
