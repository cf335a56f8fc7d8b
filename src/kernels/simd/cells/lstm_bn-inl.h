// Recurrent batch-normalised LSTM (lstm_bn; Cooijmans et al. 2016; equations in docs/cells.md), the passes of one
// step for every SIMD target. The statistics are per feature over the batch's rows, so a vector holds kLanes
// features (columns) and the loops walk the rows:
//   BnColumns          column mean and biased variance over the valid rows (per lane shifted sums in double:
//                      the first valid row's value as the shift), or the population's; n = (v − μ)/σ on every row
//   BnColumnsBackward  dv = (1/σ)(dn − mean_V(dn) − n ⊙ mean_V(dn ⊙ n)) (batch statistics) or dn/σ; 0 on padding
//   LstmBnHRows        h_t = o ⊙ tanh(γ_c n_c + β_c) on the valid rows; padded rows keep h_{t-1}, c_{t-1}
//   LstmBnOutBackwardRow, LstmBnGatesBackwardRow  one valid row's backward through h_t's output and through the
//                      gates and the two norms' gains (the column reductions between them are BnColumnsBackward)
// Contract: RnnKernels::bn_columns ... (rnn_kernels.h); the loops: src/nn/rnn_fused_bn.cpp; the double
// reference: src/nn/rnn_bn.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_LSTM_BN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_LSTM_BN_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_LSTM_BN_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_LSTM_BN_INL_H_
#endif

#include <cstdint>

#include "kernels/simd/math-inl.h"
#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

inline constexpr float kBnEpsilon = 1e-5f;  // inside the square root, as torch.nn.BatchNorm1d

inline bool BnRowValid(const uint8_t* valid, int64_t b) { return !valid || valid[b]; }

// The column sums in double (each float vector as two halves of kLanes/2 doubles): a batch norm's backward
// subtracts the columns' means from gradients that often nearly equal them (dn ≈ mean(dn) + n ⊙ mean(dn ⊙ n)), so
// float sums over the rows would cost digits the result does not have to lose (measured: float sums put the
// fp32 loop at 0.55× of its bound against the double engine, double sums well under it).
using BnDD = hn::Repartition<double, D>;
using BnDH = hn::Half<D>;
using BnVD = hn::Vec<BnDD>;
HWY_INLINE BnVD BnLo(V v) { return hn::PromoteTo(BnDD(), hn::LowerHalf(BnDH(), v)); }
HWY_INLINE BnVD BnHi(V v) { return hn::PromoteTo(BnDD(), hn::UpperHalf(BnDH(), v)); }
HWY_INLINE V BnJoin(BnVD lo, BnVD hi) {
  return hn::Combine(D(), hn::DemoteTo(BnDH(), hi), hn::DemoteTo(BnDH(), lo));
}

