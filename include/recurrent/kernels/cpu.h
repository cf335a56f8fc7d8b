// recurrent/kernels/cpu.h — run-time CPU dispatch.
//
// The library is compiled for a portable x86-64-v2 baseline; kernels in src/kernels/avx512/ use
// AVX-512 (+BF16) and are called only when the CPU has them. RECURRENT_ISA=generic in the
// environment (or set_isa in tests) forces the generic path on any CPU.
#pragma once

namespace recurrent {

enum class Isa { generic, avx512 };

bool cpu_has_avx512();        // AVX512F/BW/DQ/VL as the avx512/ kernels need
bool cpu_has_avx512_bf16();
Isa best_isa();               // what this CPU supports (capped by RECURRENT_ISA)
Isa active_isa();             // what kernels use now
void set_isa(Isa isa);        // throws if the CPU cannot run it
const char* isa_name(Isa isa);

}  // namespace recurrent
