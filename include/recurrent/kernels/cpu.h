// recurrent/kernels/cpu.h — run-time CPU dispatch.
//
// The recurrent engine's kernels run on the SIMD target of recurrent/kernels/target.h. What remains
// AVX-512-specific (the bf16 products and the transformer's softmax/GELU kernels in src/kernels/avx512/)
// runs when that target is an AVX-512 one: active_isa() is avx512 exactly then, and set_isa moves the
// default target (avx512, or the best one below it for generic).
#pragma once

namespace recurrent {

enum class Isa { generic, avx512 };

bool cpu_has_avx512();        // AVX512F/BW/DQ/VL as the avx512/ kernels need
bool cpu_has_avx512_bf16();
Isa best_isa();               // what this CPU's best target is
Isa active_isa();             // what kernels use now
void set_isa(Isa isa);        // throws if the CPU cannot run it
const char* isa_name(Isa isa);

}  // namespace recurrent
