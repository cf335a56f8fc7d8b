// GRU, PyTorch/cuDNN "linear-before-reset" (gates r, z, n), forward and backward, for every SIMD target;
// one batch row (or M rows), n hidden units (pointers offset by j0, gate blocks H apart).
//   r = σ(ax_r + gh_r + b_hr)   z = σ(ax_z + gh_z + b_hz)
//   nh = gh_n + b_hn            n = tanh(ax_n + r ⊙ nh)        h = (1-z) ⊙ n + z ⊙ h_prev
// Scalar twin and the double reference equations: src/nn/cell_gru.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_GRU_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_GRU_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_GRU_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_GRU_INL_H_
#endif

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// M rows in two sweeps (r and z of every row, then n and h). a [3H] x-part in (W_ih x), activations out;
// gh [3H] = W_hh h_prev (no bias); a rows and gh rows lda apart; hp, h, nh [H] rows H apart; bias [3H]
// (b_ih) and b_hh [3H] or null. rz_in_a: a's r and z columns already hold x W_i[r,z]ᵀ + h W_h[r,z]ᵀ
// (the folded step's single accumulation) and gh's are not read. nh receives W_hn h + b_hn (the tape).
inline void GruForwardRows(int64_t M, int64_t n, int64_t H, float* a, const float* gh, int64_t lda,
                           const float* bias, const float* b_hh, bool rz_in_a, const float* hp, float* h, float* nh) {
  const D d;
  for (int64_t b = 0; b < M; ++b) {  // sweep 1: r, z in place
    float* ar = a + b * lda;
    const float* ghr = gh + b * lda;
    ForVectors(n, [&](int64_t j, auto k) {
      V pr = Ld(k, ar + j), pz = Ld(k, ar + H + j);
      if (!rz_in_a) {
        pr = hn::Add(pr, Ld(k, ghr + j));
        pz = hn::Add(pz, Ld(k, ghr + H + j));
      }
      if (bias) {
        pr = hn::Add(pr, Ld(k, bias + j));
        pz = hn::Add(pz, Ld(k, bias + H + j));
      }
      if (b_hh) {
        pr = hn::Add(pr, Ld(k, b_hh + j));
        pz = hn::Add(pz, Ld(k, b_hh + H + j));
      }
      St(k, ar + j, Sigmoid(d, pr));
      St(k, ar + H + j, Sigmoid(d, pz));
    });
  }
  for (int64_t b = 0; b < M; ++b) {  // sweep 2: n, h (and the tape's W_hn h + b_hn)
    float* ar = a + b * lda;
    const float* ghr = gh + b * lda;
    ForVectors(n, [&](int64_t j, auto k) {
      V px = Ld(k, ar + 2 * H + j), nhv = Ld(k, ghr + 2 * H + j);
      if (bias) px = hn::Add(px, Ld(k, bias + 2 * H + j));
      if (b_hh) nhv = hn::Add(nhv, Ld(k, b_hh + 2 * H + j));
      const V r = Ld(k, ar + j), z = Ld(k, ar + H + j);
      const V nv = Tanh(d, hn::MulAdd(r, nhv, px));
      St(k, ar + 2 * H + j, nv);
      St(k, nh + b * H + j, nhv);
      St(k, h + b * H + j, hn::MulAdd(z, hn::Sub(Ld(k, hp + b * H + j), nv), nv));  // (1-z) n + z h_prev
    });
  }
}

// dn_ = dh ⊙ (1-z)(1-n²)   dz_ = dh ⊙ (h_prev - n) z(1-z)   dr_ = dn_ ⊙ nh ⊙ r(1-r)
// dx [3H] = (dr_, dz_, dn_) (x side), dg [3H] = (dr_, dz_, dn_ ⊙ r) (h side), dp [H] = dh ⊙ z.
inline void GruBackwardRow(int64_t n, int64_t H, const float* a, const float* nh, const float* hp, const float* dh,
                           float* dx, float* dg, float* dp) {
  const D d;
  const V one = hn::Set(d, 1.0f);
  ForVectors(n, [&](int64_t j, auto k) {
    const V r = Ld(k, a + j), z = Ld(k, a + H + j), nv = Ld(k, a + 2 * H + j), dv = Ld(k, dh + j);
    const V dn = hn::Mul(hn::Mul(dv, hn::Sub(one, z)), OneMinusSq(nv));
    const V dz = hn::Mul(hn::Mul(dv, hn::Sub(Ld(k, hp + j), nv)), SigGrad(z));
    const V dr = hn::Mul(hn::Mul(dn, Ld(k, nh + j)), SigGrad(r));
    St(k, dx + j, dr);
    St(k, dx + H + j, dz);
    St(k, dx + 2 * H + j, dn);
    St(k, dg + j, dr);
    St(k, dg + H + j, dz);
    St(k, dg + 2 * H + j, hn::Mul(dn, r));
    St(k, dp + j, hn::Mul(dv, z));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
