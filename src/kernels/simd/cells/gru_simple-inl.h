// Simplified GRU (update gate only; gates u, c̃), forward and backward, for every SIMD target; one
// batch row, n hidden units (pointers offset by j0, gate blocks H apart).
//   u = σ(a_u)   c̃ = tanh(a_c)   h = u ⊙ c̃ + (1-u) ⊙ h_prev
// Scalar twin and the double reference equations: src/nn/cell_gru_simple.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_GRU_SIMPLE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_GRU_SIMPLE_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_GRU_SIMPLE_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_GRU_SIMPLE_INL_H_
#endif

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// a [2H] (u, c̃) pre-activations in (bias [2H] added first, or null), activations out; hp, h [H].
inline void GruSimpleForwardRow(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    V pu = Ld(k, a + j), pc = Ld(k, a + H + j);
    if (bias) {
      pu = hn::Add(pu, Ld(k, bias + j));
      pc = hn::Add(pc, Ld(k, bias + H + j));
    }
    const V u = Sigmoid(d, pu), c = Tanh(d, pc), hprev = Ld(k, hp + j);
    St(k, a + j, u);
    St(k, a + H + j, c);
    St(k, h + j, hn::MulAdd(u, hn::Sub(c, hprev), hprev));  // u c̃ + (1-u) h_prev
  });
}

// du_ = dh ⊙ (c̃ - h_prev) u(1-u)   dc_ = dh ⊙ u (1-c̃²)   dp = dh ⊙ (1-u)
inline void GruSimpleBackwardRow(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                                 float* dp) {
  const D d;
  const V one = hn::Set(d, 1.0f);
  ForVectors(n, [&](int64_t j, auto k) {
    const V u = Ld(k, a + j), c = Ld(k, a + H + j), dv = Ld(k, dh + j);
    St(k, da + j, hn::Mul(hn::Mul(dv, hn::Sub(c, Ld(k, hp + j))), SigGrad(u)));
    St(k, da + H + j, hn::Mul(hn::Mul(dv, u), OneMinusSq(c)));
    St(k, dp + j, hn::Mul(dv, hn::Sub(one, u)));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
