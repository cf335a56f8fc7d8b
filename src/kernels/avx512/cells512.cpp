// AVX-512 row kernels of the LSTM and GRU (linear-before-reset) gate/state passes: one batch row,
// n hidden units (a slice [j0, j0+n) of H: pointers arrive offset by j0, gate blocks H apart),
// 16 units per vector, masked tail. Same equations, operand order and shapes as the generic
// row kernels in src/nn/cell_lstm.cpp / cell_gru.cpp (contract: src/nn/cell_kernels.h); the only
// numerical difference is FMA contraction (a·b + c rounded once), a few ulp.
// Activations: sigmoid512 / tanh512 (activations512.h; |error| ≤ 1e-7 abs, 2e-7 rel).
#include "kernels/avx512/activations512.h"
#include "kernels/avx512/cells.h"

namespace recurrent::avx512 {

namespace {
inline __m512 ld(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline void st(float* p, __mmask16 m, __m512 v) { _mm512_mask_storeu_ps(p, m, v); }
inline __m512 one() { return _mm512_set1_ps(1.0f); }
// s(1-s): the derivative of σ (or of 1 - tanh² when called as 1 - t²) from the activation
inline __m512 sig_grad(__m512 s) { return _mm512_mul_ps(s, _mm512_sub_ps(one(), s)); }
inline __m512 one_minus_sq(__m512 t) { return _mm512_fnmadd_ps(t, t, one()); }
}  // namespace

// a [4H] pre-activations in, activations out; bias [4H] added to a first (the fused loops fold the
// biases in here instead of a pass over all of A) or null; peep [3H] or null; cp, c [H]; m [H].
// One row of lstm_forward_rows (below).
void lstm_forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* peep, const float* cp, float* c,
                      float* m) {
  lstm_forward_rows(1, n, H, a, 4 * H, bias, peep, cp, c, m);
}

// M rows at once (a rows lda apart; cp, c, m rows H apart), in two sweeps: the gates of every row
// and vector first, then c and m. The activations are long
// dependency chains (exp, a division); one row's vectors alone leave the core waiting on them
// (perf: stalls after each vdivps), while a sweep puts many independent chains side by side.
void lstm_forward_rows(int64_t M, int64_t n, int64_t H, float* a, int64_t lda, const float* bias, const float* peep,
                       const float* cp, float* c, float* m) {
  for (int64_t b = 0; b < M; ++b) {  // sweep 1: i, f, g (and o without peepholes), in place
    float* ar = a + b * lda;
    const float* cpr = cp + b * H;
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m512 pi = ld(ar + j, k), pf = ld(ar + H + j, k), pg = ld(ar + 2 * H + j, k), po = ld(ar + 3 * H + j, k);
      if (bias) {
        pi = _mm512_add_ps(pi, ld(bias + j, k));
        pf = _mm512_add_ps(pf, ld(bias + H + j, k));
        pg = _mm512_add_ps(pg, ld(bias + 2 * H + j, k));
        po = _mm512_add_ps(po, ld(bias + 3 * H + j, k));
      }
      if (peep) {
        const __m512 cprev = ld(cpr + j, k);
        pi = _mm512_fmadd_ps(ld(peep + j, k), cprev, pi);
        pf = _mm512_fmadd_ps(ld(peep + H + j, k), cprev, pf);
      }
      st(ar + j, k, sigmoid512(pi));
      st(ar + H + j, k, sigmoid512(pf));
      st(ar + 2 * H + j, k, tanh512(pg));
      st(ar + 3 * H + j, k, peep ? po : sigmoid512(po));  // with peepholes o waits for c_t (sweep 2)
    }
  }
  for (int64_t b = 0; b < M; ++b) {  // sweep 2: c_t, (o), m_t
    float* ar = a + b * lda;
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      const __m512 i = ld(ar + j, k), f = ld(ar + H + j, k), g = ld(ar + 2 * H + j, k);
      const __m512 cn = _mm512_fmadd_ps(f, ld(cp + b * H + j, k), _mm512_mul_ps(i, g));
      __m512 o = ld(ar + 3 * H + j, k);
      if (peep) {
        o = sigmoid512(_mm512_fmadd_ps(ld(peep + 2 * H + j, k), cn, o));
        st(ar + 3 * H + j, k, o);
      }
      st(c + b * H + j, k, cn);
      st(m + b * H + j, k, _mm512_mul_ps(o, tanh512(cn)));
    }
  }
}

