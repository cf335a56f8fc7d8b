// Row max, exp-shift-sum (softmax.h) and GELU (gelu.h): the portable loops, and the SIMD kernels of the
// default target (src/kernels/simd/transformer-inl.h, one source for every target).
//   x, y, g, dx: [n]
#include <cmath>
#include <limits>

#include "kernels/simd/rnn_kernels.h"
#include "recurrent/kernels/gelu.h"
#include "recurrent/kernels/softmax.h"

namespace recurrent {

float max_array_generic(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

double exp_shift_sum_generic(float* x, int64_t n, float shift) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  float acc[8] = {};  // 8 float partial sums (as the vector path), combined in double
  for (int64_t i = 0; i < n; ++i) {
    const float e = x[i] == kNegInf ? 0.0f : exp_scalar(x[i] - shift);
    x[i] = e;
    acc[i & 7] += e;
  }
  double s = 0.0;
  for (float a : acc) s += a;
  return s;
}

void gelu_vec_generic(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gelu_scalar(x[i]);
}

void gelu_grad_add_generic(const float* x, const float* g, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] += g[i] * gelu_grad_scalar(x[i]);
}

float max_array(const float* x, int64_t n) {
  return simd::rnn_kernels().max_array(x, n);
}

double exp_shift_sum(float* x, int64_t n, float shift) {
  return simd::rnn_kernels().exp_shift_sum(x, n, shift);
}

void gelu_vec(const float* x, float* y, int64_t n) {
  simd::rnn_kernels().gelu_array(x, y, n);
}

void gelu_grad_add(const float* x, const float* g, float* dx, int64_t n) {
  simd::rnn_kernels().gelu_grad_add(x, g, dx, n);
}

}  // namespace recurrent
