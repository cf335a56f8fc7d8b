// Entry points of the AVX-512 kernels that baseline-compiled files may call (after checking
// active_isa() == Isa::avx512). This header needs no AVX-512 flags; the inline single-vector
// helpers are in activations512.h, for AVX-512-compiled files only.
#pragma once

#include <cstdint>

namespace recurrent::avx512 {

// y[i] = sigmoid(x[i]) / tanh(x[i]), i < n; y == x allowed (src/kernels/avx512/activations.cpp).
void sigmoid_array(const float* x, float* y, int64_t n);
void tanh_array(const float* x, float* y, int64_t n);

}  // namespace recurrent::avx512
