// minLSTM (Feng et al. 2024; a scan cell: gates f, i, h̃ from x only), forward and backward, for every SIMD
// target; one batch row, n hidden units (pointers offset by j0, gate blocks H apart).
//   f = σ(a_f)   i = σ(a_i)   h̃ = g(a_h)   h = (f ⊙ h_prev + i ⊙ h̃) / (f + i)   (f' = f/(f+i), i' = i/(f+i))
// Scalar twin and the double reference equations: src/nn/cell_minlstm.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_MINLSTM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_MINLSTM_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_MINLSTM_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_MINLSTM_INL_H_
#endif

#include "kernels/simd/cells/mingru-inl.h"
#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// a [3H] (f, i, h̃) pre-activations in (bias [3H] added first, or null), activations out; hp, h [n].
inline void MinLstmForwardRow(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    V pf = Ld(k, a + j), pi = Ld(k, a + H + j), ph = Ld(k, a + 2 * H + j);
    if (bias) {
      pf = hn::Add(pf, Ld(k, bias + j));
      pi = hn::Add(pi, Ld(k, bias + H + j));
      ph = hn::Add(ph, Ld(k, bias + 2 * H + j));
    }
    const V f = Sigmoid(d, pf), i = Sigmoid(d, pi), c = MinG(d, ph);
    St(k, a + j, f);
    St(k, a + H + j, i);
    St(k, a + 2 * H + j, c);
    St(k, h + j, hn::Div(hn::MulAdd(f, Ld(k, hp + j), hn::Mul(i, c)), hn::Add(f, i)));
  });
}

// f' = f/s, i' = i/s (s = f + i), q = (dh ⊙ h_prev - dh ⊙ h̃) f' i':
//   da_f = q (1-f)   da_i = -q (1-i)   da_h = dh ⊙ i' g'(a_h)   dp = dh ⊙ f'; a and da may alias.
inline void MinLstmBackwardRow(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                               float* dp) {
  const D d;
  const V one = hn::Set(d, 1.0f);
  ForVectors(n, [&](int64_t j, auto k) {
    const V f = Ld(k, a + j), i = Ld(k, a + H + j), c = Ld(k, a + 2 * H + j), dv = Ld(k, dh + j);
    const V inv = hn::Div(one, hn::Add(f, i));
    const V fp = hn::Mul(f, inv), ip = hn::Mul(i, inv);
    const V q = hn::Mul(hn::Mul(dv, hn::Sub(Ld(k, hp + j), c)), hn::Mul(fp, ip));
    St(k, da + j, hn::Mul(q, hn::Sub(one, f)));
    St(k, da + H + j, hn::Neg(hn::Mul(q, hn::Sub(one, i))));
    St(k, da + 2 * H + j, hn::Mul(hn::Mul(dv, ip), MinGGrad(d, c)));
    St(k, dp + j, hn::Mul(dv, fp));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
