// recurrent/kernels/cpu.h — CPU features the SIMD targets (recurrent/kernels/target.h) do not cover.
//
// The kernels run on a SIMD target chosen at run time (target.h). What remains specific to one CPU
// feature: the bf16 products (src/kernels/avx512/, AVX512_BF16; src/kernels/amx/, AMX), which need these checks.
#pragma once

namespace recurrent {

bool cpu_has_avx512();        // AVX512F/BW/DQ/VL (false on other architectures)
bool cpu_has_avx512_bf16();   // AVX512_BF16 (false on other architectures)
// AMX tiles with bf16 (AMX-TILE + AMX-BF16, Sapphire Rapids and later) usable by this process: the CPU has
// them, the OS enabled the tile state, and Linux granted it (the first call asks, once per process:
// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)); also AVX512_BF16, which the AMX path's tails use.
// False on other architectures and operating systems, or when the request is refused (then the bf16
// products stay on AVX512_BF16).
bool cpu_has_amx_bf16();

}  // namespace recurrent
