// Layer-normalised cells (lstm_ln, gru_ln; Ba, Kiros & Hinton 2016; equations in docs/cells.md): one direction,
// forward and BPTT. Layer norm reduces across all G·H gate pre-activations of a row (and the H units of c_t),
// which a block of P units cannot see, so these fused loops give each thread its own batch rows through
// every block of every step (as the one-phase cells' rows split, rnn_fused_forward.cpp): no barrier inside
// the loop, forward or backward. Per step and row:
//   forward   nh = LN(h_{t-1} W_hhᵀ) (the target's panels, all G·H columns) → the cell's gate pass on the
//             target's SIMD rows (a = γ_x nx + γ_h nh + b; GRU: the h side γ_h nh apart, as its gh) →
//             LSTM: h_t = o ⊙ tanh(γ_c ĉ_t + β_c), ĉ_t = LN(c_t); zoneout, recurrent dropout's copy
//   backward  the gate backward (LSTM: through the c-norm) → dA (x side), dGh = LN'ᵀ(γ_h ⊙ dA) (h side),
//             dh_{t-1} = dGh · W_hh (+ the elementwise part), rows only
// The x side, LN(X W_ihᵀ) for all steps, is normalised before the loop and differentiated after it.
// Contracts: ln_forward / ln_backward in rnn_direction.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "nn/cell.h"
#include "nn/rnn_fused.h"
#include "recurrent/core/error.h"
#include "recurrent/kernels/activations.h"
#include "recurrent/kernels/gemm.h"

namespace recurrent::rnn {

extern const Cell kLstm, kGru;  // the gate passes LN cells run on (cell_lstm.cpp, cell_gru.cpp)

namespace {
using fused::blocks;
constexpr double kLnEps = 1e-5;  // inside the square root, as torch.nn.LayerNorm

// Σ v[j] (and Σ v[j]·w[j]) in 8 float partial sums (vectorised; n ≤ a few thousand, so ~1e-7 relative; double
// sums did not move the PyTorch parity of the layer-norm LSTM, which float32 itself limits: test_rnn_regularisers_pytorch.cpp).
inline float sum8(const float* v, int64_t n) {
  float p[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int q = 0; q < 8; ++q) p[q] += v[j + q];
  float s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  for (; j < n; ++j) s += v[j];
  return s;
}
inline float dot8(const float* v, const float* w, int64_t n) {
  float p[8] = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int q = 0; q < 8; ++q) p[q] += v[j + q] * w[j + q];
  float s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  for (; j < n; ++j) s += v[j] * w[j];
  return s;
}

// v[n] ← (v − μ) / σ, σ = √(var + ε) (biased variance); returns 1/σ, μ into *mu.
float normalise(float* v, int64_t n, float* mu = nullptr) {
  const float m = sum8(v, n) / static_cast<float>(n);
  for (int64_t j = 0; j < n; ++j) v[j] -= m;
  const float isd = 1.0f / std::sqrt(dot8(v, v, n) / static_cast<float>(n) + static_cast<float>(kLnEps));
  for (int64_t j = 0; j < n; ++j) v[j] *= isd;
  if (mu) *mu = m;
  return isd;
}

// Backward of y = γ ⊙ n, n = LN(v): dv[n] = isd·(dn − mean(dn) − n·mean(dn ⊙ n)), dn = γ ⊙ dy. dy and dv
// may be the same buffer; dgamma (or null) += dy ⊙ n.
// dgamma (or null) += dy ⊙ n; tmp: scratch [n].
void ln_backward_row(int64_t n, const float* dy, const float* nrm, const float* gamma, float isd, float* dv,
                     float* dgamma, float* tmp) {
  for (int64_t j = 0; j < n; ++j) tmp[j] = dy[j] * gamma[j];
  if (dgamma)
    for (int64_t j = 0; j < n; ++j) dgamma[j] += dy[j] * nrm[j];
  const float m1 = sum8(tmp, n) / static_cast<float>(n), m2 = dot8(tmp, nrm, n) / static_cast<float>(n);
  for (int64_t j = 0; j < n; ++j) dv[j] = isd * (tmp[j] - m1 - nrm[j] * m2);
}

// out[j] += Σ_rows m[row, j] (double), threads over column blocks (the same order on any thread count).
void colsum(int64_t rows, int64_t cols, const float* m, float* out) {
  constexpr int64_t kCols = 256;
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 20))
  for (int64_t j0 = 0; j0 < cols; j0 += kCols) {
    const int64_t nj = std::min(kCols, cols - j0);
    double acc[kCols] = {};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < nj; ++j) acc[j] += m[r * cols + j0 + j];
    for (int64_t j = 0; j < nj; ++j) out[j0 + j] += static_cast<float>(acc[j]);
  }
}

