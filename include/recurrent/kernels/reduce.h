// recurrent/kernels/reduce.h — reductions over float arrays.
//
//   sum_squares(x, n) = Σ_i x[i]²   in double (each term exact: a float product fits a double)
// Used by the gradient norm (optim/clip.h) over every parameter each training step: a word LM's 4.6 M
// gradients took ~3 ms a step in the portable loop (x86-64-v2, 2 doubles per instruction). The default
// target's SIMD kernel (src/kernels/simd/reduce-inl.h) runs four vector add chains; the order of the
// additions is fixed per target, so a target gives the same value on every call, and targets agree to
// ~n·2⁻⁵³ relative (all terms are ≥ 0: no cancellation).
#pragma once

#include <cstdint>

namespace recurrent {

double sum_squares(const float* x, int64_t n);
// The portable path, whatever the target (tests compare the two): 8 interleaved double partial sums.
double sum_squares_generic(const float* x, int64_t n);

}  // namespace recurrent
