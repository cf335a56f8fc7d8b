// Entry points of the AVX-512 transformer kernels (src/kernels/avx512/transformer.cpp) for
// baseline-compiled files, called only when active_isa() == Isa::avx512. Semantics: the generic
// functions of include/recurrent/kernels/softmax.h and gelu.h.
#pragma once

#include <cstdint>

namespace recurrent::avx512 {

float max_array(const float* x, int64_t n);
double exp_shift_sum(float* x, int64_t n, float shift);
void gelu_array(const float* x, float* y, int64_t n);
void gelu_grad_add(const float* x, const float* g, float* dx, int64_t n);

}  // namespace recurrent::avx512