// Stats kept per row and step (tape.ln_stats [T, B, 4]).
enum Stat { kIsdX = 0, kIsdH = 1, kMuC = 2, kIsdC = 3 };

struct LnLoop {
  const DirShape& s;
  const DirParams& p;
  const simd::RnnKernels& k;
  bool lstm;
  const uint8_t* valid_all;
  float *A, *NH, *ST, *HS, *CS, *EX, *HD, *GHB;  // tape buffers (DirTape), GHB: GRU's γ_h ⊙ nh [B, GH]
  float* y;
  int64_t ldy;
  bool accumulate;
  float* bias;      // LSTM: b_ih + b_hh; GRU: b_ih (b_hh goes inside r ⊙ (…), added by the GRU rows)
  float* wf;        // forward panels [nb·G, R, P]
  float* wb;        // backward panels [nr, G·H, P]
  int64_t P() const { return k.panel; }
  int64_t slot_prev(int64_t t) const { return t + (s.reverse ? 1 : 0); }
  int64_t slot_new(int64_t t) const { return t + (s.reverse ? 0 : 1); }
};

// Zoneout and recurrent dropout's copy on row b of time t (rnn_fused_forward.cpp's regularise_rows, one row).
void regularise_row(const LnLoop& L, int64_t t, int64_t b) {
  const int64_t B = L.s.B, H = L.s.H;
  float* hn = L.HS + L.slot_new(t) * B * H + b * H;
  const float* hp = L.HS + L.slot_prev(t) * B * H + b * H;
  float* cn = L.CS ? L.CS + L.slot_new(t) * B * H + b * H : nullptr;
  const float* cp = L.CS ? L.CS + L.slot_prev(t) * B * H + b * H : nullptr;
  if (L.p.zoneout > 0.0f) {
    const float q = L.p.zoneout;
    const uint8_t* z = L.p.zmask ? L.p.zmask + (t * B + b) * H : nullptr;
    for (int64_t j = 0; j < H; ++j) {
      hn[j] = z ? (z[j] ? hp[j] : hn[j]) : q * hp[j] + (1.0f - q) * hn[j];
      if (cn) cn[j] = z ? (z[j] ? cp[j] : cn[j]) : q * cp[j] + (1.0f - q) * cn[j];
    }
  }
  if (L.HD) {
    float* hd = L.HD + L.slot_new(t) * B * H + b * H;
    for (int64_t j = 0; j < H; ++j) hd[j] = hn[j] * L.p.rmask[b * H + j];
  }
}

// LSTM: h_t = o ⊙ tanh(γ_c ĉ + β_c), ĉ = LN(c_t) (c_t itself stays the carried state); chat: the tape's ĉ row
// [H] (kept, not recomputed from c_t in backward: zoneout may replace c_t, but ĉ couples every unit's c̃_t).
void lstm_ln_output(const LnLoop& L, int64_t H, const float* a, const float* c, float* h, float* st, float* chat) {
  std::memcpy(chat, c, H * sizeof(float));
  st[kIsdC] = normalise(chat, H, &st[kMuC]);
  for (int64_t j = 0; j < H; ++j) h[j] = a[3 * H + j] * tanh_scalar(L.p.ln_c[j] * chat[j] + L.p.ln_cb[j]);
}

