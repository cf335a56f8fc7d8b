// LSTM gate/state pass, forward and backward, for every SIMD target: one batch row (or M rows),
// n hidden units (a slice [j0, j0+n) of H: pointers arrive offset by j0, gate blocks H apart).
// Equations (Hochreiter & Schmidhuber 1997, forget gate Gers et al. 2000, peepholes Gers & Schmidhuber
// 2000; gates i, f, g, o as PyTorch):
//   i = σ(a_i + w_ci ⊙ c_prev)   f = σ(a_f + w_cf ⊙ c_prev)   g = tanh(a_g)
//   c = f ⊙ c_prev + i ⊙ g       o = σ(a_o + w_co ⊙ c)        m = o ⊙ tanh(c)
// Scalar twin and the double reference equations: src/nn/cell_lstm.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_LSTM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_LSTM_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_LSTM_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_LSTM_INL_H_
#endif

#include "kernels/simd/math-inl.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

// Forward of M rows (a rows lda apart; cp, c, m rows H apart): a [4H] pre-activations in, activations
// out; bias [4H] added first (the fused loops fold the biases in here) or null; peep [3H] or null.
// Two sweeps, the gates of every row first, then c and m: the activations are long dependency
// chains (exp, a division), and a sweep puts many independent chains side by side.
inline void LstmForwardRows(int64_t M, int64_t n, int64_t H, float* a, int64_t lda, const float* bias,
                            const float* peep, const float* cp, float* c, float* m) {
  const D d;
  for (int64_t b = 0; b < M; ++b) {  // sweep 1: i, f, g (and o without peepholes), in place
    float* ar = a + b * lda;
    const float* cpr = cp + b * H;
    ForVectors(n, [&](int64_t j, auto k) {
      V pi = Ld(k, ar + j), pf = Ld(k, ar + H + j), pg = Ld(k, ar + 2 * H + j), po = Ld(k, ar + 3 * H + j);
      if (bias) {
        pi = hn::Add(pi, Ld(k, bias + j));
        pf = hn::Add(pf, Ld(k, bias + H + j));
        pg = hn::Add(pg, Ld(k, bias + 2 * H + j));
        po = hn::Add(po, Ld(k, bias + 3 * H + j));
      }
      if (peep) {
        const V cprev = Ld(k, cpr + j);
        pi = hn::MulAdd(Ld(k, peep + j), cprev, pi);
        pf = hn::MulAdd(Ld(k, peep + H + j), cprev, pf);
      }
      St(k, ar + j, Sigmoid(d, pi));
      St(k, ar + H + j, Sigmoid(d, pf));
      St(k, ar + 2 * H + j, Tanh(d, pg));
      St(k, ar + 3 * H + j, peep ? po : Sigmoid(d, po));  // with peepholes o waits for c_t (sweep 2)
    });
  }
  for (int64_t b = 0; b < M; ++b) {  // sweep 2: c_t, (o), m_t
    float* ar = a + b * lda;
    ForVectors(n, [&](int64_t j, auto k) {
      const V i = Ld(k, ar + j), f = Ld(k, ar + H + j), g = Ld(k, ar + 2 * H + j);
      const V cn = hn::MulAdd(f, Ld(k, cp + b * H + j), hn::Mul(i, g));
      V o = Ld(k, ar + 3 * H + j);
      if (peep) {
        o = Sigmoid(d, hn::MulAdd(Ld(k, peep + 2 * H + j), cn, o));
        St(k, ar + 3 * H + j, o);
      }
      St(k, c + b * H + j, cn);
      St(k, m + b * H + j, hn::Mul(o, Tanh(d, cn)));
    });
  }
}

// Backward of one row (tc = tanh c):
//   do_ = dm ⊙ tc ⊙ o(1-o)                  dc = dc_next + dm ⊙ o ⊙ (1 - tc²) + do_ ⊙ w_co
//   di_ = dc ⊙ g ⊙ i(1-i)    df_ = dc ⊙ c_prev ⊙ f(1-f)    dg_ = dc ⊙ i ⊙ (1-g²)
//   dc_prev = dc ⊙ f + di_ ⊙ w_ci + df_ ⊙ w_cf
//   dw_ci += di_ ⊙ c_prev   dw_cf += df_ ⊙ c_prev   dw_co += do_ ⊙ c
// a [4H] activations, cp / cb / dm [H], dc [H] in dL/dc_t out dL/dc_{t-1}, da [4H], dpeep [3H] (+=, if peep).
inline void LstmBackwardRow(int64_t n, int64_t H, const float* a, const float* peep, const float* cp,
                            const float* cb, const float* dm, float* dc, float* da, float* dpeep) {
  const D d;
  ForVectors(n, [&](int64_t j, auto k) {
    const V i = Ld(k, a + j), f = Ld(k, a + H + j), g = Ld(k, a + 2 * H + j), o = Ld(k, a + 3 * H + j);
    const V c = Ld(k, cb + j), cprev = Ld(k, cp + j), dmv = Ld(k, dm + j);
    const V tc = Tanh(d, c);
    const V d_o = hn::Mul(hn::Mul(dmv, tc), SigGrad(o));
    V dct = hn::MulAdd(hn::Mul(dmv, o), OneMinusSq(tc), Ld(k, dc + j));
    if (peep) dct = hn::MulAdd(d_o, Ld(k, peep + 2 * H + j), dct);
    const V d_i = hn::Mul(hn::Mul(dct, g), SigGrad(i));
    const V d_f = hn::Mul(hn::Mul(dct, cprev), SigGrad(f));
    const V d_g = hn::Mul(hn::Mul(dct, i), OneMinusSq(g));
    St(k, da + j, d_i);
    St(k, da + H + j, d_f);
    St(k, da + 2 * H + j, d_g);
    St(k, da + 3 * H + j, d_o);
    V dcp = hn::Mul(dct, f);
    if (peep) {
      dcp = hn::MulAdd(d_i, Ld(k, peep + j), dcp);
      dcp = hn::MulAdd(d_f, Ld(k, peep + H + j), dcp);
      St(k, dpeep + j, hn::MulAdd(d_i, cprev, Ld(k, dpeep + j)));
      St(k, dpeep + H + j, hn::MulAdd(d_f, cprev, Ld(k, dpeep + H + j)));
      St(k, dpeep + 2 * H + j, hn::MulAdd(d_o, c, Ld(k, dpeep + 2 * H + j)));
    }
    St(k, dc + j, dcp);
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
