// Σ x² (recurrent/kernels/reduce.h): the portable loop, and the default target's SIMD kernel
// (src/kernels/simd/reduce-inl.h).
#include "recurrent/kernels/reduce.h"

#include "kernels/simd/rnn_kernels.h"

namespace recurrent {

// 8 interleaved partial sums (lane i % 8), combined in a fixed order: 8 independent add chains.
double sum_squares_generic(const float* x, int64_t n) {
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[i + k]) * x[i + k];
  for (; i < n; ++i) acc[i & 7] += static_cast<double>(x[i]) * x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double sum_squares(const float* x, int64_t n) { return simd::rnn_kernels().sum_squares(x, n); }

}  // namespace recurrent