// Step t on rows [r0, r1).
void ln_forward_step(const LnLoop& L, int64_t t, int64_t r0, int64_t r1) {
  const DirShape& s = L.s;
  const int64_t B = s.B, H = s.H, G = s.G(), GH = G * H, P = L.P(), M = r1 - r0;
  const float* hin = (L.HD ? L.HD : L.HS) + L.slot_prev(t) * B * H;  // what W_hh multiplies
  float* nh = L.NH + t * B * GH;
  for (int64_t jb = 0; jb < blocks(H, P); ++jb) {
    const int64_t j0 = jb * P, nj = std::min(P, H - j0);
    for (int64_t g = 0; g < G; ++g)
      L.k.panel_gemm(M, H, hin + r0 * H, H, L.wf + (jb * G + g) * H * P, nj, nh + r0 * GH + g * H + j0, GH, false);
  }
  float* at = L.A + t * B * GH;
  const float* hp = L.HS + L.slot_prev(t) * B * H;
  float* hn = L.HS + L.slot_new(t) * B * H;
  const float* cp = L.CS ? L.CS + L.slot_prev(t) * B * H : nullptr;
  float* cn = L.CS ? L.CS + L.slot_new(t) * B * H : nullptr;
  const uint8_t* valid = L.valid_all ? L.valid_all + t * B : nullptr;
  for (int64_t b = r0; b < r1; ++b) {
    float* st = L.ST + (t * B + b) * 4;
    if (valid && !valid[b]) {  // padded: state carried, nothing for backward
      std::memcpy(hn + b * H, hp + b * H, H * sizeof(float));
      if (cn) std::memcpy(cn + b * H, cp + b * H, H * sizeof(float));
      if (L.HD) std::memcpy(L.HD + L.slot_new(t) * B * H + b * H, hin + b * H, H * sizeof(float));
      continue;
    }
    float* nr = nh + b * GH;
    st[kIsdH] = normalise(nr, GH);
    float* ar = at + b * GH;
    const FwdRows row{.M = 1, .n = H, .H = H, .a = ar, .lda = GH, .gh = nullptr, .folded = false, .bias = L.bias,
                      .b_hh = nullptr, .peep = nullptr, .hp = hp + b * H, .h = hn + b * H,
                      .cp = cp ? cp + b * H : nullptr, .c = cn ? cn + b * H : nullptr,
                      .ex = L.EX && !L.lstm ? L.EX + (t * B + b) * H : nullptr};
    if (L.lstm) {
      for (int64_t j = 0; j < GH; ++j) ar[j] += L.p.ln_hh[j] * nr[j];
      kLstm.forward(&L.k, row);
      lstm_ln_output(L, H, ar, cn + b * H, hn + b * H, st, L.EX + (t * B + b) * H);
    } else {
      float* gh = L.GHB + b * GH;
      for (int64_t j = 0; j < GH; ++j) gh[j] = L.p.ln_hh[j] * nr[j];
      FwdRows gr = row;
      gr.gh = gh;
      gr.b_hh = L.p.b_hh;
      kGru.forward(&L.k, gr);
    }
    regularise_row(L, t, b);
  }
  for (int64_t b = r0; b < r1; ++b) {  // y_t
    float* yr = L.y + (t * B + b) * L.ldy;
    const bool ok = !valid || valid[b];
    if (L.accumulate) {
      if (ok)
        for (int64_t j = 0; j < H; ++j) yr[j] += hn[b * H + j];
    } else if (ok) {
      std::memcpy(yr, hn + b * H, H * sizeof(float));
    } else {
      std::memset(yr, 0, H * sizeof(float));
    }
  }
}