inline void BnColumns(const BnColumnsArgs& r) {
  const BnDD dd;
  const BnVD eps = hn::Set(dd, static_cast<double>(kBnEpsilon)), one = hn::Set(dd, 1.0), zero = hn::Zero(dd);
  int64_t n = 0, first = -1;
  for (int64_t b = 0; b < r.B; ++b)
    if (BnRowValid(r.valid, b)) first = first < 0 ? b : first, ++n;
  if (!r.rmean && n == 0) return;  // no row at this step (the loops do not call it then)
  const BnVD inv_n = hn::Set(dd, 1.0 / static_cast<double>(n > 0 ? n : 1));
  // Per column a shift k (the first valid row's value, or the population mean) and the mean's offset m1 from it:
  // n = ((v − k) − m1)/σ keeps the rows' differences exact where they are close (v − k is exact there), which
  // (v − μ) with μ rounded to float would not (its rounding, relative to a small spread, is what 1/σ amplifies).
  float *shift = r.mu, *off = r.mu + r.N;
  ForVectors(r.N, [&](int64_t j, auto k) {  // the statistics of kLanes columns
    V sh;
    BnVD m1l = zero, m1h = zero, vl, vh;
    if (r.rmean) {
      sh = Ld(k, r.rmean + j);
      const V var = Ld(k, r.rvar + j);
      vl = BnLo(var), vh = BnHi(var);
    } else {
      sh = Ld(k, r.m + first * r.ld + j);
      BnVD s2l = zero, s2h = zero;
      for (int64_t b = first; b < r.B; ++b) {
        if (!BnRowValid(r.valid, b)) continue;
        const V x = hn::Sub(Ld(k, r.m + b * r.ld + j), sh);
        const BnVD xl = BnLo(x), xh = BnHi(x);
        m1l = hn::Add(m1l, xl), m1h = hn::Add(m1h, xh);
        s2l = hn::MulAdd(xl, xl, s2l), s2h = hn::MulAdd(xh, xh, s2h);
      }
      m1l = hn::Mul(m1l, inv_n), m1h = hn::Mul(m1h, inv_n);
      vl = hn::Max(zero, hn::NegMulAdd(m1l, m1l, hn::Mul(s2l, inv_n)));
      vh = hn::Max(zero, hn::NegMulAdd(m1h, m1h, hn::Mul(s2h, inv_n)));
      if (r.mean) {
        St(k, r.mean + j, BnJoin(hn::Add(BnLo(sh), m1l), hn::Add(BnHi(sh), m1h)));
        St(k, r.var + j, BnJoin(vl, vh));
      }
    }
    St(k, r.isd + j, BnJoin(hn::Div(one, hn::Sqrt(hn::Add(vl, eps))), hn::Div(one, hn::Sqrt(hn::Add(vh, eps)))));
    St(k, shift + j, sh);
    St(k, off + j, BnJoin(m1l, m1h));
  });
  for (int64_t b = 0; b < r.B; ++b)  // n = ((v − k) − m1)/σ (every row: the padded ones' values are never read)
    ForVectors(r.N, [&](int64_t j, auto k) {
      const V x = hn::Sub(hn::Sub(Ld(k, r.m + b * r.ld + j), Ld(k, shift + j)), Ld(k, off + j));
      St(k, r.out + b * r.ld + j, hn::Mul(x, Ld(k, r.isd + j)));
    });
}

inline void BnColumnsBackward(const BnColumnsBackArgs& r) {
  const BnDD dd;
  const BnVD zero = hn::Zero(dd);
  int64_t n = 0;
  for (int64_t b = 0; b < r.B; ++b) n += BnRowValid(r.valid, b) ? 1 : 0;
  const BnVD inv_n = hn::Set(dd, 1.0 / static_cast<double>(n > 0 ? n : 1));
  ForVectors(r.N, [&](int64_t j, auto k) {
    BnVD m1l = zero, m1h = zero, m2l = zero, m2h = zero;
    if (r.batch)
      for (int64_t b = 0; b < r.B; ++b) {
        if (!BnRowValid(r.valid, b)) continue;
        const V dn = Ld(k, r.d + b * r.N + j), nr = Ld(k, r.nrm + b * r.N + j);
        const BnVD dl = BnLo(dn), dh = BnHi(dn);
        m1l = hn::Add(m1l, dl), m1h = hn::Add(m1h, dh);
        m2l = hn::MulAdd(dl, BnLo(nr), m2l), m2h = hn::MulAdd(dh, BnHi(nr), m2h);
      }
    m1l = hn::Mul(m1l, inv_n), m1h = hn::Mul(m1h, inv_n), m2l = hn::Mul(m2l, inv_n), m2h = hn::Mul(m2h, inv_n);
    const V is = Ld(k, r.isd + j);
    const BnVD isl = BnLo(is), ish = BnHi(is);
    for (int64_t b = 0; b < r.B; ++b) {  // (1/σ)(dn − m1 − n ⊙ m2) in double, rounded once
      const int64_t o = b * r.N + j;
      if (!BnRowValid(r.valid, b)) {
        St(k, r.out + o, hn::Zero(D()));
        continue;
      }
      const V dn = Ld(k, r.d + o), nr = Ld(k, r.nrm + o);
      const BnVD lo = hn::Mul(isl, hn::NegMulAdd(BnLo(nr), m2l, hn::Sub(BnLo(dn), m1l)));
      const BnVD hi = hn::Mul(ish, hn::NegMulAdd(BnHi(nr), m2h, hn::Sub(BnHi(dn), m1h)));
      St(k, r.out + o, BnJoin(lo, hi));
    }
  });
}

