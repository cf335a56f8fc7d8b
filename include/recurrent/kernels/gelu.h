// recurrent/kernels/gelu.h — GELU, the exact (erf) form that is PyTorch's default (Hendrycks &
// Gimpel 2016):
//
//   gelu(x)  = x · Φ(x),   Φ(x) = ½ erfc(−x/√2)           (the standard normal CDF)
//   gelu'(x) = Φ(x) + x · φ(x),   φ(x) = e^{−x²/2} / √(2π)
//
// erfc by the Chebyshev fit of Numerical Recipes (2nd ed., §6.2, `erfcc`): for z = |u|,
//   t = 1/(1 + z/2),  erfc(z) ≈ t · exp(−z² − 1.26551223 + t·(1.00002368 + t·(… 9 more terms))),
// fractional error < 1.2e-7 for every z ≥ 0, and erfc(−z) = 2 − erfc(z). One exp per element, no
// branches, so it vectorises; exp is the one of activations.h. Measured against double-precision
// std::erf (tests/kernels/test_transformer_kernels.cpp, dense grid on [−12, 12]): gelu within
// 2.5e-7·max(1, |x|) absolute, gelu' within 5e-7 absolute.
// For x < −12, Φ(x) < 1e-32: the result is a (signed) zero or denormal-free tiny value.
#pragma once

#include <cmath>
#include <cstdint>

#include "recurrent/kernels/activations.h"

namespace recurrent {

// y[i] = gelu(x[i]); y == x allowed.
void gelu_vec(const float* x, float* y, int64_t n);
// dx[i] += g[i] · gelu'(x[i])   (backward adds into gradients)
void gelu_grad_add(const float* x, const float* g, float* dx, int64_t n);

void gelu_vec_generic(const float* x, float* y, int64_t n);
void gelu_grad_add_generic(const float* x, const float* g, float* dx, int64_t n);

namespace gelu_detail {
inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143268f;
// Numerical Recipes erfcc coefficients, innermost first: c0 + t·(c1 + t·(… + t·c9)).
inline constexpr float kErfc[10] = {-1.26551223f, 1.00002368f, 0.37409196f, 0.09678418f, -0.18628806f,
                                    0.27886807f,  -1.13520398f, 1.48851587f, -0.82215223f, 0.17087277f};
}  // namespace gelu_detail

// Φ(x), branch-free. u = x/√2, z = |u|:  Φ = 1 − ½ erfc(z) for x ≥ 0,  ½ erfc(z) for x < 0.
inline float normal_cdf_scalar(float x) {
  using namespace gelu_detail;
  const float z = std::fabs(x) * kInvSqrt2;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = kErfc[9];
  for (int i = 8; i >= 0; --i) p = p * t + kErfc[i];
  const float half_erfc = 0.5f * t * exp_scalar(p - z * z);
  return x >= 0.0f ? 1.0f - half_erfc : half_erfc;
}

inline float gelu_scalar(float x) { return x * normal_cdf_scalar(x); }

inline float gelu_grad_scalar(float x) {
  return normal_cdf_scalar(x) + x * gelu_detail::kInvSqrt2Pi * exp_scalar(-0.5f * x * x);
}

}  // namespace recurrent
