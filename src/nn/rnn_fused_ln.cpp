// Layer-normalised cells (lstm_ln, gru_ln; Ba, Kiros & Hinton 2016; equations in docs/cells.md): one direction,
// forward and BPTT. Layer norm reduces across all G·H gate pre-activations of a row (and the H units of c_t),
// which a block of P units cannot see, so these fused loops give each thread its own batch rows through
// every block of every step (as the one-phase cells' rows split, rnn_fused_forward.cpp): no barrier inside
// the loop, forward or backward. Per step and row:
//   lstm_ln   forward: the target's panel products h_{t-1} W_hhᵀ (all G·H columns of the thread's rows), then
//             ONE kernel (cells/lstm_ln-inl.h): both norms' statistics in one pass, the gates, c_t and its
//             statistics in the next, ĉ_t and h_t in a third; the x product X W_ihᵀ comes from one GEMM before
//             the loop and is normalised inside the step. The tape keeps the norms in place of the products (A,
//             NH), not the gates. Backward: ONE kernel per row recomputing the gates, then through the output,
//             the c-norm, the gates and both norms (dA: the x side over A, dGh: the h side over NH) that also adds
//             every parameter's sums (biases, the three gains, β_c) into per-thread accumulators, then
//             dh_{t-1} = dGh · W_hh on the same rows. After the loop only GEMMs remain (dX, dW_ih, dW_hh).
//   gru_ln    forward: nh = LN(h_{t-1} W_hhᵀ) → the GRU's SIMD gate rows (the h side γ_h nh apart, as its gh);
//             the x side is normalised for all steps before the loop and differentiated after it.
//   both      zoneout and recurrent dropout's copy after the row's cell.
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

extern const Cell kGru;  // the gate pass gru_ln runs on (cell_gru.cpp; lstm_ln: its own kernel, cells/lstm_ln-inl.h)

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
  float *A, *NX, *NH, *ST, *HS, *CS, *EX, *HD, *GHB;  // tape buffers (DirTape), GHB: GRU's γ_h ⊙ nh [B, GH]
  float* y;
  int64_t ldy;
  bool accumulate;
  const float* bias;  // gate_bias: LSTM b_ih + b_hh; GRU b_ih
  float* wf;        // forward panels [nb·G, R, P]
  float* wb;        // backward panels [nr, G·H, P]
  int64_t P() const { return k.panel; }
  int64_t slot_prev(int64_t t) const { return t + (s.reverse ? 1 : 0); }
  int64_t slot_new(int64_t t) const { return t + (s.reverse ? 0 : 1); }
};