// Thread tid's rows of B (all of them once the team went solo, none for the others).
void my_rows(StepTeam& team, int tid, int64_t B, int64_t& r0, int64_t& r1) {
  r0 = 0;
  r1 = team.solo() ? (tid == 0 ? B : 0) : B;
  if (!team.solo()) fused::row_span(B, tid, team.size(), r0, r1);
}

// Per-thread sums of backward (summed over the team in thread order after the loop).
struct LnAcc {
  std::vector<double> b_hh, ln_c, ln_cb;     // GRU [GH], LSTM [H], [H]
  std::vector<float> ln_hh, ln_c_step, ln_cb_step;  // one step's rows in float, added into the double sums per step
  std::vector<double> ln_hh_sum;             // [GH]
};

// LSTM-LN backward of one valid row (a = activations in, dA out; dm = dL/dh_t; dc = dL/dc_t in, dL/dc_{t-1} out).
void lstm_ln_backward_row(const LnLoop& L, int64_t H, float* a, const float* nc, const float* cp, const float* st,
                          const float* dm, float* dc, float* tmp, LnAcc& acc) {
  const float isd = st[kIsdC];
  float* gc = acc.ln_c_step.data();
  float* gb = acc.ln_cb_step.data();
  for (int64_t j = 0; j < H; ++j) {  // no reduction in this loop: it vectorises
    const float chat = nc[j], tc = tanh_scalar(L.p.ln_c[j] * chat + L.p.ln_cb[j]), o = a[3 * H + j];
    const float dcn = dm[j] * o * (1.0f - tc * tc);
    a[3 * H + j] = dm[j] * tc * o * (1.0f - o);  // d_o (o read above)
    gc[j] += dcn * chat;
    gb[j] += dcn;
    tmp[j] = dcn * L.p.ln_c[j];  // dĉ
  }
  const float m1 = sum8(tmp, H) / static_cast<float>(H), m2 = dot8(tmp, nc, H) / static_cast<float>(H);
  for (int64_t j = 0; j < H; ++j) {
    const float chat = nc[j];
    const float dct = dc[j] + isd * (tmp[j] - m1 - chat * m2);
    const float i = a[j], f = a[H + j], g = a[2 * H + j];
    a[j] = dct * g * i * (1.0f - i);
    a[H + j] = dct * cp[j] * f * (1.0f - f);
    a[2 * H + j] = dct * i * (1.0f - g * g);
    dc[j] = dct * f;
  }
}

