// Array sigmoid / tanh: dispatch between the portable scalar loop and the AVX-512 path on
// active_isa(). Algorithm and error bounds: include/recurrent/kernels/activations.h.
//   x, y: [n], y == x allowed.
#include "recurrent/kernels/activations.h"

#include "kernels/avx512/dispatch.h"
#include "recurrent/kernels/cpu.h"

namespace recurrent {

void sigmoid_vec_generic(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_scalar(x[i]);
}

void tanh_vec_generic(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_scalar(x[i]);
}

void sigmoid_vec(const float* x, float* y, int64_t n) {
  if (active_isa() == Isa::avx512) return avx512::sigmoid_array(x, y, n);
  sigmoid_vec_generic(x, y, n);
}

void tanh_vec(const float* x, float* y, int64_t n) {
  if (active_isa() == Isa::avx512) return avx512::tanh_array(x, y, n);
  tanh_vec_generic(x, y, n);
}

}  // namespace recurrent
