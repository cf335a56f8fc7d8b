// recurrent/kernels/softmax.h — row primitives for softmax-like kernels (the fused attention op).
//
//   max_array(x, n)            = max_i x[i]                        (−inf for n == 0)
//   exp_shift_sum(x, n, s):    x[i] ← e^{x[i] − s}  (x[i] == −inf → exactly 0),  returns Σ_i x[i]
// e^{·} is the exp of include/recurrent/kernels/activations.h (Cephes expf polynomial, Cody–Waite
// reduction; ≤ 2 ulp in the range used here, where x − s ≤ 0). The sum is accumulated in float lanes
// and combined in double: n ≤ a few thousand terms in [0, 1], so its relative error is ≲ n·2⁻²⁴
// in the worst case and ~√n·2⁻²⁴ typically, below what a float32 softmax can represent anyway.
// Both run the default target's SIMD kernels (src/kernels/simd/transformer-inl.h).
#pragma once

#include <cstdint>

namespace recurrent {

float max_array(const float* x, int64_t n);
double exp_shift_sum(float* x, int64_t n, float shift);

// The portable paths, whatever the target (tests compare the two).
float max_array_generic(const float* x, int64_t n);
double exp_shift_sum_generic(float* x, int64_t n, float shift);

}  // namespace recurrent