// BPTT step t on rows [r0, r1): dh [B, H] dL/dh_t in (consumed), dhp [B, H] out: dL/dh_{t-1}.
void ln_backward_step(const LnLoop& L, const float* dy, int64_t t, int64_t r0, int64_t r1, float* dh, float* dhp,
                      float* dc, float* dGh, float* tmp, std::vector<float>& scratch, LnAcc& acc) {
  const DirShape& s = L.s;
  const int64_t B = s.B, H = s.H, GH = s.G() * H, P = L.P();
  const uint8_t* valid = L.valid_all ? L.valid_all + t * B : nullptr;
  float* dat = L.A + t * B * GH;  // activations in, dA out
  float* dgt = dGh + t * B * GH;
  const float* cp = L.CS ? L.CS + L.slot_prev(t) * B * H : nullptr;
  for (int64_t b = r0; b < r1; ++b) {
    float* dhb = dh + b * H;
    float* dpb = dhp + b * H;
    float* dab = dat + b * GH;
    float* dgb = dgt + b * GH;
    float* dcb = dc ? dc + b * H : nullptr;
    if (valid && !valid[b]) {  // padded: no gate gradient, dh and dc pass through
      std::memset(dab, 0, GH * sizeof(float));
      std::memset(dgb, 0, GH * sizeof(float));
      std::memcpy(dpb, dhb, H * sizeof(float));
      continue;
    }
    if (dy)
      for (int64_t j = 0; j < H; ++j) dhb[j] += dy[(t * B + b) * L.ldy + j];
    const uint8_t* z = L.p.zmask ? L.p.zmask + (t * B + b) * H : nullptr;
    std::vector<float>& zz = scratch;  // [2H] zoneout's pass-through parts (then B·P for dropout, below)
    if (z)
      for (int64_t j = 0; j < H; ++j) {
        zz[j] = z[j] ? dhb[j] : 0.0f, dhb[j] = z[j] ? 0.0f : dhb[j];
        if (dcb) zz[H + j] = z[j] ? dcb[j] : 0.0f, dcb[j] = z[j] ? 0.0f : dcb[j];
      }
    const float* st = L.ST + (t * B + b) * 4;
    const float* nr = L.NH + (t * B + b) * GH;
    if (L.lstm) {
      lstm_ln_backward_row(L, H, dab, L.EX + (t * B + b) * H, cp + b * H, st, dhb, dcb, tmp, acc);
      std::memset(dpb, 0, H * sizeof(float));
      ln_backward_row(GH, dab, nr, L.p.ln_hh, st[kIsdH], dgb, acc.ln_hh.data(), tmp);
    } else {
      kGru.backward(&L.k, {.n = H, .H = H, .a = dab, .da = dab, .dgh = dgb,
                           .hp = L.HS + L.slot_prev(t) * B * H + b * H, .cp = nullptr, .c = nullptr,
                           .ex = L.EX + (t * B + b) * H, .dh = dhb, .dc = nullptr, .dhp = dpb, .peep = nullptr,
                           .dpeep = nullptr, .dex = nullptr});
      for (int64_t j = 0; j < GH; ++j) acc.b_hh[j] += dgb[j];
      ln_backward_row(GH, dgb, nr, L.p.ln_hh, st[kIsdH], dgb, acc.ln_hh.data(), tmp);
    }
    if (z)
      for (int64_t j = 0; j < H; ++j) {
        dpb[j] += zz[j];
        if (dcb) dcb[j] += zz[H + j];
      }
  }
  for (int64_t j = 0; j < GH; ++j) acc.ln_hh_sum[j] += acc.ln_hh[j], acc.ln_hh[j] = 0.0f;
  for (size_t j = 0; j < acc.ln_c_step.size(); ++j) {
    acc.ln_c[j] += acc.ln_c_step[j], acc.ln_cb[j] += acc.ln_cb_step[j];
    acc.ln_c_step[j] = acc.ln_cb_step[j] = 0.0f;
  }
  const int64_t M = r1 - r0;  // dh_{t-1}[rows] += (dGh · W_hh)[rows] (⊙ rmask)
  for (int64_t jb = 0; jb < blocks(H, P); ++jb) {
    const int64_t j0 = jb * P, nj = std::min(P, H - j0);
    const float* panel = L.wb + jb * GH * P;
    if (!L.p.rmask) {
      L.k.panel_gemm(M, GH, dgt + r0 * GH, GH, panel, nj, dhp + r0 * H + j0, H, true);
      continue;
    }
    L.k.panel_gemm(M, GH, dgt + r0 * GH, GH, panel, nj, scratch.data(), P, false);
    for (int64_t b = r0; b < r1; ++b)
      for (int64_t j = 0; j < nj; ++j)
        dhp[b * H + j0 + j] += scratch[(b - r0) * P + j] * L.p.rmask[b * H + j0 + j];
  }
}

}  // namespace

