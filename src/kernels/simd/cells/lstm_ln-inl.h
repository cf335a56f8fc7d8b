// Layer-normalised LSTM (lstm_ln; Ba, Kiros & Hinton 2016; equations in docs/cells.md), one batch row of
// one step, forward and backward, for every SIMD target: the three norms' statistics, the gate
// nonlinearities, the c-norm and the backward's reductions in as few passes over the row as they allow.
//   forward   pass 1 (4H): one-pass statistics of the x product and the h product together;
//             pass 2 (H, the 4 gate blocks side by side): both norms (in place: the tape keeps them, not the
//             gates), the gates, c_t and its statistics; pass 3 (H): ĉ_t = LN(c_t), h_t = o ⊙ tanh(γ_c ĉ_t + β_c)
//   backward  pass A (H): the gates again from the two norms, through the output and the c-norm's own terms
//             (recomputing 4 activations per unit costs less than a [T, B, 4H] tape written and read back);
//             pass B (H): through the c-norm,
//             the gates, dc_{t-1}, and every sum the x and h norms' backward need (and the parameters' sums);
//             pass C (4H): dL/d(x product) and dL/d(h product) = LN'(γ ⊙ da) on both sides, over the norms
// Statistics: shifted sums per lane (each lane's first value as its shift), the lanes merged in double by
// Chan, Golub & LeVeque's pairwise formula: one pass, and as exact as a two-pass mean / variance.
// Contract: RnnKernels::lstm_ln_forward_row / lstm_ln_backward_row (rnn_kernels.h); the double reference:
// src/nn/cell_ln.cpp; the loops: src/nn/rnn_fused_ln.cpp.
#if defined(RECURRENT_KERNELS_SIMD_CELLS_LSTM_LN_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef RECURRENT_KERNELS_SIMD_CELLS_LSTM_LN_INL_H_
#undef RECURRENT_KERNELS_SIMD_CELLS_LSTM_LN_INL_H_
#else
#define RECURRENT_KERNELS_SIMD_CELLS_LSTM_LN_INL_H_
#endif

#include <algorithm>
#include <cmath>

#include "kernels/simd/math-inl.h"
#include "kernels/simd/rnn_kernels.h"
#include "kernels/simd/vec-inl.h"