// Equations: lstm_backward_row in src/nn/cell_lstm.cpp. dc is read (dL/dc_t) and overwritten
// (dL/dc_{t-1}); dpeep [3H] accumulated when peep.
void lstm_backward_row(int64_t n, int64_t H, const float* a, const float* peep, const float* cp, const float* cb,
                       const float* dm, float* dc, float* da, float* dpeep) {
  const float *ai = a, *af = a + H, *ag = a + 2 * H, *ao = a + 3 * H;
  float *dai = da, *daf = da + H, *dag = da + 2 * H, *dao = da + 3 * H;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 i = ld(ai + j, k), f = ld(af + j, k), g = ld(ag + j, k), o = ld(ao + j, k);
    const __m512 c = ld(cb + j, k), cprev = ld(cp + j, k), dmv = ld(dm + j, k);
    const __m512 tc = tanh512(c);
    const __m512 d_o = _mm512_mul_ps(_mm512_mul_ps(dmv, tc), sig_grad(o));
    __m512 dct = _mm512_fmadd_ps(_mm512_mul_ps(dmv, o), one_minus_sq(tc), ld(dc + j, k));
    if (peep) dct = _mm512_fmadd_ps(d_o, ld(peep + 2 * H + j, k), dct);
    const __m512 d_i = _mm512_mul_ps(_mm512_mul_ps(dct, g), sig_grad(i));
    const __m512 d_f = _mm512_mul_ps(_mm512_mul_ps(dct, cprev), sig_grad(f));
    const __m512 d_g = _mm512_mul_ps(_mm512_mul_ps(dct, i), one_minus_sq(g));
    st(dai + j, k, d_i);
    st(daf + j, k, d_f);
    st(dag + j, k, d_g);
    st(dao + j, k, d_o);
    __m512 dcp = _mm512_mul_ps(dct, f);
    if (peep) {
      dcp = _mm512_fmadd_ps(d_i, ld(peep + j, k), dcp);
      dcp = _mm512_fmadd_ps(d_f, ld(peep + H + j, k), dcp);
      st(dpeep + j, k, _mm512_fmadd_ps(d_i, cprev, ld(dpeep + j, k)));
      st(dpeep + H + j, k, _mm512_fmadd_ps(d_f, cprev, ld(dpeep + H + j, k)));
      st(dpeep + 2 * H + j, k, _mm512_fmadd_ps(d_o, c, ld(dpeep + 2 * H + j, k)));
    }
    st(dc + j, k, dcp);
  }
}

// a [3H] x-part in, activations out; bias [3H] added to the x-part (b_ih) or null; gh [3H] = W_hh h_prev (no bias); b_hh [3H] or null; hp, h, nh [H].
// One row of gru_forward_rows (below), the h parts of r and z in gh.
void gru_forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* gh, const float* b_hh,
                     const float* hp, float* h, float* nh) {
  gru_forward_rows(1, n, H, a, gh, 3 * H, bias, b_hh, false, hp, h, nh);
}

