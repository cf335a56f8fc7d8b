// recurrent/kernels/activations.h — vectorised sigmoid and tanh over float arrays, for the fused
// RNN gate kernels.
//
//   sigmoid(x) = 1 / (1 + e^-x)          tanh(x) = sign(x) · (1 - 2 / (e^{2|x|} + 1))
//
// One algorithm, two implementations: the portable scalar one below (inline, usable inside any
// generic kernel loop; GCC vectorises it) and the AVX-512 one in src/kernels/avx512/activations512.h
// (tanh512, sigmoid512 for AVX-512 kernel files). The array functions dispatch on active_isa().
//   exp:  e^x = 2^n · e^r, n = round(x / ln 2), r = x - n·ln 2 in Cody–Waite two-part form,
//         e^r by Cephes expf's degree-6 polynomial (|r| ≤ ln2/2), input clamped to [-87, 88].
//   tanh: |x| < 0.625: Cephes tanhf odd polynomial x + x³·P(x²) (no cancellation near 0);
//         otherwise the exp form above with |x| clamped to 10 (float tanh is 1 from 9.01 on).
//         Both on |x|, then the sign of x is copied (odd function; keeps tanh(-0) = -0).
// Maximum error against double precision, measured over all 2^32 inputs (`bench_activations
// --exhaustive`, both paths identical): tanh 7.93e-8 abs / 1.42e-7 rel at x = 0.6283; sigmoid
// 8.93e-8 abs at x = 7.859, 1.48e-7 rel at x = -16.64. Stated bounds, asserted by
// tests/kernels/test_activations.cpp over every 256th bit pattern plus a dense grid:
//   tanh:    absolute ≤ 1e-7 everywhere; relative ≤ 2e-7
//   sigmoid: absolute ≤ 1e-7 everywhere; relative ≤ 2e-7 where sigmoid(x) ≥ 1e-37 (x ≥ -85)
// Large |x| saturate (to ±1, 1, or below 1e-38) without overflow; NaN in gives NaN out; -0 → -0 (tanh).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace recurrent {

// y[i] = f(x[i]) for i < n; y == x (in place) is allowed, other overlaps are not.
void sigmoid_vec(const float* x, float* y, int64_t n);
void tanh_vec(const float* x, float* y, int64_t n);
inline void sigmoid_inplace(float* x, int64_t n) { sigmoid_vec(x, x, n); }
inline void tanh_inplace(float* x, int64_t n) { tanh_vec(x, x, n); }

// The generic (portable) array paths, whatever active_isa() says: for tests and benchmarks.
void sigmoid_vec_generic(const float* x, float* y, int64_t n);
void tanh_vec_generic(const float* x, float* y, int64_t n);

// ---- scalar forms of the same algorithm ------------------------------------------------------
namespace act {
// Cephes expf coefficients (Moshier): e^r ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2.
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;       // exactly representable, few mantissa bits
inline constexpr float kLn2Lo = -2.12194440e-4f;    // ln 2 - kLn2Hi
inline constexpr float kExpP[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                   4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
inline constexpr float kExpMin = -87.0f, kExpMax = 88.0f;  // 2^n stays a normal float
// Cephes tanhf: tanh(x) ≈ x + x³·Q(x²) on |x| < 0.625.
inline constexpr float kTanhSmall = 0.625f;
inline constexpr float kTanhQ[5] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                                    1.33314422036e-1f, -3.33332819422e-1f};
inline constexpr float kTanhClamp = 10.0f;  // float(tanh(x)) == 1 from x ≈ 9.01 on
}  // namespace act

// Branch-free (selects, no libm calls) so that compilers vectorise loops over these.
// e^x for x not NaN; clamped to [e^-87, e^88].
inline float exp_scalar(float x) {
  x = x < act::kExpMin ? act::kExpMin : x;
  x = x > act::kExpMax ? act::kExpMax : x;
  const float n = std::nearbyint(x * act::kLog2e);
  const float r = (x - n * act::kLn2Hi) - n * act::kLn2Lo;
  float p = act::kExpP[0];
  for (int i = 1; i < 6; ++i) p = p * r + act::kExpP[i];
  const float e = p * (r * r) + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n ∈ [-126, 127]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return e * scale;
}

inline float sigmoid_scalar(float x) {
  const bool nan = x != x;
  const float s = 1.0f / (1.0f + exp_scalar(nan ? 0.0f : -x));
  return nan ? x : s;
}

inline float tanh_scalar(float x) {
  const bool nan = x != x;
  const float ax = nan ? 0.0f : std::fabs(x);
  // |x| < 0.625: |x| + |x|³·Q(x²)
  const float z = ax * ax;
  float q = act::kTanhQ[0];
  for (int i = 1; i < 5; ++i) q = q * z + act::kTanhQ[i];
  const float small = q * z * ax + ax;
  // otherwise 1 - 2/(e^{2|x|} + 1), |x| clamped to 10
  const float cx = ax > act::kTanhClamp ? act::kTanhClamp : ax;
  const float big = 1.0f - 2.0f / (exp_scalar(cx + cx) + 1.0f);
  const float t = ax < act::kTanhSmall ? small : big;
  return nan ? x : std::copysign(t, x);  // tanh is odd: sign of x (keeps tanh(-0) = -0)
}

}  // namespace recurrent