HWY_BEFORE_NAMESPACE();
namespace recurrent::simd::HWY_NAMESPACE {

inline constexpr double kLnEpsilon = 1e-5;  // inside the square root, as torch.nn.LayerNorm

// One-pass mean and variance of a row fed vector by vector in order (whole vectors, then at most one tail).
struct RowStats {
  V k, s1, s2;  // per lane: shift, Σ (x − k), Σ (x − k)²
  bool started = false;
  // Written out, not implicit: GCC compiles an implicit constructor without the target's attributes, and on
  // aarch64 it then cannot inline the NEON vector's own constructor.
  HWY_INLINE RowStats() : k(hn::Zero(D())), s1(k), s2(k) {}
  HWY_INLINE void Add(V x, Full) {
    if (!started) k = x, s1 = s2 = hn::Zero(D()), started = true;
    const V d = hn::Sub(x, k);
    s1 = hn::Add(s1, d);
    s2 = hn::MulAdd(d, d, s2);
  }
  HWY_INLINE void Add(V x, Tail t) {
    const D d;
    if (!started) k = x, s1 = s2 = hn::Zero(d), started = true;
    const V dv = hn::IfThenElseZero(hn::FirstN(d, static_cast<size_t>(t.n)), hn::Sub(x, k));
    s1 = hn::Add(s1, dv);
    s2 = hn::MulAdd(dv, dv, s2);
  }
  // n values in all: mean and 1/√(var + ε) (biased variance).
  HWY_INLINE void Finish(int64_t n, float* mean, float* isd) const {
    HWY_ALIGN float kk[kLanes], a[kLanes], b[kLanes];
    const D d;
    hn::Store(k, d, kk);
    hn::Store(s1, d, a);
    hn::Store(s2, d, b);
    double N = 0.0, mu = 0.0, m2 = 0.0;
    for (int64_t l = 0; l < kLanes; ++l) {
      const double nl = static_cast<double>(n / kLanes + (l < n % kLanes ? 1 : 0));
      if (nl == 0.0) continue;
      const double ml = kk[l] + a[l] / nl, m2l = std::max(0.0, b[l] - static_cast<double>(a[l]) * a[l] / nl);
      const double delta = ml - mu, nn = N + nl;
      mu += delta * nl / nn;
      m2 += m2l + delta * delta * N * nl / nn;
      N = nn;
    }
    *mean = static_cast<float>(mu);
    *isd = static_cast<float>(1.0 / std::sqrt(m2 / static_cast<double>(n) + kLnEpsilon));
  }
};

HWY_INLINE float SumLanes(V v) { return hn::GetLane(hn::SumOfLanes(D(), v)); }

// The pre-activations of unit block j (gates i f g o) from the two norms: γ_x nx + γ_h nh + b.
template <class K>
HWY_INLINE void PreActivations(const float* nx, const float* nh, const float* gx, const float* gh, const float* bias,
                               int64_t H, int64_t j, K k, V* pre) {
  for (int q = 0; q < 4; ++q) {
    const int64_t o = q * H + j;
    V p = hn::MulAdd(Ld(k, gx + o), Ld(k, nx + o), hn::Mul(Ld(k, gh + o), Ld(k, nh + o)));
    if (bias) p = hn::Add(p, Ld(k, bias + o));
    pre[q] = p;
  }
}

inline void LstmLnForwardRow(const LnLstmForward& r) {
  const D d;
  const int64_t H = r.H, GH = 4 * H;
  RowStats sx, sh, sc;
  ForVectors(GH, [&](int64_t j, auto k) {  // pass 1
    sx.Add(Ld(k, r.x + j), k);
    sh.Add(Ld(k, r.nh + j), k);
  });
  float mux, isx, muh, ish;
  sx.Finish(GH, &mux, &isx);
  sh.Finish(GH, &muh, &ish);
  r.st[0] = isx, r.st[1] = ish;
  const V vmx = hn::Set(d, mux), vix = hn::Set(d, isx), vmh = hn::Set(d, muh), vih = hn::Set(d, ish);
  ForVectors(H, [&](int64_t j, auto k) {  // pass 2: both norms (in place), the gates of unit block j, c_t
    for (int q = 0; q < 4; ++q) {
      const int64_t o = q * H + j;
      St(k, r.x + o, hn::Mul(hn::Sub(Ld(k, r.x + o), vmx), vix));
      St(k, r.nh + o, hn::Mul(hn::Sub(Ld(k, r.nh + o), vmh), vih));
    }
    V pre[4];
    PreActivations(r.x, r.nh, r.gx, r.gh, r.bias, H, j, k, pre);
    const V i = Sigmoid(d, pre[0]), f = Sigmoid(d, pre[1]), g = Tanh(d, pre[2]);
    const V c = hn::MulAdd(f, Ld(k, r.cp + j), hn::Mul(i, g));
    St(k, r.c + j, c);
    St(k, r.h + j, Sigmoid(d, pre[3]));  // o, until pass 3
    sc.Add(c, k);
  });
  float muc, isc;
  sc.Finish(H, &muc, &isc);
  r.st[2] = muc, r.st[3] = isc;
  const V vmc = hn::Set(d, muc), vic = hn::Set(d, isc);
  ForVectors(H, [&](int64_t j, auto k) {  // pass 3
    const V ch = hn::Mul(hn::Sub(Ld(k, r.c + j), vmc), vic);
    St(k, r.chat + j, ch);
    St(k, r.h + j, hn::Mul(Ld(k, r.h + j), Tanh(d, hn::MulAdd(Ld(k, r.gc + j), ch, Ld(k, r.bc + j)))));
  });
}

inline void LstmLnBackwardRow(const LnLstmBackward& r) {
  const D d;
  const int64_t H = r.H, GH = 4 * H;
  float* act = r.scratch;           // [4H] i f g (then their da), da_o
  float* tmp = r.scratch + GH;      // [H] γ_c ⊙ dL/dĉ
  float* der = r.scratch + GH + H;  // [3H] σ'(ĩ), σ'(f̃), tanh'(g̃), each from its pre-activation (math-inl.h)
  V t1 = hn::Zero(d), t2 = hn::Zero(d);
  ForVectors(H, [&](int64_t j, auto k) {  // pass A: the gates again, h_t = o ⊙ tanh(γ_c ĉ + β_c)
    V pre[4], di, df, dg, dso, dtc;
    PreActivations(r.nx, r.nh, r.gx, r.gh, r.bias, H, j, k, pre);
    St(k, act + j, SigmoidWithGrad(d, pre[0], &di));
    St(k, act + H + j, SigmoidWithGrad(d, pre[1], &df));
    St(k, act + 2 * H + j, TanhWithGrad(d, pre[2], &dg));
    St(k, der + j, di);
    St(k, der + H + j, df);
    St(k, der + 2 * H + j, dg);
    const V o = SigmoidWithGrad(d, pre[3], &dso);
    const V ch = Ld(k, r.chat + j), gc = Ld(k, r.gc + j), dm = Ld(k, r.dm + j);
    const V tc = TanhWithGrad(d, hn::MulAdd(gc, ch, Ld(k, r.bc + j)), &dtc);
    const V dcn = hn::Mul(hn::Mul(dm, o), dtc);  // dL/d(γ_c ĉ + β_c)
    St(k, act + 3 * H + j, hn::Mul(hn::Mul(dm, tc), dso));  // da_o
    St(k, r.dgc + j, hn::MulAdd(dcn, ch, Ld(k, r.dgc + j)));
    St(k, r.dbc + j, hn::Add(dcn, Ld(k, r.dbc + j)));
    const V t = hn::Mul(dcn, gc);
    St(k, tmp + j, t);
    t1 = hn::Add(t1, t);  // (masked lanes of a tail load as 0, so they add nothing)
    t2 = hn::MulAdd(t, ch, t2);
  });
  const float invH = 1.0f / static_cast<float>(H);
  const V m1 = hn::Set(d, SumLanes(t1) * invH), m2 = hn::Set(d, SumLanes(t2) * invH), ic = hn::Set(d, r.st[3]);
  V x1 = hn::Zero(d), x2 = hn::Zero(d), h1 = hn::Zero(d), h2 = hn::Zero(d);
  ForVectors(H, [&](int64_t j, auto k) {  // pass B: c-norm, gates, dc_{t-1}, the norms' sums
    const V ch = Ld(k, r.chat + j);
    const V dct = hn::MulAdd(ic, hn::Sub(hn::Sub(Ld(k, tmp + j), m1), hn::Mul(ch, m2)), Ld(k, r.dc + j));
    const V i = Ld(k, act + j), f = Ld(k, act + H + j), g = Ld(k, act + 2 * H + j);
    V da[4];
    da[0] = hn::Mul(hn::Mul(dct, g), Ld(k, der + j));
    da[1] = hn::Mul(hn::Mul(dct, Ld(k, r.cp + j)), Ld(k, der + H + j));
    da[2] = hn::Mul(hn::Mul(dct, i), Ld(k, der + 2 * H + j));
    da[3] = Ld(k, act + 3 * H + j);
    St(k, r.dc + j, hn::Mul(dct, f));
    for (int q = 0; q < 4; ++q) {
      const int64_t o = q * H + j;
      if (q < 3) St(k, act + o, da[q]);
      const V nx = Ld(k, r.nx + o), nh = Ld(k, r.nh + o);
      St(k, r.db + o, hn::Add(da[q], Ld(k, r.db + o)));
      St(k, r.dgx + o, hn::MulAdd(da[q], nx, Ld(k, r.dgx + o)));
      St(k, r.dgg + o, hn::MulAdd(da[q], nh, Ld(k, r.dgg + o)));
      const V u = hn::Mul(da[q], Ld(k, r.gx + o)), w = hn::Mul(da[q], Ld(k, r.gh + o));
      x1 = hn::Add(x1, u);
      x2 = hn::MulAdd(u, nx, x2);
      h1 = hn::Add(h1, w);
      h2 = hn::MulAdd(w, nh, h2);
    }
  });
  const float invG = 1.0f / static_cast<float>(GH);
  const V xm1 = hn::Set(d, SumLanes(x1) * invG), xm2 = hn::Set(d, SumLanes(x2) * invG);
  const V hm1 = hn::Set(d, SumLanes(h1) * invG), hm2 = hn::Set(d, SumLanes(h2) * invG);
  const V ix = hn::Set(d, r.st[0]), ih = hn::Set(d, r.st[1]);
  ForVectors(GH, [&](int64_t j, auto k) {  // pass C: both norms' backward, in place of the norms
    const V da = Ld(k, act + j);
    const V u = hn::Mul(da, Ld(k, r.gx + j)), w = hn::Mul(da, Ld(k, r.gh + j));
    St(k, r.nh + j, hn::Mul(ih, hn::Sub(hn::Sub(w, hm1), hn::Mul(Ld(k, r.nh + j), hm2))));
    St(k, r.nx + j, hn::Mul(ix, hn::Sub(hn::Sub(u, xm1), hn::Mul(Ld(k, r.nx + j), xm2))));
  });
}

}  // namespace recurrent::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // include guard (per target)