// Zoneout and recurrent dropout's copy on row b of time t (rnn_fused_forward.cpp's regularise_rows, one row).
void regularise_row(const LnLoop& L, int64_t t, int64_t b) {
  const int64_t B = L.s.B, H = L.s.H, o = b * H;
  if (L.p.zoneout <= 0.0f && !L.HD) return;
  L.k.zoneout_rows({.M = 1, .n = H, .ld = H, .zoneout = L.p.zoneout > 0.0f,
                    .z = L.p.zmask ? L.p.zmask + (t * B + b) * H : nullptr, .ldz = H, .q = L.p.zoneout,
                    .hp = L.HS + L.slot_prev(t) * B * H + o, .h = L.HS + L.slot_new(t) * B * H + o,
                    .cp = L.CS ? L.CS + L.slot_prev(t) * B * H + o : nullptr,
                    .c = L.CS ? L.CS + L.slot_new(t) * B * H + o : nullptr, .rm = L.HD ? L.p.rmask + o : nullptr,
                    .hd = L.HD ? L.HD + L.slot_new(t) * B * H + o : nullptr});
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
    float* ar = at + b * GH;
    if (L.lstm) {  // both norms, the gates, c_t, its norm and h_t in one kernel (cells/lstm_ln-inl.h)
      L.k.lstm_ln_forward_row({.H = H, .x = ar, .nh = nr, .gx = L.p.ln_ih,
                               .gh = L.p.ln_hh, .bias = L.bias, .cp = cp + b * H, .c = cn + b * H,
                               .chat = L.EX + (t * B + b) * H, .h = hn + b * H, .gc = L.p.ln_c, .bc = L.p.ln_cb,
                               .st = st});
    } else {
      st[kIsdH] = normalise(nr, GH);
      float* gh = L.GHB + b * GH;
      for (int64_t j = 0; j < GH; ++j) gh[j] = L.p.ln_hh[j] * nr[j];
      kGru.forward(&L.k, {.M = 1, .n = H, .H = H, .a = ar, .lda = GH, .gh = gh, .folded = false, .bias = L.bias,
                          .b_hh = L.p.b_hh, .peep = nullptr, .hp = hp + b * H, .h = hn + b * H, .cp = nullptr,
                          .c = nullptr, .ex = L.EX + (t * B + b) * H});
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

// Per-thread sums of backward (summed over the team in thread order after the loop): one step's rows in
// float (step), added into double sums (sum) after every step. Layout: LSTM Σ da (the biases), Σ da ⊙ nx (γ_x),
// Σ da ⊙ nh (γ_h) [GH] each, then γ_c's and β_c's [H] each; GRU Σ dgh ⊙ nh (γ_h) [GH] only.
struct LnAcc {
  std::vector<double> b_hh;  // GRU [GH]
  std::vector<float> step;
  std::vector<double> sum;
  void flush_step() {
    for (size_t j = 0; j < step.size(); ++j) sum[j] += step[j], step[j] = 0.0f;
  }
};
enum AccAt { kAccDb = 0, kAccDgx = 1, kAccDgh = 2, kAccC = 3 };  // LSTM offsets in units of GH (kAccC: then dbc at +H)

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
    if (z) L.k.zoneout_split_row(H, z, dhb, dcb, zz.data(), zz.data() + H);
    const float* st = L.ST + (t * B + b) * 4;
    const float* nr = L.NH + (t * B + b) * GH;
    if (L.lstm) {
      float* ac = acc.step.data();
      L.k.lstm_ln_backward_row({.H = H, .nx = dab, .nh = dgb, .gx = L.p.ln_ih, .gh = L.p.ln_hh, .bias = L.bias,
                                .chat = L.EX + (t * B + b) * H, .cp = cp + b * H, .gc = L.p.ln_c,
                                .bc = L.p.ln_cb, .st = st, .dm = dhb, .dc = dcb, .scratch = tmp, .db = ac + kAccDb * GH,
                                .dgx = ac + kAccDgx * GH, .dgg = ac + kAccDgh * GH, .dgc = ac + kAccC * GH,
                                .dbc = ac + kAccC * GH + H});
      std::memset(dpb, 0, H * sizeof(float));
    } else {
      kGru.backward(&L.k, {.n = H, .H = H, .a = dab, .da = dab, .dgh = dgb,
                           .hp = L.HS + L.slot_prev(t) * B * H + b * H, .cp = nullptr, .c = nullptr,
                           .ex = L.EX + (t * B + b) * H, .dh = dhb, .dc = nullptr, .dhp = dpb, .peep = nullptr,
                           .dpeep = nullptr, .dex = nullptr});
      for (int64_t j = 0; j < GH; ++j) acc.b_hh[j] += dgb[j];
      ln_backward_row(GH, dgb, nr, L.p.ln_hh, st[kIsdH], dgb, acc.step.data(), tmp);
    }
    if (z) L.k.zoneout_merge_row(H, zz.data(), dpb, zz.data() + H, dcb);
  }
  acc.flush_step();
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

// The biases the gate pass adds: LSTM b_ih + b_hh; GRU b_ih (its b_hh goes inside r ⊙ (…), added by the GRU rows).
std::vector<float> gate_bias(const DirParams& p, int64_t GH, bool lstm) {
  std::vector<float> bias(GH, 0.0f);
  for (int64_t j = 0; j < GH; ++j) bias[j] = (p.b_ih ? p.b_ih[j] : 0.0f) + (lstm && p.b_hh ? p.b_hh[j] : 0.0f);
  return bias;
}

// GRU: after the loop, dA ← LN_x'(γ_x ⊙ dA) for every row, b_ih's gradient (Σ dA before) and γ_x's (Σ dA ⊙ NX).
void x_norm_backward(const DirShape& s, const DirParams& p, DirTape& tape, const DirGrads& g) {
  const int64_t TB = s.T * s.B, GH = s.G() * s.H;
  float *dA = tape.a.data(), *NX = tape.nx.data(), *ST = tape.ln_stats.data();
  if (g.b_ih) colsum(TB, GH, dA, g.b_ih);
#pragma omp parallel
  {
    std::vector<float> tmp(GH);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < TB; ++r) {  // dA ← LN_x'(γ_x ⊙ dA); NX ← dA ⊙ NX for γ_x's gradient
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
  if (g.ln_ih) colsum(TB, GH, NX, g.ln_ih);
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
  if (!lstm) tape.nx = Tensor::uninitialized({T, B, GH});  // lstm_ln: A holds LN(x product) in place
  tape.nh = Tensor::uninitialized({T, B, GH});
  tape.ln_stats = Tensor({T, B, 4});
  tape.hs = Tensor::uninitialized({T + 1, B, H});
  if (lstm) tape.cs = Tensor::uninitialized({T + 1, B, H});
  tape.extra = lstm ? Tensor::uninitialized({T, B, H}) : Tensor({T, B, H});  // LSTM: ĉ_t = LN(c_t); GRU: its W_hn h side
  if (p.rmask) tape.hd = Tensor::uninitialized({T + 1, B, H});
  float *A = tape.a.data(), *NX = lstm ? nullptr : tape.nx.data(), *ST = tape.ln_stats.data();
  gemm(Trans::N, Trans::T, T * B, GH, I, 1.0f, x, I, p.w_ih, I, 0.0f, A, GH);  // A = X W_ihᵀ
  // GRU: NX = LN(A), A ← γ_x ⊙ NX before the loop (LSTM: inside it, per row: cells/lstm_ln-inl.h)
#pragma omp parallel for schedule(static) if (!lstm && T * B * GH >= (1 << 16))
  for (int64_t r = 0; r < (lstm ? 0 : T * B); ++r) {
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
  std::vector<float> bias = gate_bias(p, GH, lstm);
  Tensor wf = Tensor::uninitialized({nb * s.G(), H, P});
  Tensor ghb = lstm ? Tensor() : Tensor::uninitialized({B, GH});
  const LnLoop L{.s = s, .p = p, .k = k, .lstm = lstm, .valid_all = valid_all, .A = A, .NX = NX, .NH = tape.nh.data(), .ST = ST,
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
  // dL/d(h product) of every step: lstm_ln writes it over its tape's h norms (NH), gru_ln into a buffer of its own
  Tensor dGh_t = lstm ? Tensor() : Tensor::uninitialized({T, B, GH});
  float* dGh = lstm ? tape.nh.data() : dGh_t.data();
  Tensor wb = Tensor::uninitialized({nb, GH, P});
  std::vector<float> bias = gate_bias(p, GH, lstm);  // lstm_ln's kernel recomputes the gates
  const LnLoop L{.s = s, .p = p, .k = k, .lstm = lstm, .valid_all = tape.valid.empty() ? nullptr : tape.valid.data(),
                 .A = tape.a.data(), .NX = lstm ? nullptr : tape.nx.data(), .NH = tape.nh.data(), .ST = tape.ln_stats.data(), .HS = tape.hs.data(),
                 .CS = lstm ? tape.cs.data() : nullptr, .EX = tape.extra.data(),
                 .HD = tape.hd.defined() ? tape.hd.data() : nullptr, .GHB = nullptr, .y = nullptr, .ldy = ldy,
                 .accumulate = false, .bias = bias.data(), .wf = nullptr, .wb = wb.data()};
  std::vector<LnAcc> accs(StepTeam::kMaxThreads);
  const double step_work = 2.0 * static_cast<double>(B) * static_cast<double>(GH) * static_cast<double>(H);
  fused::run_team(B >= 16 ? nb : 1, step_work, [&](StepTeam& team, int tid) {
    int64_t b0, b1;
    team.span(tid, nb, b0, b1);
    fused::pack_backward_panels(P, p.w_hh, GH, H, b0, b1, L.wb);
    LnAcc& acc = accs[tid];
    const int64_t nacc = lstm ? 3 * GH + 2 * H : GH;
    acc.step.assign(nacc, 0.0f);
    acc.sum.assign(nacc, 0.0);
    acc.b_hh.assign(lstm ? 0 : GH, 0.0);
    std::vector<float> tmp(GH + 4 * H), scratch(std::max(2 * H, B * P));  // tmp: lstm_ln's kernel scratch [8H]
    team.sync(tid);
    int64_t r0, r1;
    my_rows(team, tid, B, r0, r1);
    float *dhv = dh.data(), *dhpv = dhp.data();
    for (int64_t step = T - 1; r0 < r1 && step >= 0; --step) {
      ln_backward_step(L, dy, s.reverse ? T - 1 - step : step, r0, r1, dhv, dhpv, lstm ? dc.data() : nullptr,
                       dGh, tmp.data(), scratch, acc);
      std::swap(dhv, dhpv);
    }
    if (!team.solo()) team.sync(tid);
    team.finish(tid);
  });
  const float* dh_final = T % 2 ? dhp.data() : dh.data();
  if (dh0) std::memcpy(dh0, dh_final, B * H * sizeof(float));
  if (dc0 && lstm) std::memcpy(dc0, dc.data(), B * H * sizeof(float));
  // Sums over the team in thread order: into out[0, n) from each thread's sum[at, at + n) (b_hh: GRU's own).
  const auto flush = [&](int64_t at, float* out, int64_t n, bool gru_b_hh = false) {
    for (const LnAcc& a : accs) {
      const std::vector<double>& v = gru_b_hh ? a.b_hh : a.sum;
      for (int64_t j = 0; out && at + n <= static_cast<int64_t>(v.size()) && j < n; ++j) out[j] += static_cast<float>(v[at + j]);
    }
  };
  float* dA = tape.a.data();
  if (lstm) {  // the loop's kernel took the x norm's backward and every parameter sum (cells/lstm_ln-inl.h)
    flush(kAccDb * GH, g.b_ih, GH);  // b_ih and b_hh see the gate gradients before the norms
    flush(kAccDb * GH, g.b_hh, GH);
    flush(kAccDgx * GH, g.ln_ih, GH);
    flush(kAccDgh * GH, g.ln_hh, GH);
    flush(kAccC * GH, g.ln_c, H);
    flush(kAccC * GH + H, g.ln_cb, H);
  } else {
    flush(0, g.ln_hh, GH);
    flush(0, g.b_hh, GH, true);
    x_norm_backward(s, p, tape, g);
  }
  if (dx) gemm(Trans::N, Trans::N, T * B, I, GH, 1.0f, dA, GH, p.w_ih, I, 1.0f, dx, I);
  if (g.w_ih) gemm(Trans::T, Trans::N, GH, I, T * B, 1.0f, dA, GH, x, I, 1.0f, g.w_ih, I);
  const float* hprev = (tape.hd.defined() ? tape.hd : tape.hs).data() + (s.reverse ? 1 : 0) * B * H;
  if (g.w_hh) gemm(Trans::T, Trans::N, GH, H, T * B, 1.0f, dGh, GH, hprev, H, 1.0f, g.w_hh, H);
}

}  // namespace recurrent::rnn
