// GRU of Cho et al. 2014 (reset before the matmul), for every SIMD target, in two phases around the
// n-gate product W_hn (r ⊙ h_prev); one batch row, n hidden units (pointers offset by j0, gates H apart).
//   r = σ(a_r + b_r)  z = σ(a_z + b_z)  rh = r ⊙ h_prev      (a holds x-part + W_h[r,z] h_prev)
//   n = tanh(a_n + b_n)  (a_n = W_in x + W_hn rh)            h = (1-z) ⊙ n + z ⊙ h_prev
// Scalar twin and the double reference equations: src/nn/cell_gru_cho.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_GRU_CHO_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_GRU_CHO_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_GRU_CHO_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_GRU_CHO_INL_H_
#endif

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// Phase 1: a [3H] (r, z in place), bias [3H] or null, hp / rh [H].
inline void GruChoGatesRow(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* rh) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    V pr = Ld(k, a + j), pz = Ld(k, a + H + j);
    if (bias) {
      pr = hn::Add(pr, Ld(k, bias + j));
      pz = hn::Add(pz, Ld(k, bias + H + j));
    }
    const V r = Sigmoid(d, pr);
    St(k, a + j, r);
    St(k, a + H + j, Sigmoid(d, pz));
    St(k, rh + j, hn::Mul(r, Ld(k, hp + j)));
  });
}

// Phase 2: n in place, h [H].
inline void GruChoStateRow(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    V pn = Ld(k, a + 2 * H + j);
    if (bias) pn = hn::Add(pn, Ld(k, bias + 2 * H + j));
    const V nv = Tanh(d, pn), z = Ld(k, a + H + j);
    St(k, a + 2 * H + j, nv);
    St(k, h + j, hn::MulAdd(z, hn::Sub(Ld(k, hp + j), nv), nv));
  });
}

// Backward phase 1: dn_ = dh ⊙ (1-z)(1-n²)   dz_ = dh ⊙ (h_prev - n) z(1-z)   dp = dh ⊙ z
inline void GruChoBackwardNzRow(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                                float* dp) {
  const D d;
  const V one = hn::Set(d, 1.0f);
  ForVectors(n, [&](int64_t j, auto k) {
    const V z = Ld(k, a + H + j), nv = Ld(k, a + 2 * H + j), dv = Ld(k, dh + j);
    St(k, da + H + j, hn::Mul(hn::Mul(dv, hn::Sub(Ld(k, hp + j), nv)), SigGrad(z)));
    St(k, da + 2 * H + j, hn::Mul(hn::Mul(dv, hn::Sub(one, z)), OneMinusSq(nv)));
    St(k, dp + j, hn::Mul(dv, z));
  });
}

// Backward phase 2 (drh = da_n W_hn known): dr_ = drh ⊙ h_prev ⊙ r(1-r);  dp += drh ⊙ r
inline void GruChoBackwardRRow(int64_t n, const float* a, const float* hp, const float* drh, float* da, float* dp) {
  ForVectors(n, [&](int64_t j, auto k) {
    const V r = Ld(k, a + j), g = Ld(k, drh + j);
    St(k, da + j, hn::Mul(hn::Mul(g, Ld(k, hp + j)), SigGrad(r)));
    St(k, dp + j, hn::MulAdd(g, r, Ld(k, dp + j)));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