// M rows at once in two sweeps (r and z of every row and vector, then n and h), as lstm_forward_rows.
// a rows and gh rows lda apart; hp, h, nh rows H apart. rz_in_a: a's r and z columns already hold
// x W_i[r,z]ᵀ + h W_h[r,z]ᵀ (the folded step's single accumulation) and gh's are not read; otherwise
// r, z = σ(a + gh + bias + b_hh).
void gru_forward_rows(int64_t M, int64_t n, int64_t H, float* a, const float* gh, int64_t lda, const float* bias,
                      const float* b_hh, bool rz_in_a, const float* hp, float* h, float* nh) {
  for (int64_t b = 0; b < M; ++b) {  // sweep 1: r, z in place
    float* ar = a + b * lda;
    const float* ghr = gh + b * lda;
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m512 pr = ld(ar + j, k), pz = ld(ar + H + j, k);
      if (!rz_in_a) {
        pr = _mm512_add_ps(pr, ld(ghr + j, k));
        pz = _mm512_add_ps(pz, ld(ghr + H + j, k));
      }
      if (bias) {
        pr = _mm512_add_ps(pr, ld(bias + j, k));
        pz = _mm512_add_ps(pz, ld(bias + H + j, k));
      }
      if (b_hh) {
        pr = _mm512_add_ps(pr, ld(b_hh + j, k));
        pz = _mm512_add_ps(pz, ld(b_hh + H + j, k));
      }
      st(ar + j, k, sigmoid512(pr));
      st(ar + H + j, k, sigmoid512(pz));
    }
  }
  for (int64_t b = 0; b < M; ++b) {  // sweep 2: n, h (and the tape's W_hn h + b_hn)
    float* ar = a + b * lda;
    const float* ghr = gh + b * lda;
    for (int64_t j = 0; j < n; j += 16) {
      const __mmask16 k = tail_mask(n - j);
      __m512 px = ld(ar + 2 * H + j, k), nhv = ld(ghr + 2 * H + j, k);
      if (bias) px = _mm512_add_ps(px, ld(bias + 2 * H + j, k));
      if (b_hh) nhv = _mm512_add_ps(nhv, ld(b_hh + 2 * H + j, k));
      const __m512 r = ld(ar + j, k), z = ld(ar + H + j, k);
      const __m512 nv = tanh512(_mm512_fmadd_ps(r, nhv, px));
      st(ar + 2 * H + j, k, nv);
      st(nh + b * H + j, k, nhv);
      st(h + b * H + j, k, _mm512_fmadd_ps(z, _mm512_sub_ps(ld(hp + b * H + j, k), nv), nv));  // (1-z) n + z h_prev
    }
  }
}

// Equations: gru_backward in src/nn/cell_gru.cpp. dx, dg [3H]; dp [H] = dh ⊙ z.
void gru_backward_row(int64_t n, int64_t H, const float* a, const float* nh, const float* hp, const float* dh, float* dx,
                      float* dg, float* dp) {
  const float *ar = a, *az = a + H, *an = a + 2 * H;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 r = ld(ar + j, k), z = ld(az + j, k), n = ld(an + j, k), d = ld(dh + j, k);
    const __m512 dn = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(one(), z)), one_minus_sq(n));
    const __m512 dz = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(ld(hp + j, k), n)), sig_grad(z));
    const __m512 dr = _mm512_mul_ps(_mm512_mul_ps(dn, ld(nh + j, k)), sig_grad(r));
    st(dx + j, k, dr);
    st(dx + H + j, k, dz);
    st(dx + 2 * H + j, k, dn);
    st(dg + j, k, dr);
    st(dg + H + j, k, dz);
    st(dg + 2 * H + j, k, _mm512_mul_ps(dn, r));
    st(dp + j, k, _mm512_mul_ps(d, z));
  }
}

// Vanilla RNN: a [H] pre-activation in (bias [H] added first, or null), f(a) out; h [H] = f(a).
// f = tanh or relu. Equations: rnn_forward in src/nn/cell_rnn.cpp.
void rnn_forward_row(int64_t n, bool relu, float* a, const float* bias, float* h) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    __m512 p = ld(a + j, k);
    if (bias) p = _mm512_add_ps(p, ld(bias + j, k));
    const __m512 v = relu ? _mm512_max_ps(p, _mm512_setzero_ps()) : tanh512(p);
    st(a + j, k, v);
    st(h + j, k, v);
  }
}

// da = dh ⊙ f'(a): 1 - h² (tanh) or [h > 0] (relu). a holds the activations.
void rnn_backward_row(int64_t n, bool relu, const float* a, const float* dh, float* da) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 v = ld(a + j, k), d = ld(dh + j, k);
    const __m512 r = relu ? _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), d)
                          : _mm512_mul_ps(d, one_minus_sq(v));
    st(da + j, k, r);
  }
}