void ln_forward(const DirShape& s, const DirParams& p, const float* x, const uint8_t* valid_all, const float* h0,
                const float* c0, float* y, int64_t ldy, bool accumulate, float* h_n, float* c_n, DirTape& tape) {
  const int64_t T = s.T, B = s.B, H = s.H, I = s.I, GH = s.G() * H;
  const bool lstm = cell_of(s.cell).cell_state;
  RC_CHECK(fused_supported(s), "--cell", cell_name(s.cell),
           " runs in the fused loops only, which are off here (RECURRENT_RNN_FUSED=0 or the gradient lab's per-step norms)");
  RC_CHECK(s.precision == Precision::fp32, "precision", cell_name(s.cell), " runs in fp32 only");
  RC_CHECK(s.R == H && p.ln_ih && p.ln_hh && (!lstm || (p.ln_c && p.ln_cb)), "ln_forward", "layer-norm parameters missing");
  const simd::RnnKernels& k = fused::kernels(s);
  const int64_t P = k.panel, nb = blocks(H, P);
  tape.a = Tensor::uninitialized({T, B, GH});
  tape.nx = Tensor::uninitialized({T, B, GH});
  tape.nh = Tensor::uninitialized({T, B, GH});
  tape.ln_stats = Tensor({T, B, 4});
  tape.hs = Tensor::uninitialized({T + 1, B, H});
  if (lstm) tape.cs = Tensor::uninitialized({T + 1, B, H});
  tape.extra = lstm ? Tensor::uninitialized({T, B, H}) : Tensor({T, B, H});  // LSTM: ĉ_t = LN(c_t); GRU: its W_hn h side
  if (p.rmask) tape.hd = Tensor::uninitialized({T + 1, B, H});
  float *A = tape.a.data(), *NX = tape.nx.data(), *ST = tape.ln_stats.data();
  gemm(Trans::N, Trans::T, T * B, GH, I, 1.0f, x, I, p.w_ih, I, 0.0f, A, GH);  // A = X W_ihᵀ
#pragma omp parallel for schedule(static) if (T * B * GH >= (1 << 16))
  for (int64_t r = 0; r < T * B; ++r) {  // NX = LN(A), A ← γ_x ⊙ NX
    float* ar = A + r * GH;
    float* nr = NX + r * GH;
    const float m = sum8(ar, GH) / static_cast<float>(GH);
    for (int64_t j = 0; j < GH; ++j) nr[j] = ar[j] - m;
    const float isd = 1.0f / std::sqrt(dot8(nr, nr, GH) / static_cast<float>(GH) + static_cast<float>(kLnEps));
    ST[r * 4 + kIsdX] = isd;
    for (int64_t j = 0; j < GH; ++j) {
      nr[j] *= isd;
      ar[j] = p.ln_ih[j] * nr[j];
    }
  }
  const int64_t h0slot = s.reverse ? T : 0;
  float* HS = tape.hs.data();
  for (int64_t i = 0; i < B * H; ++i) HS[h0slot * B * H + i] = h0 ? h0[i] : 0.0f;
  if (lstm)
    for (int64_t i = 0; i < B * H; ++i) tape.cs.data()[h0slot * B * H + i] = c0 ? c0[i] : 0.0f;
  if (p.rmask)
    for (int64_t i = 0; i < B * H; ++i) tape.hd.data()[h0slot * B * H + i] = HS[h0slot * B * H + i] * p.rmask[i];
  std::vector<float> bias(GH, 0.0f);
  for (int64_t j = 0; j < GH; ++j) bias[j] = (p.b_ih ? p.b_ih[j] : 0.0f) + (lstm && p.b_hh ? p.b_hh[j] : 0.0f);
  Tensor wf = Tensor::uninitialized({nb * s.G(), H, P});
  Tensor ghb = lstm ? Tensor() : Tensor::uninitialized({B, GH});
  const LnLoop L{.s = s, .p = p, .k = k, .lstm = lstm, .valid_all = valid_all, .A = A, .NH = tape.nh.data(), .ST = ST,
                 .HS = HS, .CS = lstm ? tape.cs.data() : nullptr, .EX = tape.extra.data(),
                 .HD = p.rmask ? tape.hd.data() : nullptr, .GHB = lstm ? nullptr : ghb.data(), .y = y, .ldy = ldy,
                 .accumulate = accumulate, .bias = bias.data(), .wf = wf.data(), .wb = nullptr};
  const double step_work = static_cast<double>(B) * static_cast<double>(GH) * static_cast<double>(H);  // multiply-adds
  fused::run_team(B >= 16 ? nb : 1, step_work, [&](StepTeam& team, int tid) {
    int64_t b0, b1;
    team.span(tid, nb, b0, b1);
    fused::pack_forward_panels(k, p.w_hh, s.G(), H, H, b0, b1, L.wf);
    team.sync(tid);
    int64_t r0, r1;
    my_rows(team, tid, B, r0, r1);
    for (int64_t step = 0; r0 < r1 && step < T; ++step) ln_forward_step(L, s.reverse ? T - 1 - step : step, r0, r1);
    if (!team.solo()) team.sync(tid);
    team.finish(tid);
  });
  const int64_t last = s.reverse ? 0 : T;
  if (h_n) std::memcpy(h_n, HS + last * B * H, B * H * sizeof(float));
  if (c_n && lstm) std::memcpy(c_n, tape.cs.data() + last * B * H, B * H * sizeof(float));
  if (valid_all) tape.valid.assign(valid_all, valid_all + T * B);
}

