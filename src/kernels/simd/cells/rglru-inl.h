// RG-LRU (De et al. 2024, Griffin/Hawk; a scan cell: gates r, i and the value x from the layer input only),
// forward and backward, for every SIMD target; one batch row, n hidden units (pointers offset by j0, gate
// blocks H apart). la = log σ(Λ) per unit (≤ 0, from the driver), c = 8:
//   r = σ(a_r)   i = σ(a_i)   u = a_x   log a_t = c·r·la   h = a_t ⊙ h_prev + √(1 - a_t²) ⊙ (i ⊙ u)
// 1 - a_t² = -expm1(s)·(1 + a_t), s = c·r·la, so √ keeps its relative precision as a_t → 1.
// Scalar twin and the double reference equations: src/nn/cell_rglru.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_RGLRU_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_RGLRU_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_RGLRU_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_RGLRU_INL_H_
#endif

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

inline constexpr float kRgLruC = 8.0f;

// e^s - 1 for s ≤ 0: the reduced polynomial where |s| ≤ ln2/2 (no cancellation), e^s - 1 below.
HWY_INLINE V Expm1Neg(D d, V s) {
  const V small = Expm1Reduced(d, s);
  const V big = hn::Sub(Exp(d, s), hn::Set(d, 1.0f));
  return hn::IfThenElse(hn::Le(hn::Abs(s), hn::Set(d, 0.34657359f)), small, big);
}

// a [3H] (r, i, x) pre-activations in (bias [3H] added first, or null), activations out (r, i, u = x);
// la [n] log σ(Λ); hp, h [n].
inline void RgLruForwardRow(int64_t n, int64_t H, float* a, const float* bias, const float* la, const float* hp,
                            float* h) {
  const D d;
  const V one = hn::Set(d, 1.0f);
  ForVectors(n, [&](int64_t j, auto k) {
    V pr = Ld(k, a + j), pi = Ld(k, a + H + j), u = Ld(k, a + 2 * H + j);
    if (bias) {
      pr = hn::Add(pr, Ld(k, bias + j));
      pi = hn::Add(pi, Ld(k, bias + H + j));
      u = hn::Add(u, Ld(k, bias + 2 * H + j));
    }
    const V r = Sigmoid(d, pr), i = Sigmoid(d, pi);
    const V em = Expm1Neg(d, hn::Mul(hn::Mul(r, hn::Set(d, kRgLruC)), Ld(k, la + j)));
    const V at = hn::Add(em, one);
    const V beta = hn::Sqrt(hn::Neg(hn::Mul(em, hn::Add(at, one))));
    St(k, a + j, r);
    St(k, a + H + j, i);
    St(k, a + 2 * H + j, u);
    St(k, h + j, hn::MulAdd(at, Ld(k, hp + j), hn::Mul(beta, hn::Mul(i, u))));
  });
}

// With a_t, β = √(1 - a_t²) recomputed (β ≥ 1e-30 here: the derivative of √ at 0 is infinite):
//   ds = dh ⊙ a_t (h_prev - i u a_t / β)       (s = c·r·la, ∂a/∂s = a, ∂β/∂s = -a²/β)
//   da_r = ds·c·la·r(1-r)   dla += ds·c·r   da_i = dh β u i(1-i)   da_x = dh β i   dp = dh ⊙ a_t
// a and da may alias.
inline void RgLruBackwardRow(int64_t n, int64_t H, const float* a, const float* la, const float* hp, const float* dh,
                             float* da, float* dp, float* dla) {
  const D d;
  const V one = hn::Set(d, 1.0f), c8 = hn::Set(d, kRgLruC);
  ForVectors(n, [&](int64_t j, auto k) {
    const V r = Ld(k, a + j), i = Ld(k, a + H + j), u = Ld(k, a + 2 * H + j), dv = Ld(k, dh + j);
    const V l = Ld(k, la + j);
    const V em = Expm1Neg(d, hn::Mul(hn::Mul(r, c8), l));
    const V at = hn::Add(em, one);
    const V beta = hn::Sqrt(hn::Neg(hn::Mul(em, hn::Add(at, one))));
    const V iu = hn::Mul(i, u);
    const V ratio = hn::Div(at, hn::Max(beta, hn::Set(d, 1e-30f)));
    const V ds = hn::Mul(hn::Mul(dv, at), hn::NegMulAdd(iu, ratio, Ld(k, hp + j)));
    const V dsc = hn::Mul(ds, c8);
    St(k, dla + j, hn::MulAdd(dsc, r, Ld(k, dla + j)));
    St(k, da + j, hn::Mul(hn::Mul(dsc, l), SigGrad(r)));
    const V db = hn::Mul(dv, beta);
    St(k, da + H + j, hn::Mul(hn::Mul(db, u), SigGrad(i)));
    St(k, da + 2 * H + j, hn::Mul(db, i));
    St(k, dp + j, hn::Mul(dv, at));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
