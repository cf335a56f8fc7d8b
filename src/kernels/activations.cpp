// Array sigmoid / tanh: the portable scalar loop, and the SIMD kernels of the default target
// (kernels/simd/math-inl.h, one source for every target). Algorithm and error bounds:
// include/recurrent/kernels/activations.h.
//   x, y: [n], y == x allowed.
#include "recurrent/kernels/activations.h"

#include "kernels/simd/rnn_kernels.h"

namespace recurrent {

void sigmoid_vec_generic(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_scalar(x[i]);
}

void tanh_vec_generic(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_scalar(x[i]);
}

void sigmoid_vec(const float* x, float* y, int64_t n) { simd::rnn_kernels().sigmoid_array(x, y, n); }
void tanh_vec(const float* x, float* y, int64_t n) { simd::rnn_kernels().tanh_array(x, y, n); }

}  // namespace recurrent