void ln_backward(const DirShape& s, const DirParams& p, const float* x, DirTape& tape, const float* dy, int64_t ldy,
                 const float* dh_n, const float* dc_n, float* dx, float* dh0, float* dc0, const DirGrads& g) {
  const int64_t T = s.T, B = s.B, H = s.H, I = s.I, G = s.G(), GH = G * H;
  const bool lstm = cell_of(s.cell).cell_state;
  RC_CHECK(fused_supported(s) && !g.dh_norm && !g.dc_norm, "--cell", cell_name(s.cell),
           " runs in the fused loops only, which are off here (RECURRENT_RNN_FUSED=0 or the gradient lab's per-step norms)");
  RC_CHECK(p.zoneout == 0.0f || p.zmask, "--zoneout",
           "backward through an evaluation-mode forward with zoneout (its expectation) is not supported; "
           "train in training mode");
  const simd::RnnKernels& k = fused::kernels(s);
  const int64_t P = k.panel, nb = blocks(H, P);
  Tensor dh({B, H}), dhp({B, H}), dc = lstm ? Tensor({B, H}) : Tensor();
  if (dh_n) std::memcpy(dh.data(), dh_n, B * H * sizeof(float));
  if (lstm && dc_n) std::memcpy(dc.data(), dc_n, B * H * sizeof(float));
  Tensor dGh = Tensor::uninitialized({T, B, GH});
  Tensor wb = Tensor::uninitialized({nb, GH, P});
  const LnLoop L{.s = s, .p = p, .k = k, .lstm = lstm, .valid_all = tape.valid.empty() ? nullptr : tape.valid.data(),
                 .A = tape.a.data(), .NH = tape.nh.data(), .ST = tape.ln_stats.data(), .HS = tape.hs.data(),
                 .CS = lstm ? tape.cs.data() : nullptr, .EX = tape.extra.data(),
                 .HD = tape.hd.defined() ? tape.hd.data() : nullptr, .GHB = nullptr, .y = nullptr, .ldy = ldy,
                 .accumulate = false, .bias = nullptr, .wf = nullptr, .wb = wb.data()};
  std::vector<LnAcc> accs(StepTeam::kMaxThreads);
  const double step_work = 2.0 * static_cast<double>(B) * static_cast<double>(GH) * static_cast<double>(H);
  fused::run_team(B >= 16 ? nb : 1, step_work, [&](StepTeam& team, int tid) {
    int64_t b0, b1;
    team.span(tid, nb, b0, b1);
    fused::pack_backward_panels(P, p.w_hh, GH, H, b0, b1, L.wb);
    LnAcc& acc = accs[tid];
    acc.ln_hh.assign(GH, 0.0f);
    acc.ln_hh_sum.assign(GH, 0.0);
    acc.b_hh.assign(lstm ? 0 : GH, 0.0);
    acc.ln_c.assign(lstm ? H : 0, 0.0);
    acc.ln_cb.assign(lstm ? H : 0, 0.0);
    acc.ln_c_step.assign(lstm ? H : 0, 0.0f);
    acc.ln_cb_step.assign(lstm ? H : 0, 0.0f);
    std::vector<float> tmp(GH), scratch(std::max(2 * H, B * P));
    team.sync(tid);
    int64_t r0, r1;
    my_rows(team, tid, B, r0, r1);
    float *dhv = dh.data(), *dhpv = dhp.data();
    for (int64_t step = T - 1; r0 < r1 && step >= 0; --step) {
      ln_backward_step(L, dy, s.reverse ? T - 1 - step : step, r0, r1, dhv, dhpv, lstm ? dc.data() : nullptr,
                       dGh.data(), tmp.data(), scratch, acc);
      std::swap(dhv, dhpv);
    }
    if (!team.solo()) team.sync(tid);
    team.finish(tid);
  });
  const float* dh_final = T % 2 ? dhp.data() : dh.data();
  if (dh0) std::memcpy(dh0, dh_final, B * H * sizeof(float));
  if (dc0 && lstm) std::memcpy(dc0, dc.data(), B * H * sizeof(float));
  const auto flush = [&](std::vector<double> LnAcc::*f, float* out, int64_t n) {
    for (const LnAcc& a : accs)
      for (int64_t j = 0; out && j < static_cast<int64_t>((a.*f).size()) && j < n; ++j) out[j] += static_cast<float>((a.*f)[j]);
  };
  flush(&LnAcc::ln_hh_sum, g.ln_hh, GH);
  flush(&LnAcc::ln_c, g.ln_c, H);
  flush(&LnAcc::ln_cb, g.ln_cb, H);
  float* dA = tape.a.data();
  // b_ih (and the LSTM's b_hh) see the gate gradients before the x norm
  if (g.b_ih || (lstm && g.b_hh)) {
    std::vector<float> db(GH, 0.0f);
    colsum(T * B, GH, dA, db.data());
    for (int64_t j = 0; j < GH; ++j) {
      if (g.b_ih) g.b_ih[j] += db[j];
      if (lstm && g.b_hh) g.b_hh[j] += db[j];
    }
  }
  if (!lstm) flush(&LnAcc::b_hh, g.b_hh, GH);
  float *NX = tape.nx.data(), *ST = tape.ln_stats.data();
#pragma omp parallel
  {
    std::vector<float> tmp(GH);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < T * B; ++r) {  // dA ← LN_x'(γ_x ⊙ dA); NX ← dA ⊙ NX for γ_x's gradient
      float* da = dA + r * GH;
      float* nx = NX + r * GH;
      const float isd = ST[r * 4 + kIsdX];
      for (int64_t j = 0; j < GH; ++j) tmp[j] = da[j] * p.ln_ih[j];
      const float m1 = sum8(tmp.data(), GH) / static_cast<float>(GH), m2 = dot8(tmp.data(), nx, GH) / static_cast<float>(GH);
      for (int64_t j = 0; j < GH; ++j) {
        const float n = nx[j];
        nx[j] = da[j] * n;
        da[j] = isd * (tmp[j] - m1 - n * m2);
      }
    }
  }
  if (g.ln_ih) colsum(T * B, GH, NX, g.ln_ih);
  if (dx) gemm(Trans::N, Trans::N, T * B, I, GH, 1.0f, dA, GH, p.w_ih, I, 1.0f, dx, I);
  if (g.w_ih) gemm(Trans::T, Trans::N, GH, I, T * B, 1.0f, dA, GH, x, I, 1.0f, g.w_ih, I);
  const float* hprev = (tape.hd.defined() ? tape.hd : tape.hs).data() + (s.reverse ? 1 : 0) * B * H;
  if (g.w_hh) gemm(Trans::T, Trans::N, GH, H, T * B, 1.0f, dGh.data(), GH, hprev, H, 1.0f, g.w_hh, H);
}

}  // namespace recurrent::rnn
