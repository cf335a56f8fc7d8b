// AVX-512 sigmoid / tanh / exp on one __m512 (16 floats): the same algorithm and constants as the
// scalar forms in include/recurrent/kernels/activations.h (error bounds stated there). For use
// inside fused kernels in src/kernels/avx512/ (and any file compiled with the AVX-512 flags, called
// only after a run-time CPU check). NaN lanes return their input; no lane can overflow.
#pragma once

// GCC 12 warns inside its own avx512fintrin.h (_mm512_undefined_ps, GCC PR105593): a false
// positive, silenced for every file including this header (the warning fires at inlining time, at
// the end of the including function, so a push/pop here would not cover it).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstdint>

#include "recurrent/kernels/activations.h"

namespace recurrent::avx512 {

// The lanes of a 16-float vector that hold data when `left` elements remain: all 16, the first
// `left`, or none (left ≤ 0). Masked loads of the cleared lanes read nothing.
inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
}

// e^x lane-wise, clamped to [e^-87, e^88]; NaN lanes stay NaN (max/min return their second operand
// when one is NaN, so x goes second).
inline __m512 exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(act::kExpMax), _mm512_max_ps(_mm512_set1_ps(act::kExpMin), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(act::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(act::kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(act::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(act::kExpP[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(act::kExpP[i]));
  const __m512 e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(e, n);  // e · 2^n
}

inline __m512 sigmoid512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(one, _mm512_add_ps(one, e));  // NaN in: e is NaN, so is the result
}

// tanh|x| = -expm1(u) / (e^u + 1), u = -2·min(|x|, 10): see tanh_scalar for the steps.
inline __m512 tanh512(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(INT32_MIN));
  // min(|x|, 10), a NaN lane stays NaN (x goes second). (_mm512_range_ps would do |x|, the clamp and
  // the sign in one op, but it returns the other operand for a quiet NaN.)
  const __m512 c = _mm512_min_ps(_mm512_set1_ps(act::kTanhClamp), _mm512_andnot_ps(sign, x));
  const __m512 u = _mm512_mul_ps(c, _mm512_set1_ps(-2.0f));  // [-20, 0]
  // n = round(u·log2e), computed from c beside u (c·(-2 log2e) is the same product, exactly)
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(c, _mm512_set1_ps(-2.0f * act::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // [-29, 0]
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(act::kLn2Hi), u);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(act::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(act::kExpP[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(act::kExpP[i]));
  const __m512 em = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);  // expm1(r)
  const __m512 s = _mm512_scalef_ps(one, n);                      // 2^n
  const __m512 num = _mm512_fnmadd_ps(em, s, _mm512_sub_ps(one, s));  // -expm1(u), one rounding
  const __m512 den = _mm512_add_ps(_mm512_fmadd_ps(em, s, s), one);   // e^u + 1
  const __m512 t = _mm512_div_ps(num, den);
  // tanh is odd: copy the sign of x onto t, (t & ~sign) | (x & sign) in one ternary-logic op
  // (0xD8 = c ? b : a, bitwise). NaN in: every step is NaN, so is the result.
  return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(t), _mm512_castps_si512(x),
                                                       _mm512_castps_si512(sign), 0xD8));
}

}  // namespace recurrent::avx512
