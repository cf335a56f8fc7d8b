// minGRU (Feng et al. 2024; a scan cell: gates z, h̃ from x only), forward and backward, for every SIMD
// target; one batch row, n hidden units (pointers offset by j0, gate blocks H apart).
//   z = σ(a_z)   h̃ = g(a_h)   h = (1-z) ⊙ h_prev + z ⊙ h̃      g(x) = x + ½ (x ≥ 0), σ(x) (x < 0)
// Scalar twin and the double reference equations: src/nn/cell_mingru.cpp. MinG / MinGGrad are shared
// with minLSTM (minlstm-inl.h).
#if defined(RECURRENT_KERNELS_SIMD_CELLS_MINGRU_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_MINGRU_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_MINGRU_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_MINGRU_INL_H_
#endif

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// g(x) = x + ½ for x ≥ 0, σ(x) below: continuous, positive (the paper's log-space candidate).
HWY_INLINE V MinG(D d, V x) {
  return hn::IfThenElse(hn::Ge(x, hn::Zero(d)), hn::Add(x, hn::Set(d, 0.5f)), Sigmoid(d, x));
}
// g'(x) from y = g(x): 1 where y ≥ ½ (x ≥ 0), y(1-y) below.
HWY_INLINE V MinGGrad(D d, V y) {
  return hn::IfThenElse(hn::Ge(y, hn::Set(d, 0.5f)), hn::Set(d, 1.0f), SigGrad(y));
}

// a [2H] (z, h̃) pre-activations in (bias [2H] added first, or null), activations out; hp, h [n].
inline void MinGruForwardRow(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    V pz = Ld(k, a + j), ph = Ld(k, a + H + j);
    if (bias) {
      pz = hn::Add(pz, Ld(k, bias + j));
      ph = hn::Add(ph, Ld(k, bias + H + j));
    }
    const V z = Sigmoid(d, pz), c = MinG(d, ph), hprev = Ld(k, hp + j);
    St(k, a + j, z);
    St(k, a + H + j, c);
    St(k, h + j, hn::MulAdd(z, hn::Sub(c, hprev), hprev));  // h_prev + z (h̃ - h_prev)
  });
}

// da_z = dh ⊙ (h̃ - h_prev) z(1-z)   da_h = dh ⊙ z g'(a_h)   dp = dh ⊙ (1-z); a and da may alias.
inline void MinGruBackwardRow(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                              float* dp) {
  const D d;
  const V one = hn::Set(d, 1.0f);
  ForVectors(n, [&](int64_t j, auto k) {
    const V z = Ld(k, a + j), c = Ld(k, a + H + j), dv = Ld(k, dh + j);
    St(k, da + j, hn::Mul(hn::Mul(dv, hn::Sub(c, Ld(k, hp + j))), SigGrad(z)));
    St(k, da + H + j, hn::Mul(hn::Mul(dv, z), MinGGrad(d, c)));
    St(k, dp + j, hn::Mul(dv, hn::Sub(one, z)));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