// Simplified GRU: a [2H] (u, c̃) pre-activations in (bias [2H] added first, or null), activations out;
// h = u ⊙ c̃ + (1-u) ⊙ h_prev. Equations: gru_simple_forward in src/nn/cell_gru.cpp.
void gru_simple_forward_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  float *au = a, *ac = a + H;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    __m512 pu = ld(au + j, k), pc = ld(ac + j, k);
    if (bias) {
      pu = _mm512_add_ps(pu, ld(bias + j, k));
      pc = _mm512_add_ps(pc, ld(bias + H + j, k));
    }
    const __m512 u = sigmoid512(pu), c = tanh512(pc), hprev = ld(hp + j, k);
    st(au + j, k, u);
    st(ac + j, k, c);
    st(h + j, k, _mm512_fmadd_ps(u, _mm512_sub_ps(c, hprev), hprev));  // u c̃ + (1-u) h_prev
  }
}

// du_ = dh ⊙ (c̃ - h_prev) u(1-u)   dc_ = dh ⊙ u (1-c̃²)   dp = dh ⊙ (1-u)
void gru_simple_backward_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                             float* dp) {
  const float *au = a, *ac = a + H;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 u = ld(au + j, k), c = ld(ac + j, k), d = ld(dh + j, k);
    st(da + j, k, _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(c, ld(hp + j, k))), sig_grad(u)));
    st(da + H + j, k, _mm512_mul_ps(_mm512_mul_ps(d, u), one_minus_sq(c)));
    st(dp + j, k, _mm512_mul_ps(d, _mm512_sub_ps(one(), u)));
  }
}

// GRU, Cho et al. 2014 (reset before the matmul), in two phases around the n-gate product.
// Equations: gru_cho_* in src/nn/cell_gru.cpp. Phase 1: r = σ(a_r + b_r), z = σ(a_z + b_z), rh = r ⊙ h_prev.
void gru_cho_gates_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* rh) {
  float *ar = a, *az = a + H;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    __m512 pr = ld(ar + j, k), pz = ld(az + j, k);
    if (bias) {
      pr = _mm512_add_ps(pr, ld(bias + j, k));
      pz = _mm512_add_ps(pz, ld(bias + H + j, k));
    }
    const __m512 r = sigmoid512(pr);
    st(ar + j, k, r);
    st(az + j, k, sigmoid512(pz));
    st(rh + j, k, _mm512_mul_ps(r, ld(hp + j, k)));
  }
}

// Phase 2: n = tanh(a_n + b_n) (a_n holds W_in x + W_hn rh), h = (1-z) ⊙ n + z ⊙ h_prev.
void gru_cho_state_row(int64_t n, int64_t H, float* a, const float* bias, const float* hp, float* h) {
  const float* az = a + H;
  float* an = a + 2 * H;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    __m512 pn = ld(an + j, k);
    if (bias) pn = _mm512_add_ps(pn, ld(bias + 2 * H + j, k));
    const __m512 nv = tanh512(pn), z = ld(az + j, k);
    st(an + j, k, nv);
    st(h + j, k, _mm512_fmadd_ps(z, _mm512_sub_ps(ld(hp + j, k), nv), nv));
  }
}

// dn_ = dh ⊙ (1-z)(1-n²)   dz_ = dh ⊙ (h_prev - n) z(1-z)   dp = dh ⊙ z
void gru_cho_backward_nz_row(int64_t n, int64_t H, const float* a, const float* hp, const float* dh, float* da,
                             float* dp) {
  const float *az = a + H, *an = a + 2 * H;
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 z = ld(az + j, k), nv = ld(an + j, k), d = ld(dh + j, k);
    st(da + H + j, k, _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(ld(hp + j, k), nv)), sig_grad(z)));
    st(da + 2 * H + j, k, _mm512_mul_ps(_mm512_mul_ps(d, _mm512_sub_ps(one(), z)), one_minus_sq(nv)));
    st(dp + j, k, _mm512_mul_ps(d, z));
  }
}

// dr_ = drh ⊙ h_prev ⊙ r(1-r);  dp += drh ⊙ r
void gru_cho_backward_r_row(int64_t n, const float* a, const float* hp, const float* drh, float* da, float* dp) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 r = ld(a + j, k), g = ld(drh + j, k);
    st(da + j, k, _mm512_mul_ps(_mm512_mul_ps(g, ld(hp + j, k)), sig_grad(r)));
    st(dp + j, k, _mm512_fmadd_ps(g, r, ld(dp + j, k)));
  }
}

}  // namespace recurrent::avx512