inline void LstmBnHRows(int64_t B, int64_t H, const float* a, const float* nc, const float* gc, const float* bc,
                        const uint8_t* valid, const float* hp, const float* cp, float* h, float* c) {
  const D d;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = b * H;
    if (!BnRowValid(valid, b)) {
      ForVectors(H, [&](int64_t j, auto k) {
        St(k, h + o + j, Ld(k, hp + o + j));
        St(k, c + o + j, Ld(k, cp + o + j));
      });
      continue;
    }
    const float* og = a + b * 4 * H + 3 * H;
    ForVectors(H, [&](int64_t j, auto k) {
      const V u = hn::MulAdd(Ld(k, gc + j), Ld(k, nc + o + j), Ld(k, bc + j));
      St(k, h + o + j, hn::Mul(Ld(k, og + j), Tanh(d, u)));
    });
  }
}

inline void LstmBnOutBackwardRow(int64_t H, const float* a, const float* nc, const float* gc, const float* bc,
                                 const float* dh, float* da, float* dnc, float* dgc, float* dbc) {
  const D d;
  ForVectors(H, [&](int64_t j, auto k) {  // m = o ⊙ tanh(u), u = γ_c n_c + β_c
    const V o = Ld(k, a + 3 * H + j), n = Ld(k, nc + j), g = Ld(k, gc + j), dm = Ld(k, dh + j);
    const V tu = Tanh(d, hn::MulAdd(g, n, Ld(k, bc + j)));
    const V du = hn::Mul(hn::Mul(dm, o), OneMinusSq(tu));
    St(k, da + 3 * H + j, hn::Mul(hn::Mul(dm, tu), SigGrad(o)));  // da_o
    St(k, dgc + j, hn::MulAdd(du, n, Ld(k, dgc + j)));
    St(k, dbc + j, hn::Add(du, Ld(k, dbc + j)));
    St(k, dnc + j, hn::Mul(du, g));
  });
}

inline void LstmBnGatesBackwardRow(const BnLstmGatesBackward& r) {
  const int64_t H = r.H;
  ForVectors(H, [&](int64_t j, auto k) {  // c_t = f c_{t-1} + i g
    const V i = Ld(k, r.a + j), f = Ld(k, r.a + H + j), g = Ld(k, r.a + 2 * H + j);
    const V dct = hn::Add(Ld(k, r.dc + j), Ld(k, r.dcn + j));
    St(k, r.da + j, hn::Mul(hn::Mul(dct, g), SigGrad(i)));
    St(k, r.da + H + j, hn::Mul(hn::Mul(dct, Ld(k, r.cp + j)), SigGrad(f)));
    St(k, r.da + 2 * H + j, hn::Mul(hn::Mul(dct, i), OneMinusSq(g)));
    St(k, r.dc + j, hn::Mul(dct, f));
  });
  ForVectors(4 * H, [&](int64_t j, auto k) {  // a = γ_x n_x + γ_h n_h + b
    const V da = Ld(k, r.da + j);
    St(k, r.db + j, hn::Add(Ld(k, r.db + j), da));
    St(k, r.dgx + j, hn::MulAdd(da, Ld(k, r.nx + j), Ld(k, r.dgx + j)));
    St(k, r.dgh + j, hn::MulAdd(da, Ld(k, r.nh + j), Ld(k, r.dgh + j)));
    St(k, r.dnx + j, hn::Mul(da, Ld(k, r.gx + j)));
    St(k, r.dnh + j, hn::Mul(da, Ld(k, r.gh + j)));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
